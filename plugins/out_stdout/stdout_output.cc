// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_stdout/stdout_output.h"

#include <unistd.h>

namespace sluice::plugins::out_stdout {

Result<std::unique_ptr<StdoutOutput>> StdoutOutput::create(const StdoutConfig& config, PluginContext& ctx) {
  auto printing = stdoutPrinting(ctx, config);
  if (!printing) return printing.takeStatus();
  return std::unique_ptr<StdoutOutput>(
      new StdoutOutput(std::move(printing->formatter), std::move(printing->v012_section), std::move(printing->injector)));
}

WriteResult StdoutOutput::write(const ChunkView& chunk) { return writeFully(fd_, chunk.bytes); }

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<StdoutOutput>(
      PluginKind::Output, "stdout", "Writes events to standard output.", v012FormatParams(),
      {formatSection("stdout", "How events are written (default @type stdout: `time tag: json`)."), injectSection()});
  return kDescriptor;
}

}  // namespace sluice::plugins::out_stdout
