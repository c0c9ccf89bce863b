// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <string>

#include "config/params.h"
#include "core/batch.h"
#include "core/descriptor.h"
#include "core/output.h"

namespace sluice {

// Settings of a <format> section, shared by the formatter plugins (plugins/formatter_*: json,
// out_file, single_value, ltsv, stdout, pretty): each binds this one table, as Fluentd's
// formatters share their time and newline settings. The @type is read by the engine.
struct FormatConfig {
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
};

const std::array<Param<FormatConfig>, 10>& formatParams();

// The <format> section as an output's descriptor documents it: an @type row (with the
// output's default formatter) and the shared table.
SectionInfo formatSection(const char* default_type, std::string_view description);

// How a formatter writes times: time_format (or the formatter's default) in UTC or local time,
// decided at create(). Immutable.
class FormatTime {
 public:
  FormatTime(const FormatConfig& config, std::string_view default_format)
      : format_(config.time_format.empty() ? std::string(default_format) : config.time_format),
        utc_(config.utc || !config.localtime) {}
  void append(int64_t ns, std::string& out) const;
  bool utc() const { return utc_; }

 private:
  std::string format_;
  bool utc_;
};

// A delimiter as Fluentd spells it: SPACE, COMMA, TAB, or the text itself.
std::string delimiterText(std::string_view text);

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
