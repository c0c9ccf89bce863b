// SPDX-License-Identifier: Apache-2.0
#include "kube_api.h"

#include <simdjson.h>

namespace sluice::plugins::filter_kubernetes_metadata {

KubeApi::KubeApi(Options options) : options_(std::move(options)), pool_(options_.tls) {
  if (options_.token_file) token_ = std::make_unique<net::TokenFile>(*options_.token_file);
}

std::vector<std::string> KubeApi::headers() {
  std::vector<std::string> h{"Accept: application/json"};
  if (token_) h.push_back(token_->header());
  return h;
}

template <class Send>
void KubeApi::withClient(Send send) {
  std::unique_ptr<net::HttpClient> client = pool_.take();
  send(*client);
  pool_.give(std::move(client));
}

void KubeApi::send(std::string_view path, net::HttpRequest req, net::HttpResponse& out) {
  std::string url = options_.base_url + std::string(path);
  req.url = url;
  req.connect_timeout_ms = options_.connect_timeout_ms;
  withClient([&](net::HttpClient& client) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      req.headers = headers();
      client.send(req, out);
      if (out.status != 401 || !token_ || attempt == 1) return;
      token_->invalidate();  // a rotated service-account token: read it again, try once more
    }
  });
}

void KubeApi::get(std::string_view path, net::HttpResponse& out) {
  net::HttpRequest req;
  req.timeout_ms = options_.connect_timeout_ms + options_.timeout_ms;
  send(path, std::move(req), out);
}

void KubeApi::stream(std::string_view path, const std::function<bool(std::string_view)>& on_body,
                     const std::function<bool()>& keep_going, int64_t timeout_ms, net::HttpResponse& out) {
  net::HttpRequest req;
  req.timeout_ms = timeout_ms;
  req.on_body = on_body;
  req.keep_going = keep_going;
  send(path, std::move(req), out);
}

std::string KubeApi::describe(const net::HttpResponse& r) {
  if (r.transportFailed()) return r.error;
  std::string out = "HTTP " + std::to_string(r.status);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view message;
  if (parser.parse(r.body).get(doc) == simdjson::SUCCESS &&
      doc["message"].get_string().get(message) == simdjson::SUCCESS) {
    out += ": ";
    out += message;
  } else if (!r.body.empty()) {
    out += ": ";
    out += r.body.substr(0, 300);
  }
  return out;
}

}  // namespace sluice::plugins::filter_kubernetes_metadata
