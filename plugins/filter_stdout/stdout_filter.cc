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
  auto sections = ctx.element().children("inject");
  auto injector = Injector::create(sections.empty() ? nullptr : sections.front(), ctx.hostname());
  if (!injector) return injector.takeStatus();
  std::unique_ptr<config::Element> made;
  auto formatter = formatterWithV012Keys(ctx, FormatterDefaults{"stdout", colorWanted(STDOUT_FILENO)}, config, made);
  if (!formatter) return formatter.takeStatus();
  return std::unique_ptr<StdoutFilter>(new StdoutFilter(std::move(*formatter), std::move(made), std::move(*injector)));
}

void StdoutFilter::process(Batch& batch) {
  // Reused per thread: no allocation per record once warm.
  thread_local FormattedEvents text;
  thread_local Batch scratch;
  text.clear();
  formatter_->formatBatch(injector_.injected(batch, scratch), text);
  if (text.bytes.empty()) return;
  std::lock_guard<std::mutex> lock(write_mutex_);
  (void)writeFully(fd_, text.bytes);  // as Fluentd's log.write: a closed stdout does not stop the events
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<StdoutFilter>(
      PluginKind::Filter, "stdout", "Prints each event to standard output and passes it on (Fluentd's filter_stdout).",
      kParams,
      {formatSection("stdout", "How events are printed (default @type stdout: `time tag: json`)."), injectSection()});
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_stdout
