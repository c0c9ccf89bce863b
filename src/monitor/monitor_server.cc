// SPDX-License-Identifier: Apache-2.0
#include "monitor/monitor_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>

#include "core/json.h"

namespace sluice {

MonitorServer::MonitorServer(const MonitorConfig& config, const MetricsRegistry& metrics)
    : config_(config), metrics_(metrics), server_(std::make_unique<httplib::Server>()) {}

MonitorServer::~MonitorServer() { stop(); }

Status MonitorServer::start() {
  // Two workers rather than httplib's default of one per core: a scrape is rare and short, and
  // a second worker keeps a curl answered while Prometheus holds a keep-alive connection.
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server_->set_keep_alive_timeout(2);
  server_->set_tcp_nodelay(true);
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second sluice bind the same
  // port and take half of the scrapes instead of failing to start.
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->Get(config_.metrics_path, [this](const httplib::Request& req, httplib::Response& res) {
    metrics_.collect();
    // OpenMetrics when the scraper prefers it (Prometheus asks for it first in its Accept).
    if (req.get_header_value("Accept").find("application/openmetrics-text") != std::string::npos) {
      res.set_content(metrics_.renderOpenMetrics(), "application/openmetrics-text; version=1.0.0; charset=utf-8");
      return;
    }
    res.set_content(metrics_.renderPrometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/api/plugins.json", [this](const httplib::Request&, httplib::Response& res) {
    if (!plugins_) {
      res.status = 404;
      return;
    }
    res.set_content(plugins_(), "application/json");
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  server_->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    std::string reason = ready_.load(std::memory_order_relaxed)
                             ? (check_ ? check_() : std::string())
                             : "the pipeline is starting or stopping";
    if (reason.empty()) {
      res.set_content("ready\n", "text/plain; charset=utf-8");
    } else {
      res.status = 503;
      res.set_content("not ready: " + reason + "\n", "text/plain; charset=utf-8");
    }
  });
  auto reload = [this](const httplib::Request&, httplib::Response& res) {
    if (!reload_) {
      res.status = 403;
      res.set_content("{\"ok\":false,\"message\":\"reload over HTTP is off; turn it on with "
                      "<system> <monitor> enable_reload true\"}\n",
                      "application/json");
      return;
    }
    Status s = reload_();
    if (s) {
      res.set_content("{\"ok\":true}\n", "application/json");
      return;
    }
    res.status = 500;
    std::string body = "{\"ok\":false,\"message\":";
    appendJsonString(body, s.message());
    res.set_content(body + "}\n", "application/json");
  };
  server_->Post("/api/config.reload", reload);
  server_->Get("/api/config.reload", reload);
  std::string where = config_.bind + ":" + std::to_string(config_.port);
  if (config_.port < 0 || config_.port > 65535) {
    return Status::invalidConfig("monitor: port " + std::to_string(config_.port) +
                                 " is not a TCP port (0..65535)");
  }
  if (config_.port == 0) {
    port_ = server_->bind_to_any_port(config_.bind);
  } else if (server_->bind_to_port(config_.bind, static_cast<int>(config_.port))) {
    port_ = static_cast<int>(config_.port);
  }
  if (port_ <= 0) {
    port_ = 0;
    return Status::unavailable(
        "monitor: cannot listen on " + where +
        " (the port is in use or the address is not this host's); set another with "
        "<system> <monitor> port/bind, or turn the monitor off with <monitor> enable false");
  }
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  // httplib's stop() does nothing before the thread has begun listening: wait for that here so
  // that a stop right after start cannot leave the thread listening for ever.
  while (!server_->is_running() && !listen_returned_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::ok();
}

void MonitorServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

}  // namespace sluice
