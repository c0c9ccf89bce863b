// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_stdout/stdout_output.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::plugins::out_stdout {
namespace {

const std::array<Param<StdoutConfig>, 0> kParams = {};

}  // namespace

WriteResult writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        ::usleep(1000);
        continue;
      }
      return errno == EPIPE || errno == EBADF ? WriteResult::fail(std::strerror(errno))
                                              : WriteResult::retry(std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return WriteResult::ok();
}

Result<std::unique_ptr<StdoutOutput>> StdoutOutput::create(const StdoutConfig& config, PluginContext& ctx) {
  FormatConfig fc;
  auto sections = ctx.element().children("format");
  config::Element empty;
  empty.name = "format";
  const config::Element& section = sections.empty() ? empty : *sections.front();
  Status s = ctx.bind(std::span<const Param<FormatConfig>>(formatParams()), section, fc);
  if (!s) return s;
  if (section.find("@type") == nullptr) fc.type = "stdout";
  fc.color = isatty(STDOUT_FILENO);
  auto formatter = Formatter::create(fc);
  if (!formatter) return formatter.takeStatus();
  return std::unique_ptr<StdoutOutput>(new StdoutOutput(std::move(*formatter)));
}

WriteResult StdoutOutput::write(std::string_view chunk) { return writeAll(fd_, chunk); }

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<StdoutOutput>(
      PluginKind::Output, "stdout", "Writes events to standard output.", kParams,
      {{"format", "How events are written (default @type stdout: `time tag: json`).",
        describeParams(std::span<const Param<FormatConfig>>(formatParams()))}});
  return kDescriptor;
}

}  // namespace sluice::plugins::out_stdout
