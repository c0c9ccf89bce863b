// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "net/http_client.h"
#include "net/net_options.h"

namespace sluice::plugins::out_elasticsearch {

// The enums of the table, with Fluentd's spellings; bound at config time (enumMember), so nothing
// compares a config string while running.
enum class Scheme { Http, Https };
inline constexpr Choice<Scheme> kSchemes[] = {{"http", Scheme::Http}, {"https", Scheme::Https}};
enum class WriteOperation { Index, Create, Update, Upsert };
inline constexpr Choice<WriteOperation> kWriteOperations[] = {{"index", WriteOperation::Index},
                                                              {"create", WriteOperation::Create},
                                                              {"update", WriteOperation::Update},
                                                              {"upsert", WriteOperation::Upsert}};
// The value is the gzip level (zlib's Z_BEST_SPEED 1, Z_DEFAULT_COMPRESSION as 6,
// Z_BEST_COMPRESSION 9); -1: not compressed.
enum class CompressionLevel { None = -1, BestSpeed = 1, Default = 6, Best = 9 };
inline constexpr Choice<CompressionLevel> kCompressionLevels[] = {{"no_compression", CompressionLevel::None},
                                                                  {"best_speed", CompressionLevel::BestSpeed},
                                                                  {"default_compression", CompressionLevel::Default},
                                                                  {"best_compression", CompressionLevel::Best}};

// The TLS options come from the shared group (net/net_options.h), spelled as Fluentd's
// elasticsearch plugin does: ssl_verify, ca_file, client_cert, client_key.
struct EsConfig : net::TlsConfig {
  std::string host;
  int64_t port = 9200;
  std::optional<std::string> hosts;
  Scheme scheme = Scheme::Http;
  std::optional<std::string> path;
  std::optional<std::string> user;
  std::optional<std::string> password;
  std::optional<std::string> api_key;
  std::string index_name;
  bool logstash_format = false;
  std::string logstash_prefix;
  std::string logstash_prefix_separator;
  std::string logstash_dateformat;
  bool utc_index = true;
  std::optional<std::string> time_key;
  bool time_key_exclude_timestamp = false;
  bool include_timestamp = false;
  bool include_tag_key = false;
  std::string tag_key;
  std::optional<std::string> id_key;
  StringList remove_keys;
  WriteOperation write_operation = WriteOperation::Create;
  bool deterministic_id = true;
  std::optional<std::string> pipeline;
  bool suppress_type_name = false;
  CompressionLevel compression_level = CompressionLevel::None;
  Duration request_timeout;
  SizeLimit bulk_message_request_threshold;
  bool verify_es_version_at_startup = true;
  int64_t default_elasticsearch_version = 5;
  StringList unrecoverable_error_types;
  bool log_es_400_reason = false;
  bool reconnect_on_error = false;
  std::optional<std::string> data_stream_name;
  Duration host_rest_interval;
  int64_t max_requests_in_flight = 0;
  std::optional<std::string> type_name;  // accepted, ignored
  // Templates, ILM and data streams (es_templates.cc).
  std::optional<std::string> template_name;
  std::optional<std::string> template_file;
  StringMap templates;
  bool template_overwrite = false;
  StringMap customize_template;
  bool use_legacy_template = true;
  int64_t max_retry_putting_template = 10;
  bool fail_on_putting_template_retry_exceed = true;
  bool catch_transport_exception_on_retry = true;
  std::string index_date_pattern;
  std::string index_separator;
  std::string application_name;
  std::optional<std::string> deflector_alias;
  bool rollover_index = false;
  bool enable_ilm = false;
  std::string ilm_policy_id;
  std::optional<std::string> ilm_policy;
  std::optional<std::string> ilm_policies;
  bool ilm_policy_overwrite = false;
  std::optional<std::string> data_stream_template_name;
  std::optional<std::string> data_stream_ilm_name;
  std::optional<std::string> data_stream_ilm_policy;
  bool data_stream_ilm_policy_overwrite = false;
  bool data_stream_template_use_index_patterns_wildcard = true;
  bool data_stream_setup = false;
  // Node discovery, TLS versions (es_nodes.cc).
  bool reload_connections = false;
  bool reload_on_failure = false;
  int64_t reload_after = -1;
  std::optional<std::string> sniffer_class_name;
  std::optional<std::string> ssl_version;  // accepted, ignored
  std::optional<std::string> ssl_min_version;  // accepted, ignored
  std::optional<std::string> ssl_max_version;  // accepted, ignored
  // Per-record targets (es_record_keys.cc).
  std::optional<std::string> target_index_key;
  std::optional<std::string> target_type_key;
  std::optional<std::string> routing_key;
};

// One Elasticsearch node to send to: its base URL (scheme://host:port/path) and credentials.
struct EsHost {
  std::string base_url;
  std::string auth_header;  // "Authorization: …" or empty
  std::atomic<int64_t> rested_until_ns{0};
};

// Parses `hosts` (host:port, scheme://user:password@host:port/path, comma separated) with the
// single-host parameters as defaults. Exposed for tests.
Result<std::vector<std::unique_ptr<EsHost>>> parseHosts(const EsConfig& config);

// Why Elasticsearch would refuse `name` as an index name, or "" when it takes it: the rules of
// MetadataCreateIndexService.validateIndexOrAliasName and validateIndexName (lower case; none of
// \ / * ? " < > | space , # :; not starting with _ - +; not "." or ".."; at most 255 bytes).
// Index names built from tags or record fields are checked with it before a request is sent:
// "." or ".." in a URL path would be resolved away by the HTTP client (`/../_bulk` is `/_bulk`,
// and `/proxy/../_bulk` leaves the path prefix). Exposed for tests.
std::string invalidIndexName(std::string_view name);

// Appends the event (action line and source) with the `"_type":"…"` member cut out of its
// action line, for a cluster that refused _type. Anything else (no _type in the action line, an
// unterminated one) is appended as it is. Exposed for tests.
void appendWithoutType(std::string_view event, std::string& out);

// What GET / says about the cluster.
struct EsVersion {
  int major = 0;  // 0: unknown
  bool opensearch = false;
};
// Reads the version out of a GET / body (ES 7, ES 8, OpenSearch 1/2). Exposed for tests.
std::optional<EsVersion> parseVersion(std::string_view body);

// Sends events to Elasticsearch (or OpenSearch) with the bulk API. format() writes the action
// and source lines of each event into the chunk; write() sends the chunk as one or more _bulk
// requests and sorts the per-item results: delivered (2xx, and 409 on create: the document is
// already there), rejected for now (429, 5xx: sent again together within the write, then
// retried alone by the buffer), refused for a dotted-key mapping conflict (sent again with
// the dots replaced), failed for good with ES's reason (400-class and
// unrecoverable_error_types). A request refused whole with 400 is split until the bad document
// is alone; _ids over 512 bytes fail before sending; a 400 naming _type re-learns the version. Documents get a deterministic _id from where the event was read
// (or what it holds), so a re-read or a resent request never makes a second copy.
// Threads: create() and start() run on the engine's thread; format() on the inputs' threads
// (es_format.cc, one batch at a time under format_mu_); write() on the buffer's flush threads,
// several at once (es_bulk_request.cc), sharing the client pool and the in-flight slots.
class EsTemplates;
class EsNodes;
class RecordKeys;

class EsOutput final : public Output {
 public:
  static Result<std::unique_ptr<EsOutput>> create(const EsConfig& config, PluginContext& ctx);
  ~EsOutput() override;

