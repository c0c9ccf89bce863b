// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_stdout/stdout_formatter.h"

namespace sluice::plugins::formatter_stdout {

Result<std::unique_ptr<StdoutFormatter>> StdoutFormatter::create(const FormatConfig& config, PluginContext&) {
  return std::unique_ptr<StdoutFormatter>(new StdoutFormatter(config));
}

void StdoutFormatter::formatOne(const Event& event, std::string& out) const {
  time_.append(event.time_ns, out);
  out += ' ';
  appendVisible(out, event.tag);  // often a terminal: a file name must not drive it
  out += ": ";
  appendJson(out, event.record);
  if (newline_) out += '\n';
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor =
      makeDescriptor<StdoutFormatter>(PluginKind::Formatter, "stdout", "Fluentd's stdout line: `time tag: {json}`.", formatParams());
  return kDescriptor;
}

}  // namespace sluice::plugins::formatter_stdout
