// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::in_stdin {

struct StdinConfig {
  std::string tag;
  int64_t batch_lines = 1024;
  ByteSize max_line_size;
};

// Reads lines from standard input (or any descriptor, for tests), parses them a batch at a
// time with its <parse> parser, and emits them. Stops at EOF or on stop. A line the parser
// rejects is counted and reported with an excerpt (rate-limited); reading goes on. The lines
// read and the number of the first rejected line are metrics, for quick mode's summary.
// Threading: run() on the input's own thread until EOF or its StopToken fires; start/stop on the
// main thread.
class StdinInput final : public Input {
 public:
  static Result<std::unique_ptr<StdinInput>> create(const StdinConfig& config, PluginContext& ctx);

  // sluice::Input
  Status run(EventSink& out, const StopToken& stop) override;

  void setFdForTest(int fd) { fd_ = fd; }

 private:
  StdinInput(const StdinConfig& config, PluginContext& ctx, ParserPtr parser);

  const std::string tag_;
  const size_t batch_lines_;
  const size_t max_line_size_;
  const ParserPtr parser_;
  ParserStatePtr state_;  // joining state of the one stream
  uint64_t seq_ = 0;      // line sequence number
  const SourceLogger log_;
  MalformedLineReporter malformed_;
  int fd_ = 0;
  Counter& errors_;
  Counter& skipped_long_;
  Counter& lines_read_;       // every line given to the parser (quick mode's summary)
  Gauge& first_malformed_;    // line number of the first rejected line, 0 while none
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::in_stdin
