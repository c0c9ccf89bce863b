// SPDX-License-Identifier: Apache-2.0
// Node discovery for the Elasticsearch output (see es_nodes.h): on the engine's thread at start,
// then on whichever flush thread counts the reload_after-th request or finds every node down.
#include "plugins/out_elasticsearch/es_nodes.h"

#include <simdjson.h>

#include <map>

#include "plugins/out_elasticsearch/es_internal.h"

namespace sluice::plugins::out_elasticsearch {

using C = EsConfig;

const std::array<Param<C>, kConnectionParamCount> kConnectionParams = {{
    {"reload_connections", &C::reload_connections, "false", "Discover the cluster's nodes (GET _nodes/http, each node's http.publish_address) at start and after every reload_after requests, and send to them instead of the configured hosts. Fluentd's default is true; sluice's is false, since publish addresses are often unreachable from the client (behind a proxy, a Kubernetes Service, Elastic Cloud)."},
    {"reload_on_failure", &C::reload_on_failure, "false", "Discover the nodes again when none of the list can be reached, and try the request once more on the new list."},
    {"reload_after", &C::reload_after, "-1", "Requests between two discoveries with reload_connections; -1: 10000, the Elasticsearch Ruby client's default."},
    {"sniffer_class_name", &C::sniffer_class_name, nullptr, "Fluent::Plugin::ElasticsearchSimpleSniffer keeps the configured hosts (no discovery, as in Fluentd); any other class name cannot be loaded by sluice and means GET _nodes/http discovery (a warning says so)."},
    {"ssl_version", &C::ssl_version, nullptr, "Accepted for Fluentd compatibility: TLS 1.2 or 1.3 is negotiated (Debian's OpenSSL refuses TLSv1 and TLSv1_1 at its default security level).", {}, kIgnored},
    {"ssl_min_version", &C::ssl_min_version, nullptr, "Accepted for Fluentd compatibility: TLS 1.2 or 1.3 is negotiated.", {}, kIgnored},
    {"ssl_max_version", &C::ssl_max_version, nullptr, "Accepted for Fluentd compatibility: TLS 1.2 or 1.3 is negotiated.", {}, kIgnored},
}};

namespace {

constexpr int64_t kDefaultReloadAfter = 10000;  // elasticsearch-transport's reload_connections: true
constexpr std::string_view kSimpleSniffer = "ElasticsearchSimpleSniffer";

// host:port of a publish address; the Ruby client's parse_publish_address: "name/ip:port"
// gives the name, "[v6]:port" stays bracketed.
std::string hostPortOf(std::string_view address) {
  if (size_t slash = address.find('/'); slash != std::string_view::npos) {
    std::string_view name = address.substr(0, slash);
    std::string_view rest = address.substr(slash + 1);
    size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
      return std::string(name) + std::string(rest.substr(colon));
    }
    return std::string(name);
  }
  return std::string(address);
}

}  // namespace

