// SPDX-License-Identifier: Apache-2.0
#pragma once

// The monitor HTTP server: /metrics (the registry in Prometheus text), /healthz and /readyz,
// served by cpp-httplib from its own thread. The pipeline never calls into it: a scrape reads
// the metrics' atomics (and takes the registry's lock, which only registration also takes),
// so no record waits on it.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/status.h"
#include "monitor/metrics.h"
#include "monitor/tap.h"

namespace httplib {
class Server;
}

namespace sluice {

// `<system> <monitor>`: see systemParams() in engine/pipeline.cc for the documented defaults.
struct MonitorConfig {
  bool enable = true;   // -c without <monitor> serves it; quick mode turns it off
  std::string bind = "127.0.0.1";
  int64_t port = 24231;
  double ready_max_buffer_fill = 0;  // 0: a full buffer does not make /readyz fail
  double ready_max_failing_seconds = 0;  // 0: a failing output does not make /readyz fail
  bool enable_reload = false;        // POST /api/config.reload reloads the configuration
  bool enable_tap = false;           // GET /api/tap streams samples of events (sluice tap)
  std::string metrics_path = "/metrics";  // a `<source> @type prometheus` may move it
  std::string name = "Monitor";            // in the "listening" log line
};

class MonitorServer {
 public:
  MonitorServer(const MonitorConfig& config, const MetricsRegistry& metrics);
  ~MonitorServer();
  MonitorServer(const MonitorServer&) = delete;
  MonitorServer& operator=(const MonitorServer&) = delete;

  // Binds the address and starts the server thread. An address or port that cannot be bound
  // is an error naming them. Called by the engine before the pipeline starts.
  Status start();
  // Stops serving and joins the thread. Idempotent. Called by the engine at the end of its run.
  void stop();

  // The bound port (the chosen one when the config asked for port 0); 0 before start().
  int port() const { return port_; }

  // /readyz answers 200 while ready, 503 otherwise. Set by the engine's thread once the
  // pipeline has started and cleared when it begins to stop.
  void setReady(bool ready) { ready_.store(ready, std::memory_order_relaxed); }
  // While ready, /readyz also asks `check` (on a server thread, per request): a non-empty
  // answer is the reason it is not. Set by the engine before start().
  void setReadinessCheck(std::function<std::string()> check) { check_ = std::move(check); }
  // POST (or GET, as Fluentd's RPC takes it) /api/config.reload calls `reload` on a server
  // thread and answers with its outcome; without one it answers 403 saying how to turn it on.
  // Set by the engine before start() when <monitor> enable_reload is true.
  void setReloadHandler(std::function<Status()> reload) { reload_ = std::move(reload); }
  // GET /api/plugins.json answers what `plugins` returns (Fluentd monitor_agent's JSON); 404
  // without one. Set by the engine before start().
  void setPluginsHandler(std::function<std::string()> plugins) { plugins_ = std::move(plugins); }
  // GET /api/tap streams what `tap` samples (sluice tap); without it, 403 saying how to turn it
  // on. Set by the engine before start() when <monitor> enable_tap is true.
  void setTap(TapHub* tap) { tap_ = tap; }

 private:
  MonitorConfig config_;
  const MetricsRegistry& metrics_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::function<std::string()> check_;
  std::function<Status()> reload_;
  std::function<std::string()> plugins_;
  TapHub* tap_ = nullptr;
  std::atomic<bool> stopping_{false};  // ends tap streams so that stop() can join
  std::atomic<bool> ready_{false};
  std::atomic<bool> listen_returned_{false};
  int port_ = 0;
};

}  // namespace sluice
