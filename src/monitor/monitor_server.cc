// SPDX-License-Identifier: Apache-2.0
#include "monitor/monitor_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "core/json.h"

namespace sluice {

MonitorServer::MonitorServer(const MonitorConfig& config, const MetricsRegistry& metrics)
    : config_(config), metrics_(metrics), server_(std::make_unique<httplib::Server>()) {}

MonitorServer::~MonitorServer() { stop(); }

Status MonitorServer::start() {
  // Four workers rather than httplib's default of one per core: a scrape is rare and short; the
  // others keep a curl answered while Prometheus holds a keep-alive connection and a `sluice
  // tap` holds a stream.
  server_->new_task_queue = [] { return new httplib::ThreadPool(4); };
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
  server_->Get("/api/tap", [this](const httplib::Request& req, httplib::Response& res) {
    if (!tap_) {
      res.status = 403;
      res.set_content("tap is off; turn it on with <system> <monitor> enable_tap true\n", "text/plain");
      return;
    }
    TapHub::Options o;
    o.after = req.get_param_value("after");
    if (req.has_param("tag")) {
      auto pattern = TagPattern::compile(req.get_param_value("tag"));
      if (!pattern) {
        res.status = 400;
        res.set_content(pattern.status().message() + "\n", "text/plain");
        return;
      }
      o.tags = std::move(*pattern);
    }
    if (o.after.empty() && !o.tags) {
      res.status = 400;
      res.set_content("name a point: ?after=PLUGIN_ID or ?tag=PATTERN\n", "text/plain");
      return;
    }
    // At most 1000 events a second, whatever is asked: a tap must not slow the pipeline.
    if (req.has_param("rate")) o.rate = std::clamp(std::atof(req.get_param_value("rate").c_str()), 0.1, 1000.0);
    auto remaining = std::make_shared<int64_t>(req.has_param("limit") ? std::atoll(req.get_param_value("limit").c_str()) : -1);
    auto sub = tap_->subscribe(std::move(o));
    res.set_chunked_content_provider(
        "application/x-ndjson",
        [this, sub, remaining](size_t, httplib::DataSink& sink) {
          if (stopping_ || *remaining == 0) {
            sink.done();
            return true;
          }
          if (!sink.is_writable()) return false;
          for (const std::string& line : sub->take(200)) {
            if (!sink.write(line.data(), line.size())) return false;
            if (*remaining > 0 && --*remaining == 0) break;
          }
          return true;
        },
        [this, sub](bool) { tap_->unsubscribe(sub); });
  });
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
  stopping_ = true;
  server_->stop();
  thread_.join();
}

}  // namespace sluice
