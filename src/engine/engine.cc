// SPDX-License-Identifier: Apache-2.0
#include "engine/engine.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>

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

}  // namespace

void Engine::blockSignals() {
  sigset_t set = handledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

int Engine::run() {
  SourceLogger log("[engine]");
  // The monitor serves before the pipeline starts (/readyz says 503 until it has) and until
  // the run ends.
  std::unique_ptr<MonitorServer> monitor;
  if (pipeline_->monitorConfig().enable) {
    monitor = std::make_unique<MonitorServer>(pipeline_->monitorConfig(), metrics_);
    if (double fill = pipeline_->monitorConfig().ready_max_buffer_fill; fill > 0) {
      monitor->setReadinessCheck([this, fill] { return pipeline_->overfullBuffer(fill); });
    }
    if (Status ms = monitor->start(); !ms) {
      log.error("Start failed: " + ms.message());
      return kExitRuntimeError;
    }
    log.info("Monitor listening on http://" + pipeline_->monitorConfig().bind + ":" +
             std::to_string(monitor->port()) + " (/metrics, /healthz, /readyz).");
  }
  Status s = pipeline_->start();
  if (!s) {
    log.error("Start failed: " + s.message());
    pipeline_->stopFiltersAndOutputs();
    return kExitRuntimeError;
  }
  if (monitor) monitor->setReady(true);
  sigset_t set = handledSignals();
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  int done_fd = eventfd(0, EFD_CLOEXEC);

  auto inputs = pipeline_->inputs();
  StopToken stop;
  std::atomic<size_t> running{inputs.size()};
  std::atomic<bool> input_failed{false};
  std::vector<std::thread> threads;
  for (InputStage* stage : inputs) {
    threads.emplace_back([&, stage] {
      Status rs = stage->input->run(*stage, stop);
      if (!rs) {
        stage->instance->log.error("Input stopped: " + rs.message());
        input_failed = true;
      }
      if (--running == 0) {
        uint64_t one = 1;
        ssize_t ignored = ::write(done_fd, &one, sizeof(one));
        (void)ignored;
      }
    });
  }
  log.info("Started: " + std::to_string(inputs.size()) + " inputs.");
  bool by_signal = false;
  if (!inputs.empty()) {
    while (true) {
      struct pollfd fds[2] = {{sfd, POLLIN, 0}, {done_fd, POLLIN, 0}};
      int rc = ::poll(fds, 2, -1);
      if (rc < 0) continue;
      if (fds[1].revents & POLLIN) break;
      if (fds[0].revents & POLLIN) {
        struct signalfd_siginfo info;
        if (::read(sfd, &info, sizeof(info)) != sizeof(info)) continue;
        if (info.ssi_signo == SIGUSR1) {
          log.info("Received SIGUSR1: flushing every buffer now.");
          pipeline_->flushBuffers();
          continue;
        }
        if (!isStopSignal(info.ssi_signo)) {
          log.warn(std::string(info.ssi_signo == SIGHUP ? "SIGHUP" : "SIGUSR2") +
                   ": configuration reload is not supported yet; ignored.");
          continue;
        }
        log.info(std::string("Received ") + (info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM") +
                 ": stopping inputs and flushing.");
        by_signal = true;
        break;
      }
    }
  }
  stop.requestStop();
  if (monitor) monitor->setReady(false);
  // The buffers start sending now, while the inputs wind down (a tail waits a little for its
  // last batches' delivery, so that its position records them).
  pipeline_->flushBuffers(true);
  // While the inputs drain, a second signal exits at once.
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
  for (auto& t : threads) t.join();
  pipeline_->stopFiltersAndOutputs();
  joined = true;
  watchdog.join();
  ::close(sfd);
  ::close(done_fd);
  if (monitor) monitor->stop();
  log.info(by_signal ? "Stopped." : "All inputs finished; stopped.");
  return input_failed ? kExitRuntimeError : kExitOk;
}

}  // namespace sluice::engine
