// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_stdout/stdout_filter.h"

#include <unistd.h>

namespace sluice::plugins::filter_stdout {

Result<std::unique_ptr<StdoutFilter>> StdoutFilter::create(const StdoutFilterConfig& config, PluginContext& ctx) {
  auto printing = stdoutPrinting(ctx, config);
  if (!printing) return printing.takeStatus();
  return std::unique_ptr<StdoutFilter>(
      new StdoutFilter(std::move(printing->formatter), std::move(printing->v012_section), std::move(printing->injector)));
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
      v012FormatParams(),
      {formatSection("stdout", "How events are printed (default @type stdout: `time tag: json`)."), injectSection()});
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_stdout
