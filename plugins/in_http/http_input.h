// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/plugin_api.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace sluice::plugins::in_http {

struct HttpConfig {
  int64_t port = 9880;
  std::string bind;
  ByteSize body_size_limit;
  Duration keepalive_timeout;
  bool add_http_headers = false;
  bool add_remote_addr = false;
  bool add_query_params = false;
  StringList cors_allow_origins;
  bool cors_allow_credentials = false;
  bool respond_with_empty_img = false;
  bool use_204_response = false;
  bool dump_error_log = true;
  Duration backpressure_timeout;
  int64_t request_threads = 8;
};

// `<transport tls>`: HTTPS (cpp-httplib's SSLServer over OpenSSL).
struct HttpTlsConfig {
  std::string cert_path;
  std::string private_key_path;
  std::optional<std::string> private_key_passphrase;
  std::optional<std::string> ca_path;
  bool client_cert_auth = false;
};

// Fluentd's in_http: `POST /<tag>` (or GET with parameters) with JSON, NDJSON, MessagePack or
// form bodies (`json=`, `ndjson=`, `msgpack=`), or any body through <parse>, one event per
// record. A request is answered 2xx only once its events are accepted by the next stage
// (EventSink::emit returned); a request refused as a whole gets 400 (malformed), 403 (CORS),
// 413 (body_size_limit) or 503 with Retry-After (the next stage is full or stopping), and
// nothing of it is emitted.
//
// Threading: start() binds on the main thread; run() serves on the input's thread until its
// StopToken fires, with cpp-httplib's pool of `request_threads` threads reading and decoding
// requests. Emits are serialised (one at a time, like any input's thread): a request that
// cannot get its turn within backpressure_timeout — the stage ahead blocks on a full buffer —
// is answered 503 instead of waiting.
class HttpInput final : public Input {
 public:
  static Result<std::unique_ptr<HttpInput>> create(const HttpConfig& config, PluginContext& ctx);
  ~HttpInput() override;

  // sluice::Plugin
  Status start() override;
  // sluice::Input
  Status run(EventSink& out, const StopToken& stop) override;

  // The port bound by start() (the configured one, or the OS's choice for port 0).
  int boundPort() const { return bound_port_; }

 private:
  struct Metrics;
  HttpInput(const HttpConfig& config, PluginContext& ctx, ParserPtr parser,
            std::optional<HttpTlsConfig> tls);
  void handle(const httplib::Request& req, httplib::Response& res);
  bool corsAllowed(const std::string& origin) const;
  void refuse(httplib::Response& res, int status, std::string_view why);
  void logRefusal(int status, std::string_view why);
  // Shuts down the read side of the connections this server accepted (run()'s end).
  void endIdleConnections() const;

  const HttpConfig config_;
  const ParserPtr parser_;  // <parse>, or nullptr for the content-type decoding
  const std::optional<HttpTlsConfig> tls_;
  const SourceLogger log_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<Metrics> metrics_;
  int bound_port_ = -1;
  // Set while run() serves: the request threads emit into it.
  std::atomic<EventSink*> sink_{nullptr};
  std::timed_mutex emit_mu_;
  std::atomic<int64_t> next_log_ns_{0};
  std::atomic<uint64_t> unlogged_{0};
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::in_http
