// SPDX-License-Identifier: Apache-2.0
#pragma once

// The Kubernetes API (or kubelet) as the kubernetes_metadata filter uses it: GETs with the
// service-account bearer token (read again when the file changes, and after a 401 with one
// retry), and streamed GETs for watches.
// Threads: get() is called by the inputs' threads (cache misses, through process()) and by the
// watch thread at once; clients come from a locked pool. stream() runs on the watch thread.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "net/http_client.h"
#include "net/net_options.h"

namespace sluice::plugins::filter_kubernetes_metadata {

class KubeApi {
 public:
  struct Options {
    std::string base_url;  // scheme://host:port, no trailing slash
    net::TlsOptions tls;
    std::optional<std::string> token_file;
    int64_t connect_timeout_ms = 3000;
    int64_t timeout_ms = 10'000;
  };

  explicit KubeApi(Options options);

  const std::string& baseUrl() const { return options_.base_url; }

  // GET base_url + path. Thread-safe: clients come from a pool.
  void get(std::string_view path, net::HttpResponse& out);
  // GET base_url + path, handing the body to `on_body` as it arrives (a watch). Ends when the
  // server ends it, `on_body` returns false, `keep_going` returns false or after `timeout_ms`.
  void stream(std::string_view path, const std::function<bool(std::string_view)>& on_body,
              const std::function<bool()>& keep_going, int64_t timeout_ms, net::HttpResponse& out);

  // What went wrong, for a log line: the transport error, or the status and the Status
  // object's message (the API server says which permission a 403 lacks).
  static std::string describe(const net::HttpResponse& response);

 private:
  template <class Send>
  void withClient(Send send);
  // Sends `req` to base_url + path with the token; a 401 re-reads the token and retries once.
  void send(std::string_view path, net::HttpRequest req, net::HttpResponse& out);
  std::vector<std::string> headers();

  const Options options_;
  std::unique_ptr<net::TokenFile> token_;
  net::HttpClientPool pool_;
};

}  // namespace sluice::plugins::filter_kubernetes_metadata