  // sluice::Plugin
  Status start() override;
  // sluice::Output
  void format(const Batch& batch, FormattedEvents& out) override;
  WriteResult write(const ChunkView& chunk) override;

  // The nodes requests go to: the configured hosts, or those discovery found (es_nodes.h).
  // Any thread.
  std::shared_ptr<const std::vector<std::unique_ptr<EsHost>>> currentHosts() const;

  // For tests: the version start() settled on, the current in-flight limit.
  EsVersion version() const { return version_; }
  int inFlightLimit();

 private:
  EsOutput(const EsConfig& config, PluginContext& ctx);
  class Request;
  struct Lease;
  // What a write() reuses from the writes before it: the answers' buffers and parsers, the
  // per-event vectors (es_bulk_request.cc). One per write in flight, from a pool.
  struct WriteScratch;
  struct WriteScratchDelete {
    void operator()(WriteScratch* scratch) const;
  };
  using WriteScratchPtr = std::unique_ptr<WriteScratch, WriteScratchDelete>;
  WriteScratchPtr takeScratch();
  void giveScratch(WriteScratchPtr scratch);

  // One event's action and source lines into `events` (the pod metadata as a splice where it
  // takes them).
  void formatOne(const Event& event, FormattedEvents& events);
  void appendIndex(int64_t time_ns, std::string& out);
  void appendTimestamp(int64_t time_ns, std::string& out);
  uint64_t acquireSlot();  // returns the cut epoch the request starts in
  void releaseSlot(bool throttled, uint64_t epoch);
  std::optional<EsVersion> askVersion(std::string& problem);
  // After a 400 naming _type: asks the version again; true when _type is to be left out.
  bool redetectVersion();

