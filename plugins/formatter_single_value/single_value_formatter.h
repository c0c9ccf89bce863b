// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::formatter_single_value {

// Fluentd's single_value formatter: the message_key field alone (a string as it is, another
// value as JSON; nothing when absent).
// Threading: immutable after create(); formatBatch() runs concurrently on the threads of the
// inputs whose batches reach the output (flush threads for a <secondary>).
class SingleValueFormatter final : public FormatterBase<SingleValueFormatter> {
 public:
  static Result<std::unique_ptr<SingleValueFormatter>> create(const FormatConfig& config, PluginContext& ctx);

  // Called by FormatterBase::formatBatch for each event.
  void formatOne(const Event& event, std::string& out) const;

 private:
  explicit SingleValueFormatter(const FormatConfig& c) : key_(c.message_key), newline_(c.add_newline) {}

  const std::string key_;
  const bool newline_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::formatter_single_value
