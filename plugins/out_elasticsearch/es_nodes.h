// SPDX-License-Identifier: Apache-2.0
#pragma once

// Node discovery for the Elasticsearch output (reload_connections, reload_on_failure,
// reload_after, sniffer_class_name), as the Elasticsearch Ruby client that
// fluent-plugin-elasticsearch uses does it: GET _nodes/http on a node already known, and the
// http.publish_address of every node becomes the list requests go to, with the scheme, path
// and credentials of the configured hosts. Discovery runs at start, after every reload_after
// requests, and (reload_on_failure) when no node of the list can be reached.
// Thread-safe: hosts() is read by the flush threads (one atomic load per request); a discovery
// runs on one thread at a time (others skip it) and swaps the list whole.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "net/http_client.h"
#include "plugins/out_elasticsearch/es_output.h"

namespace sluice::plugins::out_elasticsearch {

// The parameters of discovery and of the TLS version (appended to the output's table).
inline constexpr size_t kConnectionParamCount = 7;
extern const std::array<Param<EsConfig>, kConnectionParamCount> kConnectionParams;

using EsHostList = std::vector<std::unique_ptr<EsHost>>;

// The publish addresses in a GET _nodes/http answer, as host:port ("10.0.0.5:9200",
// "[::1]:9200"; of "es-0.es/10.0.0.5:9200" the host name part, as the Ruby client takes it).
// Nodes without an http section (not serving HTTP) are left out. nullopt: not such an answer.
std::optional<std::vector<std::string>> parseNodesHttp(std::string_view body);

class EsNodes {
 public:
  // nullptr when discovery is off (reload_connections and reload_on_failure false, or the
  // Fluentd plugin's ElasticsearchSimpleSniffer, which keeps the configured hosts).
  // REQUIRES: `configured` and `config` outlive the object (the output's members).
  static Result<std::unique_ptr<EsNodes>> create(const EsConfig& config, const EsHostList& configured,
                                                 const net::TlsOptions& tls, const SourceLogger& log);

  // The nodes requests go to now.
  std::shared_ptr<const EsHostList> hosts() const { return current_.load(std::memory_order_acquire); }

  // Asks a known node for the cluster's nodes and makes them the list; false when no node
  // answered with a usable list (the list is kept). Skipped (false) while another runs.
  bool discover();
  // Called once per request sent; discovers after every reload_after requests.
  void countRequest();
  // Called when no node of the list could be reached; true when a discovery (reload_on_failure)
  // changed the list, so the request may be tried once more.
  bool allFailed();

 private:
  EsNodes(const EsConfig& config, const EsHostList& configured, const net::TlsOptions& tls, const SourceLogger& log);

  const EsConfig& cfg_;
  const EsHostList& configured_;
  const net::TlsOptions tls_;
  const SourceLogger log_;
  int64_t every_ = 0;  // requests between discoveries, 0: only at start and on failure
  std::atomic<int64_t> requests_{0};
  std::atomic<std::shared_ptr<const EsHostList>> current_;
  std::mutex discover_mu_;  // one discovery at a time
};

}  // namespace sluice::plugins::out_elasticsearch
