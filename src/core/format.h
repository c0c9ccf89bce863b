// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <string>

#include "core/batch.h"
#include "config/params.h"
#include "core/output.h"
#include "core/plugin_context.h"

namespace sluice {

// Settings of a <format> section (Fluentd's formatter plugins json, out_file, single_value,
// ltsv, stdout, plus sluice's human `pretty`).
struct FormatConfig {
  std::string type;
  std::string delimiter;
  bool output_tag = true;
  bool output_time = true;
  std::string time_format;
  bool localtime = true;
  bool utc = false;
  std::string message_key;
  bool add_newline = true;
  std::string label_delimiter;
  std::string output_type;
  bool color = false;  // pretty: ANSI colours (set by the output when writing to a terminal)
};

const std::array<Param<FormatConfig>, 11>& formatParams();

// Serialises events. Immutable; safe to share across threads.
class Formatter {
 public:
  enum class Type { Json, OutFile, SingleValue, Ltsv, Stdout, Pretty };
  static Result<Formatter> create(const FormatConfig& config);
  // Builds the formatter of a plugin's <format> section; `default_type` applies when the
  // section or its @type is absent. `color` is for the pretty format.
  static Result<Formatter> fromSection(PluginContext& ctx, std::string_view default_type, bool color);

  // Appends one event (with its newline when add_newline).
  void format(const Event& event, std::string& out) const;
  void formatBatch(const Batch& batch, FormattedEvents& out) const {
    for (const Event& e : batch.events()) {
      format(e, out.bytes);
      out.endEvent();
    }
  }

 private:
  void appendTime(int64_t ns, std::string& out) const;
  void formatPretty(const Event& event, std::string& out) const;

  FormatConfig config_;
  Type type_ = Type::Json;
  std::string time_format_;
  bool utc_ = false;
};

// Whether output to `fd` should be coloured: a terminal, NO_COLOR unset or empty, and TERM not
// "dumb". Called by outputs at create().
bool colorWanted(int fd);

// Appends `text` for a terminal: printable ASCII and valid UTF-8 as they are; control
// characters (C0, DEL, C1 such as CSI) and bytes that are not UTF-8 escaped as \n, \t, \xNN
// or \u00NN, so that log content cannot clear the screen or set the window title.
void appendVisible(std::string& out, std::string_view text);

// Writes all of `data` to `fd`, retrying short writes and EINTR/EAGAIN. EPIPE and EBADF are
// permanent failures; other errors (ENOSPC, EIO) are worth a retry.
WriteResult writeFully(int fd, std::string_view data);

// Appends `value` escaped for a double-quoted label value as Prometheus and Loki write them
// (backslash, double quote and newline escaped), without the quotes.
void appendLabelValue(std::string& out, std::string_view value);

}  // namespace sluice
