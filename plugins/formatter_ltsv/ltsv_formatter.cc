// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_ltsv/ltsv_formatter.h"

#include "core/record_text.h"

namespace sluice::plugins::formatter_ltsv {

Result<std::unique_ptr<LtsvFormatter>> LtsvFormatter::create(const FormatConfig& config, PluginContext&) {
  return std::unique_ptr<LtsvFormatter>(new LtsvFormatter(config));
}

void LtsvFormatter::formatOne(const Event& event, std::string& out) const {
  appendLtsv(out, event.record, delimiter_, label_delimiter_);
  if (newline_) out += '\n';
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor =
      makeDescriptor<LtsvFormatter>(PluginKind::Formatter, "ltsv", "Labeled tab-separated values: label:value pairs of the record's fields.", formatParams());
  return kDescriptor;
}

}  // namespace sluice::plugins::formatter_ltsv
