// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_single_value/single_value_formatter.h"

#include "core/record_text.h"

namespace sluice::plugins::formatter_single_value {

Result<std::unique_ptr<SingleValueFormatter>> SingleValueFormatter::create(const FormatConfig& config, PluginContext&) {
  return std::unique_ptr<SingleValueFormatter>(new SingleValueFormatter(config));
}

void SingleValueFormatter::formatOne(const Event& event, std::string& out) const {
  appendSingleValue(out, event.record, key_);
  if (newline_) out += '\n';
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor =
      makeDescriptor<SingleValueFormatter>(PluginKind::Formatter, "single_value", "One field of the record (message_key), as text.", formatParams());
  return kDescriptor;
}

}  // namespace sluice::plugins::formatter_single_value
