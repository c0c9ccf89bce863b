// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::formatter_ltsv {

// Fluentd's ltsv formatter: `key<label_delimiter>value` per field, separated by delimiter
// (strings as they are, other values as JSON).
// Threading: immutable after create(); formatBatch() runs concurrently on the threads of the
// inputs whose batches reach the output (flush threads for a <secondary>).
class LtsvFormatter final : public FormatterBase<LtsvFormatter> {
 public:
  static Result<std::unique_ptr<LtsvFormatter>> create(const FormatConfig& config, PluginContext& ctx);

  // Called by FormatterBase::formatBatch for each event.
  void formatOne(const Event& event, std::string& out) const;

 private:
  explicit LtsvFormatter(const FormatConfig& c)
      : delimiter_(delimiterText(c.delimiter)), label_delimiter_(c.label_delimiter), newline_(c.add_newline) {}

  const std::string delimiter_;
  const std::string label_delimiter_;
  const bool newline_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::formatter_ltsv