  const EsConfig cfg_;
  const SourceLogger log_;
  std::vector<std::unique_ptr<EsHost>> hosts_;
  EsVersion version_;
  std::string type_name_;  // "_doc"/"fluentd" for ES < 8 without suppress_type_name, else ""
  std::atomic<bool> drop_type_{false};  // the cluster refused _type: leave it out (format and write)
  std::mutex version_mu_;
  std::atomic<bool> repair_warned_{false};
  std::string action_;     // the bulk action: upsert is an update with doc_as_upsert
  bool update_ = false;    // update or upsert: the source goes under "doc"
  bool upsert_ = false;
  bool index_by_day_ = false;  // logstash index names change once a (UTC) day at most
  bool dynamic_index_ = false;  // index_name has chunk-key placeholders: sent in the URL
  std::string static_index_;    // lower-cased index_name or data_stream_name
  int gzip_level_ = -1;         // -1: no compression
  int64_t threshold_ = 0;       // bulk request split size, 0: none
  std::atomic<uint64_t> next_host_{0};

  // format() runs on input threads, one batch at a time per thread; the caches below are
  // guarded by format_mu_ (taken once per batch).
  std::mutex format_mu_;
  int64_t index_key_ = INT64_MIN;  // the day (or second) the cached index name is for
  std::string index_cache_;
  int64_t ts_second_ = INT64_MIN;  // the second the cached @timestamp prefix is for
  std::string ts_cache_;

  net::HttpClientPool clients_;  // the flush threads' connections
  std::mutex scratch_mu_;
  std::vector<WriteScratchPtr> scratch_;  // idle, guarded by scratch_mu_

  // Requests in flight, lowered on 429 (halved) and raised by one per clean response.
  std::mutex slots_mu_;
  std::condition_variable slots_cv_;
  int slots_limit_ = 1;   // guarded by slots_mu_
  int slots_max_ = 1;
  int slots_used_ = 0;    // guarded by slots_mu_
  uint64_t slots_epoch_ = 0;  // bumped at each cut, guarded by slots_mu_

  Counter* requests_;
  Counter* request_errors_;
  Counter* duplicates_;
  Counter* throttled_;
  Counter* failovers_;
  Counter* bisections_;
  Counter* repaired_;
  Counter* item_resends_;
  PluginMetrics metrics_;  // a copy: per-reason counters are made on first use
  std::unique_ptr<EsTemplates> templates_;  // what start() installs (es_templates.h), or null
  std::unique_ptr<EsNodes> nodes_;          // node discovery (es_nodes.h), or null
  std::unique_ptr<RecordKeys> record_keys_;  // target_index_key, routing_key... (es_record_keys.h), or null
  Arena format_scratch_;  // records edited by record_keys_, reset per batch; guarded by format_mu_
  std::string target_index_;  // scratch for record_keys_, guarded by format_mu_
};

const PluginDescriptor& descriptor();
// fluent-plugin-elasticsearch's elasticsearch_data_stream type: this output with
// data_stream_name required and data_stream_setup true (plugins/out_elasticsearch_data_stream).
const PluginDescriptor& dataStreamDescriptor();

}  // namespace sluice::plugins::out_elasticsearch
