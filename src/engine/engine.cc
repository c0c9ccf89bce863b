// SPDX-License-Identifier: Apache-2.0
#include "engine/engine.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "monitor/monitor_server.h"

namespace sluice::engine {

namespace {

// The signals the engine takes through its signalfd: stop (INT, TERM), reload (HUP, USR2, as
// Fluentd's), flush (USR1, as Fluentd's).
sigset_t handledSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&set, sig);
  return set;
}

bool isStopSignal(uint32_t sig) { return sig == SIGINT || sig == SIGTERM; }

void signalEventFd(int fd) {
  uint64_t one = 1;
  ssize_t ignored = ::write(fd, &one, sizeof(one));
  (void)ignored;
}

void drainEventFd(int fd) {
  uint64_t n;
  ssize_t ignored = ::read(fd, &n, sizeof(n));
  (void)ignored;
}

}  // namespace

// The input threads of one pipeline: one per input, each running until the stop token fires
// or its input ends (stdin at EOF); done_fd() becomes readable once every one has returned.
class RunningInputs {
 public:
  explicit RunningInputs(std::vector<InputStage*> inputs)
      : done_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), running_(inputs.size()) {
    for (InputStage* stage : inputs) {
      threads_.emplace_back([this, stage] {
        Status rs = stage->input->run(*stage, stop);
        if (!rs) {
          stage->instance->log.error("Input stopped: " + rs.message());
          failed = true;
        }
        if (--running_ == 0) signalEventFd(done_fd_);
      });
    }
  }
  ~RunningInputs() {
    stop.requestStop();
    join();
    ::close(done_fd_);
  }
  void join() {
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  size_t count() const { return threads_.size(); }
  int done_fd() const { return done_fd_; }

  StopToken stop;
  std::atomic<bool> failed{false};

 private:
  int done_fd_;
  std::atomic<size_t> running_;
  std::vector<std::thread> threads_;
};

