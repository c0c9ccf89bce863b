// SPDX-License-Identifier: Apache-2.0
#pragma once

// An Elasticsearch stand-in for the tests: a real HTTP server on 127.0.0.1 that answers
// `GET /` like ES 7, ES 8 or OpenSearch 2, and `POST /_bulk` (and `/{index}/_bulk`) the way
// the bulk API does: NDJSON action/source pairs, per-item results with ES's statuses and error
// objects (201 created, 409 version_conflict_engine_exception for a create of an existing _id,
// 400 document_parsing_exception / mapper_parsing_exception for a value that does not fit the
// field's mapping, 429 es_rejected_execution_exception on demand), request-level failures on
// demand, gzip bodies, and basic or ApiKey authentication. As strict as Elasticsearch where
// clients go wrong: the whole request is read and validated before any item is applied and
// refused with 400 for a malformed action line, _type on ES 8 / OpenSearch 2, an _id over 512
// bytes or an unknown URL parameter; bodies over 100 MB get 413; index names follow ES's
// rules; dynamic mapping expands dotted keys into objects, detects dates, and keeps the
// 1,000-field and depth-20 limits; data streams take create only, with @timestamp. The real
// responses in ../shared/fixtures/elasticsearch are its reference. It keeps every document.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <simdjson.h>

#include "support/http_server.h"

namespace sluice::testing {

class ElasticsearchStandIn {
 public:
  enum class Flavor { Es7, Es8, OpenSearch2 };

  struct Document {
    std::string id;
    std::string source;  // the JSON line as received
  };

  explicit ElasticsearchStandIn(Flavor flavor = Flavor::Es8);
  // Stops serving before the members a request in progress uses go.
  ~ElasticsearchStandIn() { http_.stop(); }
  bool start() { return http_.start(); }
  void stop() { http_.stop(); }
  std::string url(std::string_view path = "") const { return http_.url(path); }
  int port() const { return http_.port(); }

  // Authentication: requests without these credentials get 401 security_exception.
  void requireBasicAuth(std::string user, std::string password);
  void requireApiKey(std::string encoded);

  // The next `count` bulk requests are answered with `status` and ES's error body for it
  // (429 rejected_execution_exception, 500/503, 413 with an empty body), `retry_after_s` >= 0
  // adds a Retry-After header.
  void failNextBulks(int count, int status, int retry_after_s = -1);
  // Items whose source line contains `marker` are answered 429 es_rejected_execution_exception
  // (or `status`, e.g. 503 unavailable_shards_exception) `times` times each, then indexed.
  void rejectItemsContaining(std::string marker, int times, int status = 429);
  // Bulk requests larger than this are answered 413 (default 100 MB, ES's
  // http.max_content_length; 0: no limit).
  void setMaxRequestBytes(size_t bytes);
  // `name` is a data stream: create only, @timestamp required.
  void addDataStream(std::string name);

  // Random faults, drawn from a seeded generator: a share of items answered 429
  // es_rejected_execution_exception or 400 mapper_parsing_exception, a share of whole requests
  // answered 503 or 429, a share of requests processed and then cut off without an answer
  // (the client cannot tell what was stored), and a delay before every bulk answer.
  struct Faults {
    double item_429 = 0;
    double item_400 = 0;
    double request_503 = 0;
    double request_429 = 0;
    double cut_after_processing = 0;
    int delay_ms = 0;
    uint64_t seed = 1;
  };
  void setFaults(const Faults& faults);
  // Fast mode, for benchmarks: action lines are validated and items answered as usual, but
  // documents are only counted (documentCount()), not kept or mapped.
  void setFastMode(bool fast);

