// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_stdout/stdout_filter.h"

#include <unistd.h>

namespace sluice::plugins::filter_stdout {
namespace {

using C = StdoutFilterConfig;
const std::array<Param<C>, 2> kParams = {{
    {"format", &C::format, nullptr, "v0.12 form of <format> @type (used when there is no <format> section)."},
    {"output_type", &C::output_type, nullptr,
     "v0.12 form of <format> output_type (used when there is no <format> section).", "json|hash|ltsv|single_value"},
}};

std::vector<ParamInfo> formatSectionParams() {
  auto params = describeParams(std::span<const Param<FormatConfig>>(formatParams()));
  for (ParamInfo& p : params) {
    if (p.name == "@type") p.default_value = "stdout";
  }
  return params;
}

}  // namespace

Result<std::unique_ptr<StdoutFilter>> StdoutFilter::create(const StdoutFilterConfig& config, PluginContext& ctx) {
  const bool color = colorWanted(STDOUT_FILENO);
  if (ctx.element().children("format").empty() && (config.format || config.output_type)) {
    // Fluentd's compat_parameters: the v0.12 parameters make the <format> section.
    FormatConfig fc;
    config::Element empty;
    empty.name = "format";
    Status s = ctx.bind(std::span<const Param<FormatConfig>>(formatParams()), empty, fc);
    if (!s) return s;
    fc.type = config.format.value_or("stdout");
    if (config.output_type) fc.output_type = *config.output_type;
    fc.color = color;
    auto formatter = Formatter::create(fc);
    if (!formatter) return formatter.takeStatus();
    return std::unique_ptr<StdoutFilter>(new StdoutFilter(std::move(*formatter)));
  }
  auto formatter = Formatter::fromSection(ctx, "stdout", color);
  if (!formatter) return formatter.takeStatus();
  return std::unique_ptr<StdoutFilter>(new StdoutFilter(std::move(*formatter)));
}

void StdoutFilter::process(Batch& batch) {
  // Reused per thread: no allocation per record once warm.
  thread_local std::string text;
  text.clear();
  for (const Event& e : batch.events()) formatter_.format(e, text);
  if (text.empty()) return;
  std::lock_guard<std::mutex> lock(write_mutex_);
  (void)writeFully(fd_, text);  // as Fluentd's log.write: a closed stdout does not stop the events
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<StdoutFilter>(
      PluginKind::Filter, "stdout", "Prints each event to standard output and passes it on (Fluentd's filter_stdout).",
      kParams, {{"format", "How events are printed (default @type stdout: `time tag: json`).", formatSectionParams()}});
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_stdout