void Engine::blockSignals() {
  sigset_t set = handledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void Engine::enableReload(ConfigLoader load, const Registry& registry, BuildOptions options) {
  load_ = std::move(load);
  registry_ = &registry;
  options_ = options;
}

Result<std::unique_ptr<Pipeline>> Engine::buildFromConfig() {
  if (!load_) return Status::invalidConfig("quick mode has no configuration file to read again");
  auto root = load_();
  if (!root) return root.takeStatus();
  auto next = Pipeline::build(*root, *registry_, metrics_, options_);
  if (!next) return next.takeStatus();
  if (Status state = (*next)->checkState(); !state) return state.withPrefix("state cannot be kept: ");
  const MonitorConfig& now = pipeline_->monitorConfig();
  const MonitorConfig& then = (*next)->monitorConfig();
  if (now.enable != then.enable || now.bind != then.bind || now.port != then.port) {
    SourceLogger("[engine]").warn(
        "<system> <monitor> enable, bind and port take effect at the next start, not at a reload; "
        "the monitor goes on as it is");
  }
  return next;
}

Status Engine::requestReload() {
  std::unique_lock<std::mutex> lock(reload_mu_);
  if (reload_fd_ < 0) return Status::unavailable("sluice is not running");
  uint64_t mine = ++reload_requested_;
  signalEventFd(reload_fd_);
  // A reload waits for the running pipeline to stop (memory buffers send what they hold, a tail
  // waits up to 5 s for its acknowledgements): minutes at worst.
  if (!reload_cv_.wait_for(lock, std::chrono::minutes(5), [&] { return reload_done_ >= mine; })) {
    return Status::unavailable("the reload has not finished after 5 minutes; see sluice's log");
  }
  return reload_outcome_;
}

void Engine::finishReloadRequests(uint64_t upto, const Status& outcome) {
  std::lock_guard<std::mutex> lock(reload_mu_);
  if (upto > reload_done_) reload_done_ = upto;
  reload_outcome_ = outcome;
  reload_cv_.notify_all();
}

void Engine::stopPipeline(RunningInputs& running, int sfd, bool last) {
  running.stop.requestStop();
  // The buffers start sending now, while the inputs wind down (a tail waits a little for its
  // last batches' delivery, so that its position records them).
  pipeline_->flushBuffers(true, last);
  // While the inputs drain, a second stop signal exits at once.
  std::atomic<bool> joined{false};
  std::thread watchdog([&] {
    while (!joined) {
      struct pollfd fds[1] = {{sfd, POLLIN, 0}};
      if (::poll(fds, 1, 100) > 0) {
        struct signalfd_siginfo info;
        if (::read(sfd, &info, sizeof(info)) == sizeof(info) && isStopSignal(info.ssi_signo)) {
          static const char kMsg[] = "sluice: second signal, exiting without flushing\n";
          ssize_t ignored = ::write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
          (void)ignored;
          _exit(kExitForced);
        }
      }
    }
  });
  running.join();
  pipeline_->stopFiltersAndOutputs();
  joined = true;
  watchdog.join();
}

int Engine::run() {
  SourceLogger log("[engine]");
  {
    std::lock_guard<std::mutex> lock(reload_mu_);
    reload_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  // The monitor serves before the pipeline starts (/readyz says 503 until it has) and until
  // the run ends, across reloads; so do the servers of Fluentd's monitoring <source>s.
  std::vector<std::unique_ptr<MonitorServer>> servers;
  std::vector<MonitorConfig> configs;
  if (pipeline_->monitorConfig().enable) configs.push_back(pipeline_->monitorConfig());
  for (const MonitorConfig& extra : pipeline_->extraMonitors()) configs.push_back(extra);
  if (!configs.empty()) {
    metrics_.setCollector([this] {
      collectProcessMetrics(metrics_);
      std::lock_guard<std::mutex> lock(pipeline_mu_);
      pipeline_->collectGauges();
    });
  }
  bool tap_enabled = false;
  for (const MonitorConfig& config : configs) tap_enabled = tap_enabled || config.enable_tap;
  if (tap_enabled) {
    tap_ = std::make_unique<TapHub>(metrics_);
    pipeline_->setTap(tap_.get());
  }
  for (const MonitorConfig& config : configs) {
    auto server = std::make_unique<MonitorServer>(config, metrics_);
    server->setReadinessCheck([this] {
      std::lock_guard<std::mutex> lock(pipeline_mu_);
      const MonitorConfig& m = pipeline_->monitorConfig();
      std::string why = m.ready_max_buffer_fill > 0 ? pipeline_->overfullBuffer(m.ready_max_buffer_fill) : std::string();
      if (why.empty() && m.ready_max_failing_seconds > 0) why = pipeline_->failingOutput(m.ready_max_failing_seconds);
      return why;
    });
    server->setPluginsHandler([this] {
      std::lock_guard<std::mutex> lock(pipeline_mu_);
      return pipeline_->pluginsJson();
    });
    if (config.enable_tap) server->setTap(tap_.get());
    if (config.enable_reload) server->setReloadHandler([this] { return requestReload(); });
    if (Status ms = server->start(); !ms) {
      log.error("Start failed: " + ms.withPrefix(config.name == "Monitor" ? "" : config.name + ": ").message());
      return kExitRuntimeError;
    }
    log.info(config.name + " listening on http://" + config.bind + ":" + std::to_string(server->port()) + " (" +
             config.metrics_path + ", /api/plugins.json, /healthz, /readyz).");
    servers.push_back(std::move(server));
  }
  Status s = pipeline_->start();
  if (!s) {
    log.error("Start failed: " + s.message());
    pipeline_->stopFiltersAndOutputs();
    return kExitRuntimeError;
  }
  sigset_t set = handledSignals();
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  metrics_.gauge("sluice_config_last_reload_timestamp_seconds",
                 "When the configuration was last reloaded (Unix time; 0: not since the start).");
  for (const char* result : {"ok", "rejected", "failed"}) {
    metrics_.counter("sluice_config_reloads_total", "Configuration reloads by result.", {{"result", result}});
  }

  bool by_signal = false;
  bool input_failed = false;
  int code = kExitOk;
  // Messages name the reload they belong to: the log suppresses identical repeats.
  int generation = 0;
  auto numbered = [&](std::string what) {
    return generation == 0 ? what + "." : what + " (reload " + std::to_string(generation) + ").";
  };
  while (true) {
    for (auto& server : servers) server->setReady(true);
    RunningInputs running(pipeline_->inputs());
    log.info(numbered("Started: " + std::to_string(running.count()) + " inputs"));
    Wake wake = Wake::InputsDone;
    std::unique_ptr<Pipeline> next;
    uint64_t reload_upto = 0;
    while (running.count() > 0) {
      struct pollfd fds[3] = {{sfd, POLLIN, 0}, {running.done_fd(), POLLIN, 0}, {reload_fd_, POLLIN, 0}};
      int rc = ::poll(fds, 3, -1);
      if (rc < 0) continue;
      if (fds[1].revents & POLLIN) break;
      bool reload = false;
      if (fds[2].revents & POLLIN) {
        drainEventFd(reload_fd_);
        log.info("Reload asked for over HTTP, /api/config.reload (reload " + std::to_string(generation + 1) + ").");
        reload = true;
      }
      if (fds[0].revents & POLLIN) {
        struct signalfd_siginfo info;
        if (::read(sfd, &info, sizeof(info)) != sizeof(info)) continue;
        if (info.ssi_signo == SIGUSR1) {
          log.info("Received SIGUSR1: flushing every buffer now.");
          pipeline_->flushBuffers();
          continue;
        }
        if (isStopSignal(info.ssi_signo)) {
          log.info(std::string("Received ") + (info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM") +
                   ": stopping inputs and flushing.");
          by_signal = true;
          wake = Wake::Stop;
          break;
        }
        const std::string name = info.ssi_signo == SIGHUP ? "SIGHUP" : "SIGUSR2";
        if (!load_) {  // quick mode: nothing to read again, and nothing went wrong
          log.warn("Received " + name + ": ignored (quick mode has no configuration file to read again).");
          continue;
        }
        log.info("Received " + name + ": reloading the configuration (reload " + std::to_string(generation + 1) + ").");
        reload = true;
      }
      if (!reload) continue;
      {
        std::lock_guard<std::mutex> lock(reload_mu_);
        reload_upto = reload_requested_;
      }
      auto built = buildFromConfig();
      if (!built) {
        ++generation;
        log.error("Reload rejected; the running pipeline goes on unchanged (reload " +
                  std::to_string(generation) + "): " + built.status().message());
        metrics_.counter("sluice_config_reloads_total", "Configuration reloads by result.",
                         {{"result", "rejected"}}).add(1);
        finishReloadRequests(reload_upto, built.status());
        continue;
      }
      next = std::move(*built);
      wake = Wake::Reload;
      break;
    }
    for (auto& server : servers) server->setReady(false);
    if (wake != Wake::Reload) {
      // Every input finished (stdin at its end): no start follows to send what is left.
      stopPipeline(running, sfd, wake == Wake::InputsDone);
      input_failed = running.failed;
      break;
    }
    // The new configuration loaded: stop the running pipeline as a stop would, then start the
    // new one on the state (pos_files, file buffer chunks) the old one left.
    ++generation;
    log.info(numbered("Configuration loaded; stopping the running pipeline to start the new one"));
    stopPipeline(running, sfd);
    std::unique_ptr<Pipeline> previous;
    {
      std::lock_guard<std::mutex> lock(pipeline_mu_);
      previous = std::move(pipeline_);
      pipeline_ = std::move(next);
    }
    if (tap_) pipeline_->setTap(tap_.get());
    Status started = pipeline_->start();
    if (!started) {
      // The new pipeline cannot run (a port in use...): the previous configuration, built
      // again, takes over.
      log.error(numbered("Reload failed: the new configuration did not start (" + started.message() +
                         "); starting the previous configuration again"));
      auto again = Pipeline::build(previous->config(), *registry_, metrics_, options_);
      Status restarted = again ? Status::ok() : again.status();
      if (again) {
        std::lock_guard<std::mutex> lock(pipeline_mu_);
        pipeline_ = std::move(*again);
        if (tap_) pipeline_->setTap(tap_.get());
      }
      previous.reset();
      if (restarted) restarted = pipeline_->start();
      finishReloadRequests(reload_upto, started.withPrefix("the new configuration did not start: "));
      metrics_.counter("sluice_config_reloads_total", "Configuration reloads by result.",
                       {{"result", "failed"}}).add(1);
      if (!restarted) {
        log.error("The previous configuration did not start again either: " + restarted.message());
        code = kExitRuntimeError;
        break;
      }
      continue;
    }
    previous.reset();
    metrics_.counter("sluice_config_reloads_total", "Configuration reloads by result.",
                     {{"result", "ok"}}).add(1);
    metrics_.gauge("sluice_config_last_reload_timestamp_seconds",
                   "When the configuration was last reloaded (Unix time; 0: not since the start).")
        .set(std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count());
    log.info(numbered("Reloaded"));
    finishReloadRequests(reload_upto, Status::ok());
  }
  ::close(sfd);
  for (auto& server : servers) server->stop();
  metrics_.setCollector(nullptr);
  {
    std::lock_guard<std::mutex> lock(reload_mu_);
    reload_done_ = reload_requested_;
    reload_outcome_ = Status::unavailable("sluice is stopping");
    reload_cv_.notify_all();
    ::close(reload_fd_);
    reload_fd_ = -1;
  }
  log.info(by_signal ? "Stopped." : "All inputs finished; stopped.");
  if (code != kExitOk) return code;
  return input_failed ? kExitRuntimeError : kExitOk;
}

}  // namespace sluice::engine
