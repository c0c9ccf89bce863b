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

}  // namespace

Result<std::unique_ptr<StdoutFilter>> StdoutFilter::create(const StdoutFilterConfig& config, PluginContext& ctx) {
  const FormatterDefaults defaults{"stdout", colorWanted(STDOUT_FILENO)};
  if (ctx.element().children("format").empty() && (config.format || config.output_type)) {
    // Fluentd's compat_parameters: the v0.12 parameters make the <format> section.
    auto section = std::make_unique<config::Element>();
    section->name = "format";
    section->where = ctx.element().where;
    if (config.format) section->set("@type", *config.format);
    if (config.output_type) section->set("output_type", *config.output_type);
    auto formatter = ctx.createFormatter(section.get(), defaults);
    if (!formatter) return formatter.takeStatus();
    return std::unique_ptr<StdoutFilter>(new StdoutFilter(std::move(*formatter), std::move(section)));
  }
  auto formatter = ctx.formatter(defaults);
  if (!formatter) return formatter.takeStatus();
  return std::unique_ptr<StdoutFilter>(new StdoutFilter(std::move(*formatter), nullptr));
}

void StdoutFilter::process(Batch& batch) {
  // Reused per thread: no allocation per record once warm.
  thread_local FormattedEvents text;
  text.clear();
  formatter_->formatBatch(batch, text);
  if (text.bytes.empty()) return;
  std::lock_guard<std::mutex> lock(write_mutex_);
  (void)writeFully(fd_, text.bytes);  // as Fluentd's log.write: a closed stdout does not stop the events
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<StdoutFilter>(
      PluginKind::Filter, "stdout", "Prints each event to standard output and passes it on (Fluentd's filter_stdout).",
      kParams, {formatSection("stdout", "How events are printed (default @type stdout: `time tag: json`).")});
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_stdout
