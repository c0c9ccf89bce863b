// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_out_file/out_file_formatter.h"

namespace sluice::plugins::formatter_out_file {

Result<std::unique_ptr<OutFileFormatter>> OutFileFormatter::create(const FormatConfig& config, PluginContext&) {
  return std::unique_ptr<OutFileFormatter>(new OutFileFormatter(config));
}

void OutFileFormatter::formatOne(const Event& event, std::string& out) const {
  if (output_time_) {
    time_.append(event.time_ns, out);
    out += delimiter_;
  }
  if (output_tag_) {
    out += event.tag;
    out += delimiter_;
  }
  appendJson(out, event.record);
  if (newline_) out += '\n';
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor =
      makeDescriptor<OutFileFormatter>(PluginKind::Formatter, "out_file", "Time, tag and the record as JSON, separated by delimiter (Fluentd's out_file formatter).", formatParams());
  return kDescriptor;
}

}  // namespace sluice::plugins::formatter_out_file