  // The cluster-administration APIs an output calls at start (elasticsearch_admin.cc): legacy
  // index templates (_template), composable ones (_index_template), ILM policies
  // (_ilm/policy, not on OpenSearch), data streams (_data_stream; also created by a bulk
  // create into a name a data-stream template matches), index creation with aliases (date
  // math names such as <logs-{now/d}-000001>), aliases (_alias; a bulk item for an alias goes
  // to its write index) and GET _nodes/http. Bodies as stored (the JSON received).
  std::optional<std::string> legacyTemplate(const std::string& name) const;
  std::optional<std::string> indexTemplate(const std::string& name) const;
  std::optional<std::string> ilmPolicy(const std::string& id) const;
  bool hasDataStream(const std::string& name) const;
  std::optional<std::string> writeIndexOf(const std::string& alias) const;
  // PUTs that changed something: templates, policies, data streams, indices.
  int adminWrites() const;
  // Requests to the admin APIs (GET, HEAD and PUT).
  int adminRequests() const;
  // The next `count` admin requests are answered `status` (429, 5xx: es_rejected_execution_exception
  // or unavailable_shards_exception bodies; 403: security_exception).
  void failNextAdmin(int count, int status);
  // The nodes GET _nodes/http lists, each as its http.publish_address ("127.0.0.1:9200",
  // "es-0.es/10.0.0.5:9200" when publish_host is a name, "[::1]:9200"); default: this stand-in.
  void setNodes(std::vector<std::string> publish_addresses);
  int nodesRequests() const;

  // What it holds.
  std::vector<Document> documents(const std::string& index) const;
  std::vector<std::string> indices() const;
  size_t documentCount() const;
  int bulkRequests() const;
  uint64_t bulkBytes() const;  // request bodies received, as sent (compressed or not)
  int infoRequests() const;
  int conflicts() const;  // creates answered 409
  std::vector<std::string> requestHeaders(const std::string& name) const;  // of bulk requests

 private:
  struct Index {
    std::map<std::string, size_t> by_id;   // _id -> position in docs
    std::map<std::string, char> field_types;  // dotted field path -> 'n'umber, 's'tring, 'o'bject...
    std::vector<Document> docs;
    int64_t seq_no = 0;
    size_t field_count = 0;  // mapped fields, as index.mapping.total_fields.limit counts them
  };

  static std::string jsonString(std::string_view s);
  static std::string errorBody(std::string_view type, std::string_view reason, int status);

  void registerAdmin();
  // Counts an admin request and answers an injected failure or 401; false when answered.
  bool adminGate(const httplib::Request& req, httplib::Response& res);
  // The index an item for `name` goes to: an alias's write index, a data stream created on
  // first use when a data-stream template matches; `name` otherwise. REQUIRES: mu_ held.
  std::string writeTarget(std::string_view name);
  // The composable template with a data_stream whose pattern matches `name` (highest priority).
  const std::string* dataStreamTemplateFor(std::string_view name) const;
  void handleInfo(const httplib::Request& req, httplib::Response& res);
  void handleBulk(const httplib::Request& req, httplib::Response& res, const std::string& path_index);
  bool authorized(const httplib::Request& req, httplib::Response& res);
  // One item: appends its result object to `items`; returns false when it failed.
  bool applyItem(std::string_view action, std::string_view meta_index, std::string id,
                 std::string_view source, std::string& items);
  bool chance(double p) { return p > 0 && std::uniform_real_distribution<>(0, 1)(rng_) < p; }

  Flavor flavor_;
  HttpServer http_;
  mutable std::mutex mu_;
  std::map<std::string, Index> indices_;
  std::string basic_auth_, api_key_;
  int fail_count_ = 0, fail_status_ = 0, fail_retry_after_ = -1;
  std::string reject_marker_;
  int reject_times_ = 0;
  int reject_status_ = 429;
  std::map<std::string, int> rejected_;  // source line -> times rejected so far
  size_t max_request_bytes_ = 100 << 20;
  std::set<std::string> data_streams_;
  std::map<std::string, std::string> legacy_templates_, index_templates_, ilm_policies_;
  std::map<std::string, std::string> aliases_;  // alias -> write index
  std::vector<std::string> nodes_;
  int admin_writes_ = 0, admin_requests_ = 0, nodes_requests_ = 0;
  int admin_fail_count_ = 0, admin_fail_status_ = 0;
  Faults faults_;
  std::mt19937_64 rng_{1};
  bool fast_ = false;
  size_t fast_count_ = 0;
  int bulk_requests_ = 0, info_requests_ = 0, conflicts_ = 0;
  uint64_t bulk_bytes_ = 0;
  uint64_t next_auto_id_ = 0;
  std::vector<httplib::Headers> bulk_headers_;
  simdjson::dom::parser action_parser_, source_parser_;  // reused: requests are served under mu_
};

}  // namespace sluice::testing
