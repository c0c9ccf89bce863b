// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::out_stdout {

struct StdoutConfig {};

// Writes events to standard output. Default format: Fluentd's `time tag: {json}` line;
// <format> @type json writes the record alone, one JSON object per line; @type pretty is a
// human view, coloured when stdout is a terminal.
// Threading: format() on the inputs' threads; write() on a flush thread when buffered, else under
// the output stage's lock on an input thread.
class StdoutOutput final : public Output {
 public:
  static Result<std::unique_ptr<StdoutOutput>> create(const StdoutConfig& config, PluginContext& ctx);

  // sluice::Output
  void format(const Batch& batch, FormattedEvents& out) override { formatter_->formatBatch(batch, out); }
  WriteResult write(const ChunkView& chunk) override;

  void setFdForTest(int fd) { fd_ = fd; }

 private:
  explicit StdoutOutput(FormatterPtr formatter) : formatter_(std::move(formatter)) {}
  const FormatterPtr formatter_;
  int fd_ = 1;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_stdout
