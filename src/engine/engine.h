// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
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
//
// Reload (SIGHUP, SIGUSR2, POST /api/config.reload): the configuration is read and built
// again while the running pipeline goes on; a configuration that does not load is logged and
// rejected. A good one replaces the running pipeline the way a stop and a start would, inside
// the process: inputs stop (a tail records its position once what it read was delivered),
// memory buffers send what they hold (flush_at_shutdown), file buffers keep their chunks on
// disk, and the new pipeline's plugins resume from the same pos_files and buffer paths.
class Engine {
 public:
  // Reads the configuration again (the file given with -c), on the engine's thread.
  using ConfigLoader = std::function<Result<config::Element>()>;

  Engine(std::unique_ptr<Pipeline> pipeline, MetricsRegistry& metrics)
      : pipeline_(std::move(pipeline)), metrics_(metrics) {}

  // Makes reload possible (config mode; quick mode has nothing to read again). Called by main
  // before run().
  void enableReload(ConfigLoader load, const Registry& registry, BuildOptions options);

  // Blocks SIGINT, SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 in the calling thread (and threads it
  // starts) and ignores SIGPIPE; call from main before run(). run() takes them: INT/TERM stop,
  // USR1 flushes every buffer, HUP/USR2 reload.
  static void blockSignals();

  // Runs until stopped; returns an exit code.
  int run();

  // Asks the engine's thread to reload and waits for the outcome (the reason a new config was
  // rejected, or ok). Any thread but the engine's: the monitor's POST /api/config.reload.
  Status requestReload();

  // The running pipeline, for main after run() (quick mode's summary).
  Pipeline& pipeline() { return *pipeline_; }

 private:
  enum class Wake { Stop, InputsDone, Reload };
  // Builds the configuration `load_` reads; errors name what is wrong.
  Result<std::unique_ptr<Pipeline>> buildFromConfig();
  // Stops inputs (waiting for their threads), then filters and outputs. A second stop signal
  // while the inputs drain exits at once. `last`: no start follows (Pipeline::flushBuffers).
  void stopPipeline(class RunningInputs& running, int sfd, bool last = false);
  // The outcome of a reload, for those who asked through requestReload().
  void finishReloadRequests(uint64_t upto, const Status& outcome);

  std::unique_ptr<TapHub> tap_;         // when <monitor> enable_tap; outlives every pipeline
  std::unique_ptr<Pipeline> pipeline_;  // replaced by the engine's thread under pipeline_mu_
  mutable std::mutex pipeline_mu_;      // held by readers on other threads (/readyz)
  MetricsRegistry& metrics_;
  ConfigLoader load_;
  const Registry* registry_ = nullptr;
  BuildOptions options_;

  // POST /api/config.reload: requests are numbered; the engine's thread answers them in order.
  int reload_fd_ = -1;
  std::mutex reload_mu_;
  std::condition_variable reload_cv_;
  uint64_t reload_requested_ = 0;  // guarded by reload_mu_
  uint64_t reload_done_ = 0;       // guarded by reload_mu_
  Status reload_outcome_;          // guarded by reload_mu_
};

}  // namespace sluice::engine
