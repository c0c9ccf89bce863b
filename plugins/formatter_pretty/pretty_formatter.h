// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::formatter_pretty {

// sluice's human view (quick mode's default on a terminal): day and time, level, tag, the
// message first, then key=value pairs; ANSI colours when the output said it writes to a
// terminal (FormatterDefaults::color). Everything from the event goes through appendVisible.
// Threading: immutable after create(); formatBatch() runs concurrently on the threads of the
// inputs whose batches reach the output (flush threads for a <secondary>).
class PrettyFormatter final : public FormatterBase<PrettyFormatter> {
 public:
  static Result<std::unique_ptr<PrettyFormatter>> create(const FormatConfig& config, PluginContext& ctx);

  // Called by FormatterBase::formatBatch for each event.
  void formatOne(const Event& event, std::string& out) const;

 private:
  PrettyFormatter(const FormatConfig& c, bool color)
      : utc_(c.utc || !c.localtime), color_(color), newline_(c.add_newline) {}

  const bool utc_;
  const bool color_;
  const bool newline_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::formatter_pretty
