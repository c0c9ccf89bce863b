// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/format_compat.h"
#include "core/inject.h"
#include "core/plugin_api.h"

namespace sluice::plugins::out_stdout {

using StdoutConfig = V012FormatKeys;  // v0.12: format (the formatter's @type), output_type

// Writes events to standard output. Default format: Fluentd's `time tag: {json}` line;
// <format> @type json writes the record alone, one JSON object per line; @type pretty is a
// human view, coloured when stdout is a terminal. The fields of <inject> are added to each
// record before it is formatted.
// Threading: format() on the inputs' threads; write() on a flush thread when buffered, else under
// the output stage's lock on an input thread.
class StdoutOutput final : public Output {
 public:
  static Result<std::unique_ptr<StdoutOutput>> create(const StdoutConfig& config, PluginContext& ctx);

  // sluice::Output
  void format(const Batch& batch, FormattedEvents& out) override {
    thread_local Batch scratch;  // injected copies; a warm one allocates nothing
    formatter_->formatBatch(injector_.injected(batch, scratch), out);
  }
  WriteResult write(const ChunkView& chunk) override;

  void setFdForTest(int fd) { fd_ = fd; }

 private:
  StdoutOutput(FormatterPtr formatter, std::unique_ptr<config::Element> v012_section, Injector injector)
      : v012_section_(std::move(v012_section)), formatter_(std::move(formatter)), injector_(std::move(injector)) {}
  const std::unique_ptr<config::Element> v012_section_;  // the <format> made from v0.12 keys
  const FormatterPtr formatter_;
  const Injector injector_;
  int fd_ = 1;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_stdout
