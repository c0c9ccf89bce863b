// SPDX-License-Identifier: Apache-2.0
#pragma once

// The HTTP client the network outputs and lookups share (Elasticsearch _bulk, Loki push, the
// Kubernetes API): one libcurl easy handle per client, so connections stay alive between
// requests. A client belongs to one thread (a flush thread owns its own); it is not locked.

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::net {

struct TlsOptions {
  bool verify = true;       // peer certificate and host name
  std::string ca_file;      // empty: the system's CA store
  std::string client_cert;  // PEM; with client_key for mutual TLS
  std::string client_key;
};

struct HttpRequest {
  std::string_view method = "GET";
  std::string_view url;
  std::vector<std::string> headers;  // "Name: value"
  std::string_view body;
  int64_t connect_timeout_ms = 10'000;
  int64_t timeout_ms = 60'000;  // the whole request, 0: none
  // Streaming (a Kubernetes watch): when set, the body is handed over piece by piece as it
  // arrives instead of being kept in HttpResponse::body; returning false ends the transfer.
  std::function<bool(std::string_view)> on_body;
  // A large answer read as it arrives (an Elasticsearch bulk answer): when set, the body of a
  // 200 answer is handed over piece by piece instead of being kept in HttpResponse::body (any
  // other status keeps its body there, whole). The whole body is always read.
  std::function<void(std::string_view)> on_200_body;
  // Asked about once a second while the transfer runs; returning false aborts it (a stop
  // request ending a long-lived stream).
  std::function<bool()> keep_going;
};

struct HttpResponse {
  long status = 0;  // 0: no HTTP answer (see error)
  std::string body;
  std::string content_type;
  int64_t retry_after_ns = -1;  // from Retry-After (seconds or an HTTP date); -1: absent
  std::string error;            // transport error (connect, TLS, timeout), credentials removed

  bool transportFailed() const { return status == 0; }
};

class HttpClient {
 public:
  explicit HttpClient(TlsOptions tls = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request and fills `out` (its buffers are reused from call to call). Never throws.
  void send(const HttpRequest& request, HttpResponse& out);

 private:
  TlsOptions tls_;
  void* easy_;  // CURL*
  char error_buf_[256];
};

// A bearer token kept in a file (a Kubernetes service-account token, rotated hourly): read
// again whenever the file's modification time changes, or after invalidate() (a 401).
// Thread-safe.
class TokenFile {
 public:
  explicit TokenFile(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  // "Authorization: Bearer <token>". When this call read the file and found no token,
  // `read_error` (if given) says why; the token is empty then.
  std::string header(std::string* read_error = nullptr);
  void invalidate();

 private:
  const std::string path_;
  std::mutex mu_;
  std::string token_;  // guarded by mu_
  int64_t mtime_ns_ = -1;  // guarded by mu_; -2 forces a read
};

// The URL with any user:password@ replaced by "***@", for log lines.
std::string redactUrl(std::string_view url);

// Base64 (RFC 4648 §4, padded) or base64url (§5, unpadded) of `data`.
std::string base64Encode(std::string_view data, bool url = false);
// "Authorization: Basic …" for user:password.
std::string basicAuthHeader(std::string_view user, std::string_view password);
// `s` percent-encoded for a URL path segment or query value (RFC 3986 unreserved kept).
std::string percentEncode(std::string_view s);

// Retry-After's value as nanoseconds from `now_s` (seconds since the epoch): delta-seconds or an
// HTTP-date. -1 when it is neither.
int64_t parseRetryAfter(std::string_view value, int64_t now_s);

}  // namespace sluice::net
