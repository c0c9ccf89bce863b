// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/element.h"
#include "engine/pipeline.h"
#include "monitor/metrics.h"

namespace sluice::engine {

// Documented exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;   // a plugin failed to start or an input failed
inline constexpr int kExitConfigError = 2;    // bad config or command line
inline constexpr int kExitForced = 130;       // second SIGINT/SIGTERM during shutdown

// Owns the pipeline and its threads: starts outputs, filters, inputs; runs one thread per
// input; on SIGTERM/SIGINT (or when every input has finished, as stdin does at EOF) stops the
// inputs, then filters and outputs, and returns. A second signal exits at once. When
// `<system> <monitor>` enables it, runs the monitor HTTP server for the whole run.
class Engine {
 public:
  Engine(std::unique_ptr<Pipeline> pipeline, MetricsRegistry& metrics)
      : pipeline_(std::move(pipeline)), metrics_(metrics) {}

  // Blocks SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 in the calling thread (and threads it
  // starts) and ignores SIGPIPE; call from main before run(). run() takes them: INT/TERM stop,
  // USR1 flushes every buffer, HUP/USR2 (reload) are logged and ignored.
  static void blockSignals();

  // Runs until stopped; returns an exit code.
  int run();

  Pipeline& pipeline() { return *pipeline_; }

 private:
  std::unique_ptr<Pipeline> pipeline_;
  MetricsRegistry& metrics_;
};

}  // namespace sluice::engine
