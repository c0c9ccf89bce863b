// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::formatter_stdout {

// Fluentd's output_type: how the stdout formatter writes the record after `time tag: `.
enum class OutputType { Json, Hash, Ltsv, SingleValue };
inline constexpr Choice<OutputType> kOutputTypes[] = {
    {"json", OutputType::Json}, {"hash", OutputType::Hash}, {"ltsv", OutputType::Ltsv}, {"single_value", OutputType::SingleValue}};

// The shared <format> settings with output_type bound as an enum.
struct StdoutFormatConfig : FormatConfig {
  OutputType type = OutputType::Json;
};

// Fluentd's stdout formatter: `time tag: ` then the record as output_type says: JSON (json),
// Ruby's Hash#inspect (hash), label:value pairs (ltsv) or one field (single_value). Often read
// on a terminal, so the tag (a file name, say) goes through appendVisible.
// Threading: immutable after create(); formatBatch() runs concurrently on the threads of the
// inputs whose batches reach the output (flush threads for a <secondary>).
class StdoutFormatter final : public FormatterBase<StdoutFormatter> {
 public:
  static Result<std::unique_ptr<StdoutFormatter>> create(const StdoutFormatConfig& config, PluginContext& ctx);

  // Called by FormatterBase::formatBatch for each event.
  void formatOne(const Event& event, std::string& out) const;

  OutputType outputType() const { return type_; }

 private:
  explicit StdoutFormatter(const StdoutFormatConfig& c)
      : time_(c, "%Y-%m-%d %H:%M:%S.%N %z"),
        type_(c.type),
        delimiter_(delimiterText(c.delimiter)),
        label_delimiter_(c.label_delimiter),
        message_key_(c.message_key),
        newline_(c.add_newline) {}

  const FormatTime time_;
  const OutputType type_;
  const std::string delimiter_;        // ltsv
  const std::string label_delimiter_;  // ltsv
  const std::string message_key_;      // single_value
  const bool newline_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::formatter_stdout
