// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_elasticsearch/es_output.h"

#include <simdjson.h>
#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>
#include <unordered_map>

#include "codec/codec.h"
#include "plugins/out_elasticsearch/bulk_answer.h"

namespace sluice::plugins::out_elasticsearch {
namespace {

using C = EsConfig;

const std::array<Param<C>, 41> kParams = {{
    {"host", &C::host, "localhost", "Elasticsearch host (ignored when hosts is set)."},
    {"port", &C::port, "9200", "Elasticsearch port."},
    {"hosts", &C::hosts, nullptr, "Several nodes, comma separated: host:port or scheme://user:password@host:port/path. Requests go round-robin; a node that cannot be reached is rested for host_rest_interval."},
    {"scheme", &C::scheme, "http", "http or https.", "http|https"},
    {"path", &C::path, nullptr, "URL path prefix (Elasticsearch behind a proxy)."},
    {"user", &C::user, nullptr, "Basic-auth user."},
    {"password", &C::password, nullptr, "Basic-auth password.", {}, kSecret},
    {"api_key", &C::api_key, nullptr, "API key, sent as `Authorization: ApiKey <value>` (the base64 of id:key).", {}, kSecret},
    {"ssl_verify", &C::ssl_verify, "true", "Verify the server's certificate and host name."},
    {"ca_file", &C::ca_file, nullptr, "CA certificates (PEM) to verify the server with; default the system's."},
    {"client_cert", &C::client_cert, nullptr, "Client certificate (PEM) for mutual TLS."},
    {"client_key", &C::client_key, nullptr, "Client key (PEM) for mutual TLS.", {}, kSecret},
    {"index_name", &C::index_name, "fluentd", "Index to write to (lower-cased). Chunk-key placeholders (${tag}, ${$.a.b}, %Y.%m.%d with a time key) are expanded per chunk and sent in the request URL."},
    {"logstash_format", &C::logstash_format, "false", "Write to <logstash_prefix><separator><date of the event> and add @timestamp."},
    {"logstash_prefix", &C::logstash_prefix, "logstash", "Index prefix with logstash_format."},
    {"logstash_prefix_separator", &C::logstash_prefix_separator, "-", "Between prefix and date."},
    {"logstash_dateformat", &C::logstash_dateformat, "%Y.%m.%d", "strftime format of the index date."},
    {"utc_index", &C::utc_index, "true", "Index dates (and @timestamp) in UTC rather than local time."},
    {"time_key", &C::time_key, nullptr, "Record field holding the event's time for the index date and @timestamp."},
    {"time_key_exclude_timestamp", &C::time_key_exclude_timestamp, "false", "With time_key: do not add @timestamp."},
    {"include_timestamp", &C::include_timestamp, "false", "Add @timestamp without logstash_format."},
    {"include_tag_key", &C::include_tag_key, "false", "Add the tag to each document under tag_key."},
    {"tag_key", &C::tag_key, "tag", "Field for include_tag_key."},
    {"id_key", &C::id_key, nullptr, "Record field used as the document _id (instead of the deterministic id)."},
    {"remove_keys", &C::remove_keys, nullptr, "Record fields left out of the document (e.g. the id_key field)."},
    {"write_operation", &C::write_operation, "create", "Bulk action. create (default; Fluentd's is index) never overwrites and, with deterministic ids, never duplicates.", "index|create|update|upsert"},
    {"deterministic_id", &C::deterministic_id, "true", "Give each document an _id derived from where the event was read (file, offset) or, when unknown, from its tag, time and content; false lets Elasticsearch pick ids (a retried request can then store a second copy)."},
    {"pipeline", &C::pipeline, nullptr, "Ingest pipeline (the `pipeline` URL parameter)."},
    {"suppress_type_name", &C::suppress_type_name, "false", "Do not send _type to Elasticsearch 7 (8 and OpenSearch 2 never get it)."},
    {"compression_level", &C::compression_level, "no_compression", "gzip the request bodies.", "no_compression|best_speed|default_compression|best_compression"},
    {"request_timeout", &C::request_timeout, "5s", "Timeout of one request."},
    {"bulk_message_request_threshold", &C::bulk_message_request_threshold, "20MB", "A chunk larger than this is sent in several requests; -1: never split."},
    {"verify_es_version_at_startup", &C::verify_es_version_at_startup, "true", "Ask GET / for the version at start (decides _type); when the cluster cannot be reached the output starts anyway, without _type."},
    {"default_elasticsearch_version", &C::default_elasticsearch_version, "5", "Major version assumed when verify_es_version_at_startup is false."},
    {"unrecoverable_error_types", &C::unrecoverable_error_types, "[\"out_of_memory_error\"]", "Item error types failed for good even when their status says retry (Fluentd's default also lists es_rejected_execution_exception; sluice retries those items)."},
    {"log_es_400_reason", &C::log_es_400_reason, "false", "Log each rejected document's reason (it is always in the dead letter and counted per reason)."},
    {"reconnect_on_error", &C::reconnect_on_error, "false", "Drop the connection after any failed request (a transport error always does)."},
    {"data_stream_name", &C::data_stream_name, nullptr, "Write to this data stream (op_type create, @timestamp always added)."},
    {"host_rest_interval", &C::host_rest_interval, "30s", "How long a node that refused or dropped a connection is left out of the rotation."},
    {"max_requests_in_flight", &C::max_requests_in_flight, "0", "Upper bound of concurrent bulk requests (0: the buffer's flush_thread_count). Halved on overload (429, 5xx, timeouts), raised by one per clean response."},
    {"type_name", &C::type_name, nullptr, "Accepted for Fluentd compatibility; the type is _doc on Elasticsearch 7, none on 8.", {}, kIgnored},
}};

constexpr std::string_view kTimestamp = "@timestamp";
constexpr size_t kIdLen = 22;  // base64url of 128 bits

bool dayGranular(std::string_view format) {
  for (size_t i = 0; i + 1 < format.size(); ++i) {
    if (format[i] != '%') continue;
    char c = format[++i];
    if (c != 'Y' && c != 'm' && c != 'd' && c != 'y' && c != 'j' && c != 'F' && c != 'b' && c != 'B' && c != '%') return false;
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Writes the base64url text of 128 bits (22 characters) at `out`.
void writeId(char* out, const XXH128_hash_t& h) {
  static constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // 128 bits = 21 groups of 6 bits and 2 bits left over, most significant first.
  for (int i = 0; i < 21; ++i) {
    int shift = 122 - 6 * i;  // bit position of the group's lowest bit, counted from the low end
    uint64_t group = shift >= 64 ? h.high64 >> (shift - 64)
                                 : (h.low64 >> shift) | (shift > 58 ? h.high64 << (64 - shift) : 0);
    out[i] = kUrl[group & 63];
  }
  out[21] = kUrl[(h.low64 & 3) << 4];
}

// The scalar text of a value for _id (strings as they are, numbers as JSON).
std::string scalarText(const Value& v) {
  if (v.isString()) return std::string(v.asString());
  return toJson(v);
}

}  // namespace

Result<std::vector<std::unique_ptr<EsHost>>> parseHosts(const EsConfig& c) {
  std::vector<std::unique_ptr<EsHost>> out;
  std::vector<std::string> specs;
  if (c.hosts) {
    std::string_view rest = *c.hosts;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view one = rest.substr(0, comma);
      while (!one.empty() && std::isspace(static_cast<unsigned char>(one.front()))) one.remove_prefix(1);
      while (!one.empty() && std::isspace(static_cast<unsigned char>(one.back()))) one.remove_suffix(1);
      if (!one.empty()) specs.emplace_back(one);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    if (specs.empty()) return Status::invalidConfig("hosts: no host given");
  } else {
    specs.push_back(c.host);
  }
  for (const std::string& spec : specs) {
    std::string_view s = spec;
    std::string scheme = c.scheme, user = c.user.value_or(""), password = c.password.value_or("");
    std::string path = c.path.value_or("");
    int64_t port = c.port;
    if (size_t p = s.find("://"); p != std::string_view::npos) {
      scheme = lower(std::string(s.substr(0, p)));
      s.remove_prefix(p + 3);
    }
    if (scheme != "http" && scheme != "https") {
      return Status::invalidConfig("hosts: unknown scheme '" + scheme + "' in '" + net::redactUrl(spec) + "'");
    }
    if (size_t slash = s.find('/'); slash != std::string_view::npos) {
      path = std::string(s.substr(slash));
      s = s.substr(0, slash);
    }
    if (size_t at = s.rfind('@'); at != std::string_view::npos) {
      std::string_view cred = s.substr(0, at);
      size_t colon = cred.find(':');
      user = std::string(cred.substr(0, colon));
      password = colon == std::string_view::npos ? "" : std::string(cred.substr(colon + 1));
      s.remove_prefix(at + 1);
    }
    std::string_view hostpart = s;
    // host:port, [v6]:port
    size_t colon = s.rfind(':');
    if (colon != std::string_view::npos && s.find(']', colon) == std::string_view::npos) {
      auto parsed = config::parseInteger(s.substr(colon + 1));
      if (!parsed || *parsed <= 0 || *parsed > 65535) {
        return Status::invalidConfig("hosts: bad port in '" + net::redactUrl(spec) + "'");
      }
      port = *parsed;
      hostpart = s.substr(0, colon);
    }
    if (hostpart.empty()) return Status::invalidConfig("hosts: empty host name in '" + net::redactUrl(spec) + "'");
    while (path.ends_with('/')) path.pop_back();
    if (!path.empty() && path.front() != '/') path.insert(path.begin(), '/');
    auto h = std::make_unique<EsHost>();
    h->base_url = scheme + "://" + std::string(hostpart) + ":" + std::to_string(port) + path;
    if (c.api_key) {
      h->auth_header = "Authorization: ApiKey " + *c.api_key;
    } else if (!user.empty()) {
      h->auth_header = net::basicAuthHeader(user, password);
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::optional<EsVersion> parseVersion(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) return std::nullopt;
  std::string_view number, distribution;
  if (doc["version"]["number"].get_string().get(number) != simdjson::SUCCESS) return std::nullopt;
  EsVersion v;
  if (doc["version"]["distribution"].get_string().get(distribution) == simdjson::SUCCESS) {
    v.opensearch = distribution == "opensearch";
  }
  auto major = config::parseInteger(number.substr(0, number.find('.')));
  if (!major || *major <= 0) return std::nullopt;
  v.major = static_cast<int>(*major);
  return v;
}

// ---- the output ---------------------------------------------------------------------------

EsOutput::EsOutput(const EsConfig& config, PluginContext& ctx)
    : cfg_(config),
      log_(ctx.log()),
      requests_(&ctx.metrics().pluginCounter("bulk_requests_total", "Bulk requests sent.")),
      request_errors_(&ctx.metrics().pluginCounter("bulk_request_errors_total",
                                                   "Bulk requests that failed as a whole (transport error or non-200).")),
      duplicates_(&ctx.metrics().pluginCounter("duplicates_total",
                                               "Documents answered 409 on create: already stored, counted as delivered.")),
      throttled_(&ctx.metrics().pluginCounter("throttled_total",
                                              "Overload answers (429 or 5xx requests, timeouts, a third of items rejected): the in-flight limit was lowered.")),
      failovers_(&ctx.metrics().pluginCounter("failovers_total",
                                              "Requests moved to another node after a connection error.")),
      bisections_(&ctx.metrics().pluginCounter("bisections_total",
                                               "Requests refused whole with 400, sent again in halves to find the bad document.")),
      repaired_(&ctx.metrics().pluginCounter("repaired_total",
                                             "Documents refused for a dotted-key mapping conflict, sent again with the dots replaced.")),
      item_resends_(&ctx.metrics().pluginCounter("item_resends_total",
                                                 "Requests resending items rejected with 429/5xx within the same write.")),

      metrics_(ctx.metrics()) {}

EsOutput::~EsOutput() = default;

Result<std::unique_ptr<EsOutput>> EsOutput::create(const EsConfig& config, PluginContext& ctx) {
  std::unique_ptr<EsOutput> out(new EsOutput(config, ctx));
  auto hosts = parseHosts(config);
  if (!hosts) return hosts.takeStatus();
  out->hosts_ = std::move(*hosts);
  out->tls_ = net::TlsOptions{config.ssl_verify, config.ca_file.value_or(""), config.client_cert.value_or(""),
                              config.client_key.value_or("")};
  if (config.client_cert.has_value() != config.client_key.has_value()) {
    return Status::invalidConfig("client_cert and client_key go together");
  }
  out->update_ = config.write_operation == "update" || config.write_operation == "upsert";
  out->upsert_ = config.write_operation == "upsert";
  out->action_ = out->upsert_ ? "update" : config.write_operation;
  out->index_by_day_ = config.utc_index && dayGranular(config.logstash_dateformat);
  if (config.data_stream_name) {
    if (config.write_operation != "create") {
      return Status::invalidConfig("data_stream_name: data streams only take write_operation create");
    }
    out->static_index_ = lower(*config.data_stream_name);
  } else if (!config.logstash_format) {
    out->dynamic_index_ = config.index_name.find("${") != std::string::npos ||
                          config.index_name.find('%') != std::string::npos;
    if (!out->dynamic_index_) out->static_index_ = lower(config.index_name);
  }
  if ((config.write_operation == "update" || config.write_operation == "upsert") && !config.id_key &&
      !config.deterministic_id) {
    return Status::invalidConfig("write_operation " + config.write_operation + " needs id_key or deterministic_id");
  }
  const std::string& level = config.compression_level;
  out->gzip_level_ = level == "best_speed" ? 1 : level == "best_compression" ? 9 : level == "default_compression" ? 6 : -1;
  if (config.bulk_message_request_threshold != "-1") {
    auto size = config::parseSize(config.bulk_message_request_threshold);
    if (!size) return Status::invalidConfig("bulk_message_request_threshold: " + size.status().message());
    out->threshold_ = static_cast<int64_t>(*size);
  }
  int threads = 1;
  for (const config::Element* b : ctx.element().children("buffer")) {
    if (auto n = b->get("flush_thread_count")) {
      if (auto parsed = config::parseInteger(*n); parsed && *parsed > 0) threads = static_cast<int>(*parsed);
    }
  }
  out->slots_max_ = config.max_requests_in_flight > 0 ? static_cast<int>(config.max_requests_in_flight) : threads;
  out->slots_limit_ = out->slots_max_;
  if (!config.verify_es_version_at_startup) {
    out->version_.major = static_cast<int>(config.default_elasticsearch_version);
  }
  return out;
}

std::optional<EsVersion> EsOutput::askVersion(std::string& problem) {
  net::HttpClient client(tls_);
  net::HttpResponse resp;
  for (const auto& host : hosts_) {
    net::HttpRequest req;
    const std::string url = host->base_url + "/";
    req.url = url;
    if (!host->auth_header.empty()) req.headers.push_back(host->auth_header);
    req.timeout_ms = static_cast<int64_t>(cfg_.request_timeout.seconds * 1000);
    req.connect_timeout_ms = req.timeout_ms;
    client.send(req, resp);
    if (resp.status == 200) {
      if (auto v = parseVersion(resp.body)) return v;
      problem = "GET / on " + net::redactUrl(host->base_url) + " gave no version.number";
    } else if (resp.transportFailed()) {
      problem = resp.error;
    } else {
      problem = "GET / on " + net::redactUrl(host->base_url) + " answered " + std::to_string(resp.status) +
                (resp.status == 401 ? " (check user/password or api_key)" : resp.status == 403 ? " (the credentials lack the monitor privilege)" : "");
    }
  }
  return std::nullopt;
}

// OpenSearch 1 speaks the Elasticsearch 7 API; OpenSearch 2 has no types.
static int esMajor(const EsVersion& v) { return v.opensearch ? (v.major >= 2 ? 8 : 7) : v.major; }

Status EsOutput::start() {
  if (cfg_.verify_es_version_at_startup) {
    std::string problem;
    if (auto v = askVersion(problem)) version_ = *v;
    if (version_.major == 0) {
      log_.warn("Cannot learn the Elasticsearch version (" + problem + "); starting anyway, documents are sent without _type");
    } else {
      log_.info(std::string(version_.opensearch ? "OpenSearch " : "Elasticsearch ") + std::to_string(version_.major) + ".x at " +
                net::redactUrl(hosts_.front()->base_url));
    }
  }
  int es_major = esMajor(version_);
  if (!cfg_.suppress_type_name && es_major > 0 && es_major < 8 && !cfg_.data_stream_name) {
    type_name_ = es_major == 7 ? "_doc" : "fluentd";
  }
  return Status::ok();
}

bool EsOutput::redetectVersion() {
  std::lock_guard lock(version_mu_);
  if (drop_type_.load()) return true;
  std::string problem;
  auto v = askVersion(problem);
  if (!v) {
    log_.warn("Elasticsearch refused _type in the bulk action lines and its version cannot be learned (" + problem + ")");
    return false;
  }
  if (esMajor(*v) < 8) return false;
  drop_type_.store(true);
  log_.warn(std::string("Elasticsearch refused _type: the cluster is ") + (v->opensearch ? "OpenSearch " : "Elasticsearch ") +
            std::to_string(v->major) + ".x, not " + std::to_string(version_.major) +
            ".x as assumed (default_elasticsearch_version); documents are sent without _type from now on");
  return true;
}

// ---- format -------------------------------------------------------------------------------

void EsOutput::appendIndex(int64_t time_ns, std::string& out) {
  if (!cfg_.logstash_format) {
    out += static_index_;
    return;
  }
  const bool by_day = index_by_day_;
  int64_t seconds = time_ns >= 0 ? time_ns / kNanosPerSecond : (time_ns - kNanosPerSecond + 1) / kNanosPerSecond;
  int64_t key = by_day ? (seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400) : seconds;
  if (key != index_key_) {
    index_key_ = key;
    index_cache_ = cfg_.logstash_prefix + cfg_.logstash_prefix_separator;
    formatTime(index_cache_, time_ns, cfg_.logstash_dateformat, cfg_.utc_index);
    index_cache_ = lower(index_cache_);
  }
  out += index_cache_;
}

// ISO 8601 with nanoseconds, as the Fluentd plugin writes it (Time#iso8601(9)).
void EsOutput::appendTimestamp(int64_t time_ns, std::string& out) {
  int64_t seconds = time_ns >= 0 ? time_ns / kNanosPerSecond : (time_ns - kNanosPerSecond + 1) / kNanosPerSecond;
  if (seconds != ts_second_) {
    ts_second_ = seconds;
    ts_cache_.clear();
    formatTime(ts_cache_, seconds * kNanosPerSecond, "%Y-%m-%dT%H:%M:%S.", cfg_.utc_index);
  }
  out += ts_cache_;
  char digits[9];
  auto frac = static_cast<uint32_t>(time_ns - seconds * kNanosPerSecond);
  for (int i = 8; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  out.append(digits, 9);
  if (cfg_.utc_index) {
    out += "+00:00";
  } else {
    formatTime(out, time_ns, "%:z", false);
  }
}

void EsOutput::format(const Batch& batch, FormattedEvents& out) {
  std::lock_guard lock(format_mu_);
  for (const Event& e : batch.events()) {
    formatOne(e, out.bytes);
    out.endEvent();
  }
}

void EsOutput::formatOne(const Event& event, std::string& out) {
  const Value& record = event.record;
  // The event's time for the index date and @timestamp: time_key's field, an existing
  // @timestamp, or the event time.
  int64_t time_ns = event.time_ns;
  const Value* time_field = nullptr;
  if (cfg_.time_key) {
    time_field = record.find(*cfg_.time_key);
  } else if (cfg_.logstash_format || cfg_.include_timestamp || cfg_.data_stream_name) {
    time_field = record.find(kTimestamp);
  }
  if (time_field != nullptr) {
    if (time_field->isString()) {
      static const TimeParser kIso("", true);
      if (auto t = kIso.parse(time_field->asString())) time_ns = *t;
    } else if (time_field->isNumber()) {
      time_ns = static_cast<int64_t>(time_field->asDouble() * 1e9);
    }
  }
  const Value* id_value = cfg_.id_key ? record.find(*cfg_.id_key) : nullptr;

  // Action line; the deterministic _id is written once the source is known.
  out += "{\"";
  out += action_;
  out += "\":{";
  bool comma = false;
  if (!dynamic_index_) {
    out += "\"_index\":\"";
    appendIndex(time_ns, out);
    out += '"';
    comma = true;
  }
  if (!type_name_.empty() && !drop_type_.load(std::memory_order_relaxed)) {
    if (comma) out += ',';
    out += "\"_type\":\"";
    out += type_name_;
    out += '"';
    comma = true;
  }
  size_t id_at = std::string::npos;
  if (id_value != nullptr && !id_value->isNull()) {
    if (comma) out += ',';
    out += "\"_id\":";
    appendJsonString(out, scalarText(*id_value));
  } else if (cfg_.deterministic_id) {
    if (comma) out += ',';
    out += "\"_id\":\"";
    id_at = out.size();
    out.append(kIdLen, '_');
    out += '"';
  }
  out += "}}\n";

  // Source line.
  const size_t source_at = out.size();
  if (update_) out += "{\"doc\":";
  out += '{';
  bool has_timestamp = false;
  bool first = appendJsonMembers(out, record, [&](std::string_view key) {
    if (!cfg_.remove_keys.empty() &&
        std::find(cfg_.remove_keys.begin(), cfg_.remove_keys.end(), key) != cfg_.remove_keys.end()) {
      return true;
    }
    if (key == kTimestamp) has_timestamp = true;
    return false;
  });
  if (cfg_.include_tag_key) {
    if (!first) out += ',';
    first = false;
    appendJsonString(out, cfg_.tag_key);
    out += ':';
    appendJsonString(out, event.tag);
  }
  if ((cfg_.logstash_format || cfg_.include_timestamp || cfg_.data_stream_name) && !has_timestamp &&
      !(cfg_.time_key && cfg_.time_key_exclude_timestamp)) {
    if (!first) out += ',';
    out += "\"@timestamp\":";
    if (time_field != nullptr && cfg_.time_key) {
      appendJson(out, *time_field);
    } else {
      out += '"';
      appendTimestamp(time_ns, out);
      out += '"';
    }
  }
  out += '}';
  if (upsert_) out += ",\"doc_as_upsert\":true";
  if (update_) out += '}';
  out += '\n';

  if (id_at != std::string::npos) {
    // Where the event came from when the input knows (a file's identity and line offset,
    // stable across re-reads), else what it is; the tag and time in either case.
    XXH3_state_t state;
    XXH3_128bits_reset(&state);
    XXH3_128bits_update(&state, event.tag.data(), event.tag.size());
    XXH3_128bits_update(&state, &event.time_ns, sizeof(event.time_ns));
    if (event.origin != 0) {
      XXH3_128bits_update(&state, &event.origin, sizeof(event.origin));
    } else {
      XXH3_128bits_update(&state, out.data() + source_at, out.size() - source_at);
    }
    writeId(out.data() + id_at, XXH3_128bits_digest(&state));
  }
}

// ---- write --------------------------------------------------------------------------------

std::unique_ptr<net::HttpClient> EsOutput::takeClient() {
  {
    std::lock_guard lock(clients_mu_);
    if (!clients_.empty()) {
      auto c = std::move(clients_.back());
      clients_.pop_back();
      return c;
    }
  }
  return std::make_unique<net::HttpClient>(tls_);
}

void EsOutput::returnClient(std::unique_ptr<net::HttpClient> client, bool reset) {
  if (reset) return;  // a new connection next time
  std::lock_guard lock(clients_mu_);
  clients_.push_back(std::move(client));
}

uint64_t EsOutput::acquireSlot() {
  std::unique_lock lock(slots_mu_);
  slots_cv_.wait(lock, [&] { return slots_used_ < slots_limit_; });
  ++slots_used_;
  return slots_epoch_;
}

void EsOutput::releaseSlot(bool throttled, uint64_t epoch) {
  std::lock_guard lock(slots_mu_);
  --slots_used_;
  if (throttled) {
    // Halved once per round of requests (those sent since the last cut), as TCP does once per
    // window: requests in flight together report the same overload. Never below one.
    if (epoch == slots_epoch_) {
      slots_limit_ = std::max(1, slots_limit_ / 2);
      ++slots_epoch_;
    }
  } else if (slots_limit_ < slots_max_) {
    ++slots_limit_;
  }
  slots_cv_.notify_all();
}

int EsOutput::inFlightLimit() {
  std::lock_guard lock(slots_mu_);
  return slots_limit_;
}

// One chunk's trip to the cluster. Events go in requests of at most the threshold; a request
// refused as a whole is split (413: too large; 400: one bad document sinks the request, so the
// halves are sent apart until the culprit is alone); items rejected for a while (429, 5xx) are
// sent again together after a short pause, a few times, before the rest goes back to the
// buffer; items refused for a mapping conflict from dotted keys are sent again with the dots in
// their keys replaced. Each event's outcome ends up in a WriteResult.
class EsOutput::Request {
 public:
  Request(EsOutput& out, const ChunkView& chunk) : out_(out), chunk_(chunk) {}

  WriteResult run() {
    std::string path = "/_bulk";
    if (out_.dynamic_index_) {
      static const ChunkKey kNoKey;
      path = "/" + net::percentEncode(lower(expandPlaceholders(out_.cfg_.index_name, chunk_.key ? *chunk_.key : kNoKey,
                                                               out_.cfg_.utc_index))) + "/_bulk";
    }
    if (out_.cfg_.pipeline) path += "?pipeline=" + net::percentEncode(*out_.cfg_.pipeline);
    path_ = std::move(path);
    client_ = out_.takeClient();
    const size_t n = chunk_.events();
    fate_.assign(n, Fate::Pending);
    reasons_.resize(n);
    bisect_budget_ = 16;
    for (size_t k = n; k > 1; k /= 2) bisect_budget_ += 4;
    std::vector<uint32_t> pending;
    pending.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (out_.cfg_.id_key && !idFits(i)) continue;
      pending.push_back(static_cast<uint32_t>(i));
    }
    int quick = 0, paused = 0;  // resend rounds of each kind so far
    for (int round = 0; !pending.empty(); ++round) {
      fresh_ = round == 0;
      round_sent_ = round_rejected_ = 0;
      round_failed_whole_ = false;
      // Requests of at most the threshold, in chunk order.
      size_t start = 0;
      uint64_t bytes = 0;
      for (size_t k = 0; k <= pending.size(); ++k) {
        const uint64_t size = k < pending.size() ? eventSize(pending[k]) : 0;
        if (k == pending.size() || (k > start && out_.threshold_ > 0 && bytes + size > static_cast<uint64_t>(out_.threshold_))) {
          std::vector<uint32_t> group(pending.begin() + static_cast<std::ptrdiff_t>(start),
                                      pending.begin() + static_cast<std::ptrdiff_t>(k));
          if (stopped_) {
            for (uint32_t i : group) fate_[i] = Fate::Retry;
          } else {
            send(group);
          }
          start = k;
          bytes = 0;
        }
        bytes += size;
      }
      pending.clear();
      // What this round's answers say: the cluster took most of it (a few items rejected here
      // and there, one busy shard) and the rejected go again at once; or it looks overloaded
      // (a request failed whole, or a third or more of the items were rejected) and they go
      // again after a pause.
      const bool rejected = std::find(fate_.begin(), fate_.end(), Fate::Again) != fate_.end();
      const bool overloaded = round_failed_whole_ || round_rejected_ * 3 >= round_sent_;
      const bool again = rejected && (overloaded ? paused < kPausedRounds : quick < kQuickRounds);
      for (size_t i = 0; i < n; ++i) {
        if (fate_[i] != Fate::Again && fate_[i] != Fate::Repaired) continue;
        if (stopped_ || (fate_[i] == Fate::Again && !again)) {
          fate_[i] = Fate::Retry;
        } else {
          fate_[i] = Fate::Pending;
          pending.push_back(static_cast<uint32_t>(i));
        }
      }
      if (!pending.empty() && rejected) {
        out_.item_resends_->add(1);
        if (overloaded) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10 << paused++));
        } else {
          ++quick;
        }
      }
    }
    out_.returnClient(std::move(client_), reset_ || (out_.cfg_.reconnect_on_error && anyRetry()));

    WriteResult result;
    for (size_t i = 0; i < n; ++i) {
      if (fate_[i] == Fate::Retry) result.retry_events.push_back(i);
      if (fate_[i] == Fate::Failed) result.failed_events.emplace_back(i, std::move(reasons_[i]));
    }
    if (result.retry_events.size() == n) {
      WriteResult r = WriteResult::retry(reason_);
      r.retry_after_ns = std::max<int64_t>(retry_after_ns_, 0);
      return r;
    }
    if (result.retry_events.empty() && result.failed_events.empty()) return WriteResult::ok();
    result.kind = WriteResult::Kind::Partial;
    result.reason = reason_.empty() && !result.failed_events.empty() ? result.failed_events.front().second : reason_;
    result.retry_after_ns = std::max<int64_t>(retry_after_ns_, 0);
    return result;
  }

  bool throttled() const { return throttled_; }

 private:
  // Pending: to send; Again: rejected for now (429, 5xx), sent again in this write; Repaired: a
  // mapping conflict, sent again with its keys de-dotted; Retry: back to the buffer.
  enum class Fate : uint8_t { Pending, Done, Failed, Again, Repaired, Retry };
  // Resends of rejected items within one write: after rounds where the cluster took most of the
  // request, at once (each such round sends under a third of the one before, so no storm of
  // tiny requests); after rounds that look like overload, with pauses of 10, 20, 40 ms.
  static constexpr int kQuickRounds = 5;
  static constexpr int kPausedRounds = 3;

  bool anyRetry() const { return std::find(fate_.begin(), fate_.end(), Fate::Retry) != fate_.end(); }

  std::string_view event(size_t i) const {
    if (auto it = repaired_.find(i); it != repaired_.end()) return it->second;
    return chunk_.event(i);
  }
  uint64_t eventSize(size_t i) const { return event(i).size(); }

  void fail(size_t i, std::string why) {
    fate_[i] = Fate::Failed;
    reasons_[i] = std::move(why);
  }

  // Elasticsearch refuses a whole bulk request when one _id is over 512 bytes
  // (action_request_validation_exception, IndexRequest.validate): such an event fails alone.
  bool idFits(size_t i) {
    std::string_view e = chunk_.event(i);
    std::string_view action = e.substr(0, e.find('\n'));
    simdjson::dom::object doc;
    std::string_view id;
    if (dom_.parse(action.data(), action.size()).get_object().get(doc) != simdjson::SUCCESS) return true;
    for (auto field : doc) {
      if (field.value["_id"].get_string().get(id) == simdjson::SUCCESS && id.size() > 512) {
        fail(i, "_id is " + std::to_string(id.size()) + " bytes, Elasticsearch takes at most 512 (id_key " +
                    *out_.cfg_.id_key + ")");
        return false;
      }
    }
    return true;
  }

  // The body of a request for `ids`: a view of the chunk when they are contiguous and sent as
  // formatted, else a copy (with _type taken out once the cluster refused it).
  std::string_view body(const std::vector<uint32_t>& ids, std::string& owned) {
    const bool strip = out_.drop_type_.load(std::memory_order_relaxed);
    bool contiguous = !strip;
    for (size_t k = 0; contiguous && k < ids.size(); ++k) {
      contiguous = repaired_.count(ids[k]) == 0 && (k == 0 || ids[k] == ids[k - 1] + 1);
    }
    if (contiguous) {
      const size_t from = ids.front() == 0 ? 0 : chunk_.ends[ids.front() - 1];
      return chunk_.bytes.substr(from, chunk_.ends[ids.back()] - from);
    }
    owned.clear();
    for (uint32_t i : ids) {
      std::string_view e = event(i);
      if (strip) {
        const size_t t = e.find("\"_type\":\"");
        if (t != std::string_view::npos && t < e.find('\n')) {
          size_t from = t, to = e.find('"', t + 9) + 1;
          if (e[from - 1] == ',') {
            --from;
          } else if (e[to] == ',') {
            ++to;
          }
          owned.append(e.substr(0, from));
          e.remove_prefix(to);
        }
      }
      owned.append(e);
    }
    return owned;
  }

  // The whole request failed in a way that often passes (5xx without Retry-After, a reset
  // connection): its events are sent again within this write, like rejected items.
  void againAll(const std::vector<uint32_t>& ids, std::string reason) {
    for (uint32_t i : ids) fate_[i] = Fate::Again;
    reason_ = std::move(reason);
    round_failed_whole_ = true;
  }

  void retryAll(const std::vector<uint32_t>& ids, std::string reason, int64_t retry_after_ns = -1) {
    for (uint32_t i : ids) fate_[i] = Fate::Retry;
    reason_ = std::move(reason);
    retry_after_ns_ = std::max(retry_after_ns_, retry_after_ns);
    stopped_ = true;  // the rest of the chunk waits for the retry too
  }

  // Sends `ids` in one request (split on 413 and on a whole-request 400).
  void send(const std::vector<uint32_t>& ids) {
    std::string owned;
    std::string_view raw = body(ids, owned);
    std::string compressed;
    net::HttpRequest req;
    req.method = "POST";
    req.headers.push_back("Content-Type: application/x-ndjson");
    if (out_.gzip_level_ >= 0) {
      auto z = codec::compress(codec::Compression::Gzip, raw, out_.gzip_level_);
      if (!z) {
        retryAll(ids, "gzip failed: " + z.status().message());
        return;
      }
      compressed = std::move(*z);
      req.body = compressed;
      req.headers.push_back("Content-Encoding: gzip");
    } else {
      req.body = raw;
    }
    req.timeout_ms = static_cast<int64_t>(out_.cfg_.request_timeout.seconds * 1000);
    req.connect_timeout_ms = req.timeout_ms;
    if (!sendToAHost(req)) {
      // A connection reset or refused is sent again in this write (as rejected items are); a
      // timeout goes back to the buffer's backoff at once (the server is slow, not flaky).
      std::string why = "no answer from Elasticsearch: " + resp_.error;
      // libcurl says "Operation timed out after …" (its error buffer) or "Timeout was reached".
      const bool timed_out = resp_.error.find("timed out") != std::string::npos ||
                             resp_.error.find("Timeout") != std::string::npos;
      if (!timed_out) {
        againAll(ids, std::move(why));
      } else {
        // Too slow to answer is overloaded too: fewer requests at once until it answers in time.
        out_.throttled_->add(1);
        throttled_ = true;
        retryAll(ids, std::move(why));
      }
      return;
    }
    const long status = resp_.status;
    if (status == 200) {
      items(ids);
      return;
    }
    out_.request_errors_->add(1);
    auto halves = [&] {
      std::vector<uint32_t> a(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(ids.size() / 2));
      std::vector<uint32_t> b(ids.begin() + static_cast<std::ptrdiff_t>(ids.size() / 2), ids.end());
      send(a);
      if (stopped_) {
        for (uint32_t i : b) fate_[i] = Fate::Retry;
      } else {
        send(b);
      }
    };
    if (status == 413) {
      if (ids.size() > 1) return halves();
      fail(ids[0], "request entity too large (413): the document alone exceeds http.max_content_length");
      return;
    }
    std::string what = "bulk request answered " + std::to_string(status) + " " + errorReason(resp_.body);
    if (status == 429) {
      out_.throttled_->add(1);
      throttled_ = true;
      retryAll(ids, what, resp_.retry_after_ns);
    } else if (status == 401) {
      out_.log_.error("Elasticsearch refused the credentials (401): check user/password or api_key");
      retryAll(ids, what, resp_.retry_after_ns);
    } else if (status == 403) {
      out_.log_.error("Elasticsearch denied the bulk request (403): the user needs the create_doc (or index) privilege on the index");
      retryAll(ids, what, resp_.retry_after_ns);
    } else if (status == 400) {
      // Refused as a whole: nothing of it was stored. An action line this cluster does not take
      // (_type since Elasticsearch 8): learn the version again and send it without. Else one
      // bad document sank it: send the halves apart until the culprit is alone.
      if (what.find("[_type]") != std::string::npos && !out_.drop_type_.load() && out_.redetectVersion()) {
        send(ids);
        return;
      }
      if (ids.size() == 1) {
        fail(ids[0], what);
        return;
      }
      if (bisect_budget_ <= 0) {
        for (uint32_t i : ids) fail(i, what);
        return;
      }
      --bisect_budget_;
      out_.bisections_->add(1);
      halves();
    } else if (status >= 500) {
      // The cluster cannot take requests for now (503 unavailable, 502/504 from a proxy in
      // front of it): overload as much as a 429, so the in-flight limit comes down too.
      out_.throttled_->add(1);
      throttled_ = true;
      if (resp_.retry_after_ns < 0) {
        againAll(ids, what);  // a passing 5xx: sent again after 10, 20, 40 ms, then the buffer's backoff
      } else {
        retryAll(ids, what, resp_.retry_after_ns);
      }
    } else {
      retryAll(ids, what, resp_.retry_after_ns);
    }
  }

  // Tries the hosts round-robin from the next one; a host whose connection fails is rested.
  bool sendToAHost(net::HttpRequest& req) {
    const auto& hosts = out_.hosts_;
    const size_t n = hosts.size();
    const size_t first = out_.next_host_.fetch_add(1, std::memory_order_relaxed) % n;
    const int64_t now = nowNs();
    std::vector<size_t> order;
    for (size_t k = 0; k < n; ++k) {
      size_t i = (first + k) % n;
      if (hosts[i]->rested_until_ns.load(std::memory_order_relaxed) <= now) order.push_back(i);
    }
    if (order.empty()) {  // all rested: the one back soonest
      size_t best = 0;
      for (size_t i = 1; i < n; ++i) {
        if (hosts[i]->rested_until_ns.load() < hosts[best]->rested_until_ns.load()) best = i;
      }
      order.push_back(best);
    }
    for (size_t k = 0; k < order.size(); ++k) {
      EsHost& host = *hosts[order[k]];
      std::string url = host.base_url + path_;
      req.url = url;
      if (!host.auth_header.empty()) {
        req.headers.push_back(host.auth_header);
      }
      out_.requests_->add(1);
      client_->send(req, resp_);
      if (!host.auth_header.empty()) req.headers.pop_back();
      if (!resp_.transportFailed()) return true;
      host.rested_until_ns.store(nowNs() + out_.cfg_.host_rest_interval.nanos(), std::memory_order_relaxed);
      out_.request_errors_->add(1);
      reset_ = true;
      client_ = std::make_unique<net::HttpClient>(out_.tls_);
      if (k + 1 < order.size()) {
        out_.failovers_->add(1);
        out_.log_.warn("Elasticsearch node failed (" + resp_.error + "); trying the next one");
      }
    }
    return false;
  }

  // The event with every dot in its source's keys replaced by '_' (the action line as it is);
  // false when no key has a dot (nothing to repair).
  bool repair(size_t i) {
    std::string_view e = chunk_.event(i);
    const size_t nl = e.find('\n');
    std::string_view source = e.substr(nl + 1);
    while (!source.empty() && source.back() == '\n') source.remove_suffix(1);
    simdjson::dom::element doc;
    // Its own parser: answer_ holds the answer whose items are being read, dom_ may be in idFits().
    if (repair_dom_.parse(source.data(), source.size()).get(doc) != simdjson::SUCCESS) return false;
    std::string out(e.substr(0, nl + 1));
    bool changed = false;
    writeDeDotted(doc, out, changed);
    out += '\n';
    if (!changed) return false;
    repaired_[i] = std::move(out);
    return true;
  }

  static void writeDeDotted(simdjson::dom::element v, std::string& out, bool& changed) {
    simdjson::dom::object object;
    simdjson::dom::array array;
    if (v.get_object().get(object) == simdjson::SUCCESS) {
      out += '{';
      bool first = true;
      for (auto [key, value] : object) {
        if (!first) out += ',';
        first = false;
        if (key.find('.') != std::string_view::npos) {
          std::string k(key);
          std::replace(k.begin(), k.end(), '.', '_');
          appendJsonString(out, k);
          changed = true;
        } else {
          appendJsonString(out, key);
        }
        out += ':';
        writeDeDotted(value, out, changed);
      }
      out += '}';
    } else if (v.get_array().get(array) == simdjson::SUCCESS) {
      out += '[';
      bool first = true;
      for (simdjson::dom::element item : array) {
        if (!first) out += ',';
        first = false;
        writeDeDotted(item, out, changed);
      }
      out += ']';
    } else {
      out += simdjson::minify(v);
    }
  }

  // Sorts the per-item results of a 200 answer for `ids`.
  void items(const std::vector<uint32_t>& ids) {
    const auto shape = answer_.read(resp_.body, ids.size(), out_.cfg_.unrecoverable_error_types, verdicts_);
    if (shape == BulkAnswerReader::Shape::AllDone) {
      for (uint32_t i : ids) fate_[i] = Fate::Done;
      return;
    }
    if (shape == BulkAnswerReader::Shape::NotBulk) {
      out_.request_errors_->add(1);
      retryAll(ids, "Elasticsearch answered 200 with a body that is not a bulk response for " +
                        std::to_string(ids.size()) + " items: " + std::string(resp_.body.substr(0, 200)));
      reset_ = true;
      return;
    }
    size_t rejected = 0;
    for (size_t k = 0; k < ids.size(); ++k) {
      const uint32_t event = ids[k];
      const BulkItem& item = verdicts_[k];
      using V = BulkItem::Verdict;
      if (item.verdict == V::Done || item.verdict == V::Duplicate) {
        if (item.verdict == V::Duplicate) out_.duplicates_->add(1);
        fate_[event] = Fate::Done;
        continue;
      }
      if (item.verdict == V::Malformed) {
        fate_[event] = Fate::Again;
        continue;
      }
      const int64_t status = item.status;
      out_.metrics_.pluginCounter("item_errors_total", "Bulk items answered with an error, by ES's error type.",
                                  {{"reason", std::string(item.type)}}).add(1);
      if (item.verdict == V::Again) {
        if (status != 0) ++rejected;
        fate_[event] = Fate::Again;
        if (reason_.empty()) reason_ = "bulk items answered " + std::to_string(status) + " " + std::string(item.type);
        continue;
      }
      std::string why = std::to_string(status) + " " + std::string(item.type) +
                        (item.reason.empty() ? "" : ": " + std::string(item.reason));
      if (item.verdict == V::Conflict && repaired_.count(event) == 0 && repair(event)) {
        out_.repaired_->add(1);
        if (!out_.repair_warned_.exchange(true)) {
          out_.log_.warn("Document refused for a mapping conflict from dotted keys (" + why +
                         "); sending it again with dots in its keys replaced by '_' (counted in repaired_total)");
        }
        fate_[event] = Fate::Repaired;
        continue;
      }
      if (repaired_.count(event) != 0) why += " (also after replacing the dots in its keys)";
      if (out_.cfg_.log_es_400_reason) out_.log_.warn("Document rejected: " + why);
      fail(event, std::move(why));
    }
    round_sent_ += ids.size();
    round_rejected_ += rejected;
    // A cluster that rejects (429, 5xx) a third or more of a fresh request is overloaded: the
    // in-flight limit comes down. A few rejected items are sent again in this write and do not
    // lower it; nor do resends, which hold only items rejected before (no fair sample).
    if (fresh_ && rejected > 0 && rejected * 3 >= ids.size()) {
      throttled_ = true;
      out_.throttled_->add(1);
    }
  }

  EsOutput& out_;
  const ChunkView& chunk_;
  std::string path_;
  std::unique_ptr<net::HttpClient> client_;
  net::HttpResponse resp_;
  BulkAnswerReader answer_;
  std::vector<BulkItem> verdicts_;
  simdjson::dom::parser dom_;
  simdjson::dom::parser repair_dom_;
  std::vector<Fate> fate_;
  std::vector<std::string> reasons_;
  std::unordered_map<size_t, std::string> repaired_;  // event -> its action line and de-dotted source
  std::string reason_;
  int64_t retry_after_ns_ = -1;
  int bisect_budget_ = 0;
  bool stopped_ = false;
  bool reset_ = false;
  bool throttled_ = false;
  bool fresh_ = true;                // this round sends the chunk's items for the first time
  size_t round_sent_ = 0;            // items this round's answered requests carried
  size_t round_rejected_ = 0;        // of those, rejected for now (429, 5xx)
  bool round_failed_whole_ = false;  // a request of this round failed whole (5xx, cut)
};

WriteResult EsOutput::write(const ChunkView& chunk) {
  if (chunk.events() == 0) return WriteResult::ok();
  const uint64_t epoch = acquireSlot();
  Request request(*this, chunk);
  WriteResult r = request.run();
  releaseSlot(request.throttled(), epoch);
  return r;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<EsOutput>(
      PluginKind::Output, "elasticsearch",
      "Sends events to Elasticsearch or OpenSearch with the bulk API: logstash-style daily indices, deterministic "
      "document ids (no duplicates on retry or re-read), per-item results (retried alone or dead-lettered with "
      "ES's reason), several nodes with failover, gzip.",
      kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::out_elasticsearch
