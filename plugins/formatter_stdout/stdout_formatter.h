// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::formatter_stdout {

// Fluentd's stdout formatter: `time tag: {json}`. Often read on a terminal, so the tag (a file
// name, say) goes through appendVisible.
// Threading: immutable after create(); formatBatch() runs concurrently on the threads of the
// inputs whose batches reach the output (flush threads for a <secondary>).
class StdoutFormatter final : public FormatterBase<StdoutFormatter> {
 public:
  static Result<std::unique_ptr<StdoutFormatter>> create(const FormatConfig& config, PluginContext& ctx);

  // Called by FormatterBase::formatBatch for each event.
  void formatOne(const Event& event, std::string& out) const;

 private:
  explicit StdoutFormatter(const FormatConfig& c) : time_(c, "%Y-%m-%d %H:%M:%S.%N %z"), newline_(c.add_newline) {}

  const FormatTime time_;
  const bool newline_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::formatter_stdout