std::optional<std::vector<std::string>> parseNodesHttp(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::object nodes;
  if (parser.parse(body.data(), body.size()).at_key("nodes").get_object().get(nodes) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (auto [id, node] : nodes) {
    std::string_view address;
    if (node["http"]["publish_address"].get_string().get(address) != simdjson::SUCCESS || address.empty()) continue;
    out.push_back(hostPortOf(address));
  }
  return out;
}

EsNodes::EsNodes(const EsConfig& config, const EsHostList& configured, const net::TlsOptions& tls,
                 const SourceLogger& log)
    : cfg_(config), configured_(configured), tls_(tls), log_(log) {
  // Not owned: the output's configured hosts outlive this object.
  current_.store(std::shared_ptr<const EsHostList>(std::shared_ptr<const EsHostList>(), &configured_));
}

Result<std::unique_ptr<EsNodes>> EsNodes::create(const EsConfig& c, const EsHostList& configured,
                                                 const net::TlsOptions& tls, const SourceLogger& log) {
  if (c.reload_after < -1 || c.reload_after == 0) {
    return Status::invalidConfig("reload_after: a number of requests (1 or more), or -1");
  }
  if (!c.reload_connections && !c.reload_on_failure) return nullptr;
  if (c.sniffer_class_name) {
    if (c.sniffer_class_name->find(kSimpleSniffer) != std::string::npos) {
      log.info("sniffer_class_name " + *c.sniffer_class_name + ": the configured hosts are kept, no node discovery");
      return nullptr;
    }
    log.warn("sniffer_class_name " + *c.sniffer_class_name +
             ": sluice loads no Ruby classes; nodes are discovered with GET _nodes/http as the default sniffer does");
  }
  std::unique_ptr<EsNodes> n(new EsNodes(c, configured, tls, log));
  if (c.reload_connections) n->every_ = c.reload_after > 0 ? c.reload_after : kDefaultReloadAfter;
  return n;
}

bool EsNodes::discover() {
  std::unique_lock lock(discover_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  // Ask the nodes of the list first, then the configured ones (the list may be all gone).
  std::shared_ptr<const EsHostList> current = hosts();
  std::vector<const EsHost*> ask;
  for (const auto& h : *current) ask.push_back(h.get());
  for (const auto& h : configured_) {
    bool known = false;
    for (const EsHost* a : ask) known = known || a->base_url == h->base_url;
    if (!known) ask.push_back(h.get());
  }
  net::HttpClient client(tls_);
  net::HttpResponse resp;
  std::string problem = "no node to ask";
  for (const EsHost* host : ask) {
    net::HttpRequest req;
    const std::string url = host->base_url + "/_nodes/http";
    req.url = url;
    if (!host->auth_header.empty()) req.headers.push_back(host->auth_header);
    req.timeout_ms = static_cast<int64_t>(cfg_.request_timeout.seconds * 1000);
    req.connect_timeout_ms = req.timeout_ms;
    client.send(req, resp);
    if (resp.transportFailed()) {
      problem = resp.error;
      continue;
    }
    if (resp.status != 200) {
      problem = "GET /_nodes/http on " + net::redactUrl(host->base_url) + " answered " + std::to_string(resp.status) +
                (resp.status == 403 ? " (the user needs the monitor cluster privilege)" : "");
      continue;
    }
    auto nodes = parseNodesHttp(resp.body);
    if (!nodes || nodes->empty()) {
      problem = "GET /_nodes/http on " + net::redactUrl(host->base_url) + " listed no node with an HTTP address";
      continue;
    }
    // The discovered nodes keep the scheme, path and credentials of the configured hosts (the
    // first one's), as the Ruby client's sniffer does; a node known before keeps its rest.
    const EsHost& like = *configured_.front();
    const std::string& base = like.base_url;
    const size_t scheme_end = base.find("://");
    const std::string scheme = base.substr(0, scheme_end);
    const size_t path_at = base.find('/', scheme_end + 3);
    const std::string path = path_at == std::string::npos ? "" : base.substr(path_at);
    std::map<std::string, int64_t> rested;
    for (const auto& h : *current) rested[h->base_url] = h->rested_until_ns.load(std::memory_order_relaxed);
    auto list = std::make_shared<EsHostList>();
    std::string names;
    for (const std::string& hp : *nodes) {
      auto h = std::make_unique<EsHost>();
      h->base_url = scheme + "://" + hp + path;
      h->auth_header = like.auth_header;
      if (auto r = rested.find(h->base_url); r != rested.end()) h->rested_until_ns.store(r->second);
      names += (names.empty() ? "" : ", ") + net::redactUrl(h->base_url);
      list->push_back(std::move(h));
    }
    bool same = list->size() == current->size();
    for (size_t i = 0; same && i < list->size(); ++i) same = (*list)[i]->base_url == (*current)[i]->base_url;
    if (!same) {
      log_.info("Elasticsearch nodes discovered: " + names);
      current_.store(std::shared_ptr<const EsHostList>(std::move(list)), std::memory_order_release);
    }
    return true;
  }
  log_.warn("Node discovery (GET /_nodes/http) failed, keeping the nodes known: " + problem);
  return false;
}

void EsNodes::countRequest() {
  if (every_ <= 0) return;
  if ((requests_.fetch_add(1, std::memory_order_relaxed) + 1) % every_ == 0) discover();
}

bool EsNodes::allFailed() {
  if (!cfg_.reload_on_failure) return false;
  std::shared_ptr<const EsHostList> before = hosts();
  return discover() && hosts() != before;
}

}  // namespace sluice::plugins::out_elasticsearch
