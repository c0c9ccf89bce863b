// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_http/http_input.h"

#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "plugins/in_http/http_body.h"

namespace sluice::plugins::in_http {
namespace {

using C = HttpConfig;
const std::array<Param<C>, 16> kParams = {{
    {"port", &C::port, "9880", "The port to listen to (0: the system chooses; the log says which)."},
    {"bind", &C::bind, "0.0.0.0", "The address to listen on."},
    {"body_size_limit", &C::body_size_limit, "32m", "Larger request bodies are refused with 413 and the connection closed."},
    {"keepalive_timeout", &C::keepalive_timeout, "10s", "How long an idle keep-alive connection stays open."},
    {"add_http_headers", &C::add_http_headers, "false", "Add each request header to the records as `HTTP_<NAME>` (upper case, `-` as `_`)."},
    {"add_remote_addr", &C::add_remote_addr, "false", "Add `REMOTE_ADDR`: the first address of X-Forwarded-For, else the client's address."},
    {"add_query_params", &C::add_query_params, "false", "Add each query parameter to the records as `QUERY_<name>`."},
    {"cors_allow_origins", &C::cors_allow_origins, nullptr, "Origins allowed by CORS (`*` any; `http://*.example.com` a wildcard). Others get 403; requests without Origin pass."},
    {"cors_allow_credentials", &C::cors_allow_credentials, "false", "Send Access-Control-Allow-Credentials: true to allowed origins."},
    {"respond_with_empty_img", &C::respond_with_empty_img, "false", "Answer accepted requests with a 1x1 GIF instead of an empty body."},
    {"use_204_response", &C::use_204_response, "false", "Answer accepted requests with 204 No Content instead of 200."},
    {"dump_error_log", &C::dump_error_log, "true", "Log refused requests (at most one line a second; all are counted)."},
    {"backpressure_timeout", &C::backpressure_timeout, "5s", "How long a request waits for the next stage (a full buffer with overflow_action block) before it is answered 503 with Retry-After. sluice only."},
    {"request_threads", &C::request_threads, "8", "Connections served at once (each keep-alive connection holds one). sluice only."},
    {"backlog", {}, nullptr, "The kernel's default listen backlog is used.", {}, kIgnored},
    {"blocking_timeout", {}, nullptr, "Fluentd's event-loop timeout; sluice's server has no such loop.", {}, kIgnored},
}};

using T = HttpTlsConfig;
const std::array<Param<T>, 6> kTlsParams = {{
    {"cert_path", &T::cert_path, nullptr, "The server certificate (PEM).", {}, kRequired},
    {"private_key_path", &T::private_key_path, nullptr, "Its private key (PEM).", {}, kRequired},
    {"private_key_passphrase", &T::private_key_passphrase, nullptr, "The key's passphrase.", {}, kSecret},
    {"ca_path", &T::ca_path, nullptr, "CA certificates (PEM) that client certificates must chain to, with client_cert_auth."},
    {"client_cert_auth", &T::client_cert_auth, "false", "Require a client certificate signed by ca_path."},
    {"version", {}, nullptr, "OpenSSL's defaults (TLS 1.2 and 1.3) are used.", {}, kIgnored},
}};

// Fluentd's respond_with_empty_img: a transparent 1x1 GIF.
constexpr unsigned char kEmptyGif[] = {0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00,
                                       0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00,
                                       0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00,
                                       0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The media type of a Content-Type value, lower case, without parameters.
std::string mediaType(const std::string& content_type) {
  std::string_view v = content_type;
  v = v.substr(0, v.find(';'));
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  return lower(v);
}

std::string statusText(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    default: return "Error";
  }
}

// Headers cpp-httplib adds to every request itself: not the client's.
bool injectedHeader(const std::string& name) {
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" || name == "LOCAL_PORT";
}

}  // namespace

struct HttpInput::Metrics {
  explicit Metrics(PluginMetrics& m)
      : bad_request(m.counter("errors_total", "Requests refused as malformed (400).",
                              {{"error_type", "bad_request"}, {"stage", "parse"}})),
        too_large(m.counter("errors_total", "Requests refused for body_size_limit (413).",
                            {{"error_type", "too_large"}, {"stage", "read"}})),
        forbidden(m.counter("errors_total", "Requests refused by CORS (403).",
                            {{"error_type", "cors"}, {"stage", "read"}})),
        backpressure(m.counter("errors_total", "Requests answered 503: the next stage was full or stopping.",
                               {{"error_type", "backpressure"}, {"stage", "emit"}})),
        emit_failed(m.counter("errors_total", "Requests answered 500: the next stage refused the events.",
                              {{"error_type", "emit"}, {"stage", "emit"}})),
        accepted(m.pluginCounter("accepted_requests_total", "Requests whose events were accepted (2xx).")),
        refused_records(m.counter("discarded_records_total",
                                  "Records of requests answered 5xx (the client is told to send them again).",
                                  {{"intentional", "false"}})) {}
  Counter& bad_request;
  Counter& too_large;
  Counter& forbidden;
  Counter& backpressure;
  Counter& emit_failed;
  Counter& accepted;
  Counter& refused_records;
};

Result<std::unique_ptr<HttpInput>> HttpInput::create(const HttpConfig& config, PluginContext& ctx) {
  if (config.port < 0 || config.port > 65535) return Status::invalidConfig("port must be 0-65535");
  if (config.body_size_limit.bytes == 0) return Status::invalidConfig("body_size_limit must be positive");
  if (config.request_threads < 1 || config.request_threads > 1024) {
    return Status::invalidConfig("request_threads must be 1-1024");
  }
  ParserPtr parser;
  auto sections = ctx.element().children("parse");
  if (!sections.empty()) {
    // Fluentd's default parse type is `in_http` (the content-type decoding); any other type
    // parses the raw body, a line at a time.
    std::optional<std::string> type = sections.front()->get("@type");
    if (type && *type != "in_http") {
      auto p = ctx.createParser(*sections.front());
      if (!p) return p.takeStatus();
      parser = std::move(*p);
    }
  }
  std::optional<HttpTlsConfig> tls;
  for (const config::Element* t : ctx.element().children("transport")) {
    if (t->arg == "tls") {
      HttpTlsConfig c;
      if (Status s = ctx.bind(std::span<const Param<T>>(kTlsParams), *t, c); !s) return s;
      tls = c;
    } else if (!t->arg.empty() && t->arg != "tcp") {
      return Status::invalidConfig("<transport " + t->arg + ">: http listens over tcp or tls");
    }
  }
  return std::unique_ptr<HttpInput>(new HttpInput(config, ctx, std::move(parser), std::move(tls)));
}

HttpInput::HttpInput(const HttpConfig& config, PluginContext& ctx, ParserPtr parser,
                     std::optional<HttpTlsConfig> tls)
    : config_(config),
      parser_(std::move(parser)),
      tls_(std::move(tls)),
      log_(ctx.log()),
      metrics_(std::make_unique<Metrics>(ctx.metrics())) {}

HttpInput::~HttpInput() {
  if (server_) server_->stop();
}

Status HttpInput::start() {
  if (tls_) {
    auto ssl = std::make_unique<httplib::SSLServer>(
        tls_->cert_path.c_str(), tls_->private_key_path.c_str(),
        tls_->client_cert_auth && tls_->ca_path ? tls_->ca_path->c_str() : nullptr, nullptr,
        tls_->private_key_passphrase ? tls_->private_key_passphrase->c_str() : nullptr);
    if (!ssl->is_valid()) {
      return Status::invalidConfig("<transport tls>: cannot load cert_path " + tls_->cert_path +
                                   " and private_key_path " + tls_->private_key_path);
    }
    server_ = std::move(ssl);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& s = *server_;
  const size_t threads = static_cast<size_t>(config_.request_threads);
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_tcp_nodelay(true);
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, which would let a second sluice
  // (or a second source) share the port and split the traffic silently.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  s.set_keep_alive_timeout(std::max<time_t>(1, static_cast<time_t>(config_.keepalive_timeout.seconds)));
  s.set_keep_alive_max_count(100000);
  s.set_payload_max_length(config_.body_size_limit.bytes);
  const uint64_t limit = config_.body_size_limit.bytes;
  // A declared Content-Length over the limit is refused before the body is read (and, with
  // Expect: 100-continue, before it is sent); a chunked body is cut off by cpp-httplib at the
  // limit (payload_max_length), answered through the error handler below.
  auto too_large_text = [limit](uint64_t declared) {
    return "413 Payload Too Large\nThe request body of " + std::to_string(declared) +
           " bytes exceeds body_size_limit (" + std::to_string(limit) + " bytes).\n";
  };
  s.set_expect_100_continue_handler([limit](const httplib::Request& req, httplib::Response&) {
    uint64_t n = req.get_header_value<uint64_t>("Content-Length");
    return n > limit ? 413 : 100;
  });
  s.set_pre_routing_handler([this, limit, too_large_text](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_header("Content-Length")) return httplib::Server::HandlerResponse::Unhandled;
    uint64_t n = req.get_header_value<uint64_t>("Content-Length");
    if (n <= limit) return httplib::Server::HandlerResponse::Unhandled;
    refuse(res, 413, too_large_text(n));
    return httplib::Server::HandlerResponse::Handled;
  });
  s.set_error_handler(httplib::Server::HandlerWithResponse([this, limit](const httplib::Request& req,
                                                                        httplib::Response& res) {
    // Called for every answer >= 400, ours included: only cpp-httplib's own (no body yet) are
    // filled in here.
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 413) {
      refuse(res, 413, "413 Payload Too Large\nThe request body exceeds body_size_limit (" +
                           std::to_string(limit) + " bytes).\n");
    } else if (res.status == 404 || res.status == 405) {
      res.status = 405;
      res.set_content("405 Method Not Allowed\nin_http takes POST /<tag> (or GET /<tag>?json=...).\n",
                      "text/plain");
    } else {
      res.set_content(std::to_string(res.status) + " " + statusText(res.status) + "\n", "text/plain");
      (void)req;
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  s.Post(".*", handler);
  s.Get(".*", handler);
  s.Options(".*", [this](const httplib::Request& req, httplib::Response& res) {
    // A CORS preflight (Fluentd's answers): 403 unless CORS is configured, the method asked
    // for is POST and the origin is allowed.
    std::string origin = req.get_header_value("Origin");
    if (config_.cors_allow_origins.empty() || req.get_header_value("Access-Control-Request-Method") != "POST" ||
        !corsAllowed(origin)) {
      refuse(res, 403, "403 Forbidden\n");
      return;
    }
    res.status = 200;
    res.set_header("Access-Control-Allow-Methods", "POST");
    res.set_header("Access-Control-Allow-Headers", req.get_header_value("Access-Control-Request-Headers"));
    bool any = std::find(config_.cors_allow_origins.begin(), config_.cors_allow_origins.end(), "*") !=
               config_.cors_allow_origins.end();
    res.set_header("Access-Control-Allow-Origin", any ? "*" : origin);
    if (!any && config_.cors_allow_credentials) res.set_header("Access-Control-Allow-Credentials", "true");
  });
  int port = static_cast<int>(config_.port);
  if (port == 0) {
    port = s.bind_to_any_port(config_.bind);
    if (port < 0) return Status::ioError("cannot listen on " + config_.bind + " (any port)");
  } else if (!s.bind_to_port(config_.bind, port)) {
    return Status::ioError("cannot listen on " + config_.bind + ":" + std::to_string(port) + ": " + std::strerror(errno));
  }
  bound_port_ = port;
  log_.info("Listening on " + config_.bind + ":" + std::to_string(port) + (tls_ ? " (https)" : " (http)"));
  return Status::ok();
}

Status HttpInput::run(EventSink& out, const StopToken& stop) {
  if (!server_) return Status::internal("run() before start()");
  sink_.store(&out);
  std::thread listener([this] { server_->listen_after_bind(); });
  while (!stop.stopRequested()) {
    struct pollfd fds[1] = {{stop.fd(), POLLIN, 0}};
    if (::poll(fds, 1, -1) < 0 && errno != EINTR) break;
  }
  // Requests in progress finish (an emit blocked on a full buffer returns when the stop reaches
  // the buffers, and its client gets 503); then the pool's threads are joined.
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server_->stop();
    listener.join();
    stopped = true;
  });
  // cpp-httplib 0.11 waits out keepalive_timeout on an idle keep-alive connection without
  // looking at stop(): the read side of our accepted connections is shut down so that each
  // waiting thread sees the end of its stream at once (answers being written still go out).
  while (!stopped.load()) {
    endIdleConnections();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stopper.join();
  sink_.store(nullptr);
  return Status::ok();
}

void HttpInput::endIdleConnections() const {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == ::dirfd(dir)) continue;
    struct stat st;
    if (::fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    int listening = 0, type = 0;
    socklen_t len = sizeof(listening);
    if (::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) continue;
    len = sizeof(type);
    if (::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof(local), peer_len = sizeof(peer);
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0 ||
        ::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) {
      continue;
    }
    int port = local.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in&>(local).sin_port)
               : local.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6&>(local).sin6_port)
                                             : -1;
    // A connected socket on our listening port is one we accepted: the kernel gives no
    // outgoing connection a local port a listener holds on the same address.
    if (port == bound_port_) ::shutdown(static_cast<int>(fd), SHUT_RD);
  }
  ::closedir(dir);
}

