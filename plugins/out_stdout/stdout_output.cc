// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_stdout/stdout_output.h"

#include <unistd.h>


namespace sluice::plugins::out_stdout {
namespace {

const std::array<Param<StdoutConfig>, 0> kParams = {};

}  // namespace

Result<std::unique_ptr<StdoutOutput>> StdoutOutput::create(const StdoutConfig& config, PluginContext& ctx) {
  auto formatter = ctx.formatter({"stdout", colorWanted(STDOUT_FILENO)});
  if (!formatter) return formatter.takeStatus();
  return std::unique_ptr<StdoutOutput>(new StdoutOutput(std::move(*formatter)));
}

WriteResult StdoutOutput::write(const ChunkView& chunk) { return writeFully(fd_, chunk.bytes); }

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<StdoutOutput>(
      PluginKind::Output, "stdout", "Writes events to standard output.", kParams,
      {formatSection("stdout", "How events are written (default @type stdout: `time tag: json`).")});
  return kDescriptor;
}

}  // namespace sluice::plugins::out_stdout
