// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_json/json_formatter.h"

namespace sluice::plugins::formatter_json {

Result<std::unique_ptr<JsonFormatter>> JsonFormatter::create(const FormatConfig& config, PluginContext&) {
  return std::unique_ptr<JsonFormatter>(new JsonFormatter(config));
}

void JsonFormatter::formatOne(const Event& event, std::string& out) const {
  appendJson(out, event.record);
  if (newline_) out += '\n';
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor =
      makeDescriptor<JsonFormatter>(PluginKind::Formatter, "json", "The record as one JSON object.", formatParams());
  return kDescriptor;
}

}  // namespace sluice::plugins::formatter_json
