// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::formatter_out_file {

// Fluentd's out_file formatter: `time<delimiter>tag<delimiter>{json}` (time and tag each
// optional), times in ISO 8601 unless time_format.
// Threading: immutable after create(); formatBatch() runs concurrently on the threads of the
// inputs whose batches reach the output (flush threads for a <secondary>).
class OutFileFormatter final : public FormatterBase<OutFileFormatter> {
 public:
  static Result<std::unique_ptr<OutFileFormatter>> create(const FormatConfig& config, PluginContext& ctx);

  // Called by FormatterBase::formatBatch for each event.
  void formatOne(const Event& event, std::string& out) const;

 private:
  explicit OutFileFormatter(const FormatConfig& c)
      : time_(c, "%Y-%m-%dT%H:%M:%S%:z"),
        delimiter_(delimiterText(c.delimiter)),
        output_time_(c.output_time),
        output_tag_(c.output_tag),
        newline_(c.add_newline) {}

  const FormatTime time_;
  const std::string delimiter_;
  const bool output_time_;
  const bool output_tag_;
  const bool newline_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::formatter_out_file