bool HttpInput::corsAllowed(const std::string& origin) const {
  for (const std::string& allowed : config_.cors_allow_origins) {
    if (allowed == "*" || allowed == origin) return true;
    size_t star = allowed.find('*');
    if (star == std::string::npos || allowed.empty()) continue;
    std::string_view head = std::string_view(allowed).substr(0, star);
    std::string_view tail = std::string_view(allowed).substr(star + 1);
    if (origin.size() >= head.size() + tail.size() && origin.starts_with(head) && origin.ends_with(tail)) return true;
  }
  return false;
}

void HttpInput::logRefusal(int status, std::string_view why) {
  if (!config_.dump_error_log) return;
  // One line a second at most: a misbehaving client must not flood the log.
  int64_t now = nowNs();
  int64_t next = next_log_ns_.load(std::memory_order_relaxed);
  if (now < next || !next_log_ns_.compare_exchange_strong(next, now + 1'000'000'000)) {
    unlogged_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  uint64_t more = unlogged_.exchange(0, std::memory_order_relaxed);
  std::string line = "Request refused with " + std::to_string(status) + ": ";
  std::string_view text = why.substr(0, 300);
  for (char c : text) line += (c == '\n' || c == '\r') ? ' ' : c;
  if (more) line += " (" + std::to_string(more) + " more refused since the last report)";
  log_.warn(line);
}

void HttpInput::refuse(httplib::Response& res, int status, std::string_view why) {
  switch (status) {
    case 400: metrics_->bad_request.add(); break;
    case 403: metrics_->forbidden.add(); break;
    case 413: metrics_->too_large.add(); break;
    case 503: metrics_->backpressure.add(); break;
    default: metrics_->emit_failed.add(); break;
  }
  res.status = status;
  if (status == 413 || status == 403) res.set_header("Connection", "close");
  if (status == 503) res.set_header("Retry-After", "1");
  res.set_content(std::string(why), "text/plain");
  logRefusal(status, why);
}

void HttpInput::handle(const httplib::Request& req, httplib::Response& res) {
  const bool has_origin = req.has_header("Origin");
  const std::string origin = has_origin ? req.get_header_value("Origin") : std::string();
  if (!config_.cors_allow_origins.empty() && has_origin) {
    if (!corsAllowed(origin)) {
      refuse(res, 403, "403 Forbidden\nOrigin " + origin + " is not in cors_allow_origins.\n");
      return;
    }
    bool any = std::find(config_.cors_allow_origins.begin(), config_.cors_allow_origins.end(), "*") !=
               config_.cors_allow_origins.end();
    res.set_header("Access-Control-Allow-Origin", any ? "*" : origin);
    if (config_.cors_allow_credentials) res.set_header("Access-Control-Allow-Credentials", "true");
  }
  if (req.body.size() > config_.body_size_limit.bytes) {  // a decompressed body
    refuse(res, 413, "413 Payload Too Large\nThe decoded request body of " + std::to_string(req.body.size()) +
                         " bytes exceeds body_size_limit (" + std::to_string(config_.body_size_limit.bytes) +
                         " bytes).\n");
    return;
  }

  // One batch per request thread, reused: a warm thread allocates nothing for its records.
  thread_local Batch batch;
  thread_local std::vector<Value> records;
  thread_local Params query, form;
  thread_local std::vector<std::string_view> lines;
  thread_local std::vector<ParsedRecord> parsed;
  batch.clear();
  records.clear();
  query.clear();
  form.clear();
  Arena& arena = batch.arena();
  auto bad = [&](std::string_view why) { refuse(res, 400, "400 Bad Request\n" + std::string(why) + "\n"); };

  // The tag is the path, '/' read as '.' (Fluentd: POST /app/log is tag app.log).
  std::string_view path = req.path;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return bad("The URL path is the tag: POST /<tag>.");
  char* tag_buf = static_cast<char*>(arena.allocate(path.size(), 1));
  for (size_t i = 0; i < path.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(path[i]);
    if (c < 0x20 || c == 0x7f) return bad("The tag holds a control character.");
    tag_buf[i] = c == '/' ? '.' : static_cast<char>(c);
  }
  const std::string_view tag(tag_buf, path.size());

  if (size_t q = req.target.find('?'); q != std::string::npos) {
    parseFormParams(std::string_view(req.target).substr(q + 1), arena, query);
  }
  const std::string type = mediaType(req.get_header_value("Content-Type"));
  int64_t now = nowNs();
  std::optional<int64_t> param_time;
  auto time_text = findParam(query, "time");

  if (parser_) {
    // <parse>: the raw body, a line at a time (Fluentd hands the whole body to the parser; a
    // one-line body is the same).
    if (time_text) {
      param_time = parseEpochSeconds(*time_text);
      if (!param_time) return bad("The time parameter is not a number of seconds: " + std::string(*time_text));
    }
    lines.clear();
    std::string_view body = req.body;
    for (size_t s = 0; s < body.size();) {
      size_t nl = body.find('\n', s);
      if (nl == std::string_view::npos) nl = body.size();
      std::string_view line = body.substr(s, nl - s);
      s = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!line.empty()) lines.push_back(line);
    }
    if (lines.empty()) return bad("The body is empty.");
    if (parsed.size() < lines.size()) parsed.resize(lines.size());
    std::fill(parsed.begin(), parsed.begin() + static_cast<ptrdiff_t>(lines.size()), ParsedRecord{});
    parser_->parse(LineBatch{lines, false, nullptr, 0}, arena, std::span(parsed.data(), lines.size()));
    for (size_t i = 0; i < lines.size(); ++i) {
      const ParsedRecord& r = parsed[i];
      if (!r.ok()) {
        return bad("Line " + std::to_string(i + 1) + " of the body could not be parsed: " +
                   std::string(r.error.empty() ? "incomplete" : r.error));
      }
      records.push_back(r.record);
      batch.add(tag, param_time ? *param_time : (r.has_time ? r.time_ns : now), r.record);
    }
  } else {
    std::string_view payload;
    BodyFormat format = BodyFormat::Json;
    bool found = true;
    if (type == "application/json" || type == "application/csp-report") {
      payload = req.body;
    } else if (type == "application/x-ndjson") {
      payload = req.body;
      format = BodyFormat::Ndjson;
    } else if (type == "application/msgpack" || type == "application/x-msgpack") {
      payload = req.body;
      format = BodyFormat::Msgpack;
    } else {
      // Form fields (urlencoded or multipart), then the query string.
      if (type == "application/x-www-form-urlencoded" || type.empty()) parseFormParams(req.body, arena, form);
      if (req.is_multipart_form_data()) {
        for (const auto& [name, file] : req.files) {
          form.emplace_back(arena.copy(name), std::string_view(file.content));
        }
      }
      if (auto t = findParam(form, "time")) time_text = t;
      auto pick = [&](std::string_view name) {
        if (auto v = findParam(form, name)) return v;
        return findParam(query, name);
      };
      if (auto v = pick("json")) {
        payload = *v;
      } else if (auto nd = pick("ndjson")) {
        payload = *nd;
        format = BodyFormat::Ndjson;
      } else if (auto mp = pick("msgpack")) {
        payload = *mp;
        format = BodyFormat::Msgpack;
      } else {
        found = false;
      }
    }
    if (!found) return bad("'json', 'ndjson' or 'msgpack' parameter is required (or a JSON, NDJSON or MessagePack Content-Type).");
    if (time_text) {
      param_time = parseEpochSeconds(*time_text);
      if (!param_time) return bad("The time parameter is not a number of seconds: " + std::string(*time_text));
      if (*param_time == 0) param_time = now;  // Fluentd: time=0 means now
    }
    if (Status s = decodeRecords(format, payload, arena, records); !s) return bad(s.message());
    for (Value& record : records) {
      int64_t t = now;
      if (param_time) {
        t = *param_time;
        record.removeMember("time");  // Fluentd deletes the time field in either case
      } else if (const Value* field = record.find("time")) {
        auto epoch = epochOfValue(*field);
        if (!epoch) return bad("A record's time field is not a number of seconds: " + toJson(*field));
        t = *epoch;
        record.removeMember("time");
      }
      batch.add(tag, t, record);
    }
  }

  if (config_.add_http_headers || config_.add_remote_addr || config_.add_query_params) {
    thread_local std::vector<std::pair<std::string_view, std::string_view>> extra;
    extra.clear();
    if (config_.add_http_headers) {
      for (const auto& [name, value] : req.headers) {
        if (injectedHeader(name)) continue;
        extra.emplace_back(headerFieldName(name, arena), std::string_view(value));
      }
    }
    if (config_.add_query_params) {
      for (const auto& [name, value] : query) {
        char* key = static_cast<char*>(arena.allocate(name.size() + 6, 1));
        std::memcpy(key, "QUERY_", 6);
        std::memcpy(key + 6, name.data(), name.size());
        extra.emplace_back(std::string_view(key, name.size() + 6), value);
      }
    }
    if (config_.add_remote_addr) {
      std::string_view addr = req.remote_addr;
      // The first address of the first X-Forwarded-For header (Fluentd's rule).
      if (req.has_header("X-Forwarded-For")) {
        auto it = req.headers.find("X-Forwarded-For");
        std::string_view xff = it->second;
        xff = xff.substr(0, xff.find(','));
        while (!xff.empty() && xff.front() == ' ') xff.remove_prefix(1);
        while (!xff.empty() && xff.back() == ' ') xff.remove_suffix(1);
        if (!xff.empty()) addr = xff;
      }
      extra.emplace_back("REMOTE_ADDR", addr);
    }
    for (Event& e : batch.events()) {
      for (const auto& [k, v] : extra) e.record.setMember(k, Value::string(v), arena);
    }
  }

  EventSink* sink = sink_.load();
  if (sink == nullptr) return refuse(res, 503, "503 Service Unavailable\nThe input is not running.\n");
  if (!batch.empty()) {
    std::unique_lock<std::timed_mutex> lock(emit_mu_, std::defer_lock);
    if (!lock.try_lock_for(std::chrono::nanoseconds(config_.backpressure_timeout.nanos()))) {
      metrics_->refused_records.add(batch.size());
      return refuse(res, 503, "503 Service Unavailable\nThe pipeline is applying backpressure (a buffer is full); "
                              "nothing of this request was accepted: send it again later.\n");
    }
    Status s = sink->emit(batch);
    lock.unlock();
    if (!s) {
      metrics_->refused_records.add(batch.size());
      batch.clear();
      if (s.code() == Code::Unavailable) {
        return refuse(res, 503, "503 Service Unavailable\n" + s.message() +
                                    "; nothing of this request was accepted: send it again later.\n");
      }
      return refuse(res, 500, "500 Internal Server Error\n" + s.message() + "\n");
    }
  }
  batch.clear();
  metrics_->accepted.add();
  if (config_.respond_with_empty_img) {
    res.status = 200;
    res.set_content(std::string(reinterpret_cast<const char*>(kEmptyGif), sizeof(kEmptyGif)), "image/gif");
  } else if (config_.use_204_response) {
    res.status = 204;
  } else {
    res.status = 200;
    res.set_content("", "text/plain");
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<HttpInput>(
      PluginKind::Input, "http",
      "Fluentd's in_http: events by HTTP, POST /<tag> with a JSON, NDJSON, MessagePack or form body; "
      "answered 2xx once the events are accepted downstream, 503 when the pipeline is full.",
      kParams,
      {{"parse", "Parse the raw body with this parser, a line at a time, instead of by Content-Type (`@type in_http`, the default, decodes by Content-Type).", {}},
       {"transport", "`<transport tls>`: serve HTTPS.", describeParams(std::span<const Param<T>>(kTlsParams))}});
  return kDescriptor;
}

}  // namespace sluice::plugins::in_http
