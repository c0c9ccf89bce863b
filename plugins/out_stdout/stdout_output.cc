// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_stdout/stdout_output.h"

#include <unistd.h>

namespace sluice::plugins::out_stdout {
namespace {

using C = StdoutConfig;
const std::array<Param<C>, 2> kParams = {{
    {"format", &C::format, nullptr, "v0.12 form of <format> @type (used when there is no <format> section)."},
    {"output_type", &C::output_type, nullptr,
     "v0.12 form of <format> output_type (used when there is no <format> section).", "json|hash|ltsv|single_value"},
}};

}  // namespace

Result<std::unique_ptr<StdoutOutput>> StdoutOutput::create(const StdoutConfig& config, PluginContext& ctx) {
  auto sections = ctx.element().children("inject");
  auto injector = Injector::create(sections.empty() ? nullptr : sections.front(), ctx.hostname());
  if (!injector) return injector.takeStatus();
  std::unique_ptr<config::Element> made;
  auto formatter = formatterWithV012Keys(ctx, FormatterDefaults{"stdout", colorWanted(STDOUT_FILENO)}, config, made);
  if (!formatter) return formatter.takeStatus();
  return std::unique_ptr<StdoutOutput>(new StdoutOutput(std::move(*formatter), std::move(made), std::move(*injector)));
}

WriteResult StdoutOutput::write(const ChunkView& chunk) { return writeFully(fd_, chunk.bytes); }

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<StdoutOutput>(
      PluginKind::Output, "stdout", "Writes events to standard output.", kParams,
      {formatSection("stdout", "How events are written (default @type stdout: `time tag: json`)."), injectSection()});
  return kDescriptor;
}

}  // namespace sluice::plugins::out_stdout
