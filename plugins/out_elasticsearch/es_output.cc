// SPDX-License-Identifier: Apache-2.0
// The Elasticsearch output's configuration and connections (on the engine's thread at create()
// and start(); the pools on the flush threads): the parameter table, the hosts (parseHosts), the
// cluster's version (GET / at start, asked again when a bulk answer refuses _type), the pool of
// HTTP clients and the in-flight limit (AIMD) that write() takes a client and a slot from, and
// the descriptor. Formatting is in es_format.cc, the bulk request in es_bulk_request.cc.
#include "plugins/out_elasticsearch/es_output.h"

#include <simdjson.h>

#include <locale.h>
#include <wctype.h>

#include <algorithm>
#include <cctype>

#include "plugins/out_elasticsearch/es_internal.h"
#include "plugins/out_elasticsearch/es_nodes.h"
#include "plugins/out_elasticsearch/es_record_keys.h"
#include "plugins/out_elasticsearch/es_templates.h"

namespace sluice::plugins::out_elasticsearch {
namespace {

using C = EsConfig;

constexpr net::TlsAliases kTlsAliases{"ssl_verify", "ca_file", "client_cert", "client_key"};

const std::array<Param<C>, 37> kOwnParams = {{
    {"host", &C::host, "localhost", "Elasticsearch host (ignored when hosts is set)."},
    {"port", &C::port, "9200", "Elasticsearch port."},
    {"hosts", &C::hosts, nullptr, "Several nodes, comma separated: host:port or scheme://user:password@host:port/path. Requests go round-robin; a node that cannot be reached is rested for host_rest_interval."},
    {"scheme", enumMember<&C::scheme, kSchemes>(), "http", "http or https."},
    {"path", &C::path, nullptr, "URL path prefix (Elasticsearch behind a proxy)."},
    {"user", &C::user, nullptr, "Basic-auth user."},
    {"password", &C::password, nullptr, "Basic-auth password.", {}, kSecret},
    {"api_key", &C::api_key, nullptr, "API key, sent as `Authorization: ApiKey <value>` (the base64 of id:key).", {}, kSecret},
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
    {"write_operation", enumMember<&C::write_operation, kWriteOperations>(), "create", "Bulk action. create (default; Fluentd's is index) never overwrites and, with deterministic ids, never duplicates; update and upsert (an update with doc_as_upsert) need id_key or deterministic_id."},
    {"deterministic_id", &C::deterministic_id, "true", "Give each document an _id derived from where the event was read (file, offset) or, when unknown, from its tag, time and content; false lets Elasticsearch pick ids (a retried request can then store a second copy)."},
    {"pipeline", &C::pipeline, nullptr, "Ingest pipeline (the `pipeline` URL parameter)."},
    {"suppress_type_name", &C::suppress_type_name, "false", "Do not send _type to Elasticsearch 7 (8 and OpenSearch 2 never get it)."},
    {"compression_level", enumMember<&C::compression_level, kCompressionLevels>(), "no_compression", "gzip the request bodies (best_speed: level 1, default_compression: 6, best_compression: 9)."},
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
const auto kParams = concatParams(kOwnParams, net::tlsParams<C>(kTlsAliases));

// A strftime conversion (%Y, %d ...) in `text`: a time placeholder in Fluentd's names.
bool hasStrftime(std::string_view text) {
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] == '%' && std::isalpha(static_cast<unsigned char>(text[i + 1]))) return true;
  }
  return false;
}

bool dayGranular(std::string_view format) {
  for (size_t i = 0; i + 1 < format.size(); ++i) {
    if (format[i] != '%') continue;
    char c = format[++i];
    if (c != 'Y' && c != 'm' && c != 'd' && c != 'y' && c != 'j' && c != 'F' && c != 'b' && c != 'B' && c != '%') return false;
  }
  return true;
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
    std::string scheme(choiceName(kSchemes, c.scheme));
    std::string user = c.user.value_or(""), password = c.password.value_or("");
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

std::string lower(std::string s) {
  size_t i = 0;
  for (; i < s.size() && static_cast<unsigned char>(s[i]) < 0x80; ++i) {
    if (s[i] >= 'A' && s[i] <= 'Z') s[i] = static_cast<char>(s[i] - 'A' + 'a');
  }
  if (i == s.size()) return s;
  static const locale_t kUtf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  std::string out = s.substr(0, i);
  while (i < s.size()) {
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = byte(0);
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 1;
    uint32_t cp = c;
    if (n > 1 && i + n <= s.size()) {
      cp = c & (0xFF >> (n + 1));
      for (size_t k = 1; k < n && n > 1; ++k) {
        if ((byte(k) & 0xC0) != 0x80) n = 1;
        cp = cp << 6 | (byte(k) & 0x3F);
      }
    } else {
      n = 1;
    }
    if (n == 1) {
      out += c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
      ++i;
      continue;
    }
    uint32_t lc = kUtf8 != nullptr ? static_cast<uint32_t>(::towlower_l(static_cast<wint_t>(cp), kUtf8)) : cp;
    if (lc == cp || lc > 0x10FFFF) {
      out.append(s, i, n);
    } else if (lc < 0x80) {
      out += static_cast<char>(lc);  // the Kelvin sign is k
    } else if (lc < 0x800) {
      out += static_cast<char>(0xC0 | (lc >> 6));
      out += static_cast<char>(0x80 | (lc & 0x3F));
    } else if (lc < 0x10000) {
      out += static_cast<char>(0xE0 | (lc >> 12));
      out += static_cast<char>(0x80 | ((lc >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (lc & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (lc >> 18));
      out += static_cast<char>(0x80 | ((lc >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((lc >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (lc & 0x3F));
    }
    i += n;
  }
  return out;
}

std::string invalidIndexName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (lower(std::string(name)) != name) return "must be lowercase";
  if (name.find_first_of("\\/*?\"<>| ,") != std::string_view::npos) {
    return "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]";
  }
  if (name.find('#') != std::string_view::npos) return "must not contain '#'";
  if (name.find(':') != std::string_view::npos) return "must not contain ':'";
  if (name.front() == '_' || name.front() == '-' || name.front() == '+') return "must not start with '_', '-', or '+'";
  if (name == "." || name == "..") return "must not be '.' or '..'";
  if (name.size() > 255) return "index name is too long, (" + std::to_string(name.size()) + " > 255)";
  return {};
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
      clients_(config.tlsOptions()),
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
  if (Status s = config.validateTls(kTlsAliases); !s) return s;
  const WriteOperation op = config.write_operation;
  out->update_ = op == WriteOperation::Update || op == WriteOperation::Upsert;
  out->upsert_ = op == WriteOperation::Upsert;
  out->action_ = out->upsert_ ? "update" : std::string(choiceName(kWriteOperations, op));
  out->index_by_day_ = config.utc_index && dayGranular(config.logstash_dateformat);
  if (config.data_stream_name) {
    if (op != WriteOperation::Create) {
      return Status::invalidConfig("data_stream_name: data streams only take write_operation create");
    }
    if (config.data_stream_name->find("${") != std::string::npos || hasStrftime(*config.data_stream_name)) {
      return Status::invalidConfig("data_stream_name '" + printable(*config.data_stream_name) +
                                   "': placeholders are not supported (sluice writes one data stream per output, set "
                                   "up at start); use one output per stream");
    }
    out->static_index_ = lower(*config.data_stream_name);
  } else if (!config.logstash_format) {
    out->dynamic_index_ = config.index_name.find("${") != std::string::npos ||
                          config.index_name.find('%') != std::string::npos;
    if (!out->dynamic_index_) out->static_index_ = lower(config.index_name);
  }
  if (!out->static_index_.empty()) {
    if (std::string why = invalidIndexName(out->static_index_); !why.empty()) {
      return Status::invalidConfig(std::string(config.data_stream_name ? "data_stream_name" : "index_name") + " '" +
                                   printable(out->static_index_) + "': Elasticsearch does not accept it as an index name: " + why);
    }
  }
  if (config.logstash_format) {
    std::string sample = config.logstash_prefix + config.logstash_prefix_separator;
    formatTime(sample, nowNs(), config.logstash_dateformat, config.utc_index);
    if (std::string why = invalidIndexName(lower(sample)); !why.empty()) {
      return Status::invalidConfig("logstash_prefix, logstash_prefix_separator and logstash_dateformat make index names "
                                   "such as '" + printable(sample) + "' that Elasticsearch does not accept: " + why);
    }
  }
  if (out->update_ && !config.id_key && !config.deterministic_id) {
    return Status::invalidConfig("write_operation " + std::string(choiceName(kWriteOperations, op)) +
                                 " needs id_key or deterministic_id");
  }
  out->gzip_level_ = static_cast<int>(config.compression_level);
  if (config.bulk_message_request_threshold.limited()) {
    out->threshold_ = static_cast<int64_t>(*config.bulk_message_request_threshold.bytes);
  }
  // The in-flight limit follows the buffer's flush threads (<buffer> flush_thread_count, bound
  // by the engine through the buffer's table).
  const int threads = static_cast<int>(std::clamp<int64_t>(ctx.flushThreadCount(), 1, 1 << 16));
  out->slots_max_ = config.max_requests_in_flight > 0 ? static_cast<int>(config.max_requests_in_flight) : threads;
  out->slots_limit_ = out->slots_max_;
  if (!config.verify_es_version_at_startup) {
    out->version_.major = static_cast<int>(config.default_elasticsearch_version);
  }
  auto templates = EsTemplates::create(out->cfg_, out->log_);
  if (!templates) return templates.takeStatus();
  out->templates_ = std::move(*templates);
  auto nodes = EsNodes::create(out->cfg_, out->hosts_, out->cfg_.tlsOptions(), out->log_);
  if (!nodes) return nodes.takeStatus();
  out->nodes_ = std::move(*nodes);
  auto keys = RecordKeys::create(out->cfg_);
  if (!keys) return keys.takeStatus();
  out->record_keys_ = std::move(*keys);
  return out;
}

std::optional<EsVersion> EsOutput::askVersion(std::string& problem) {
  std::unique_ptr<net::HttpClient> client = clients_.fresh();
  net::HttpResponse resp;
  for (const auto& host : hosts_) {
    net::HttpRequest req;
    const std::string url = host->base_url + "/";
    req.url = url;
    if (!host->auth_header.empty()) req.headers.push_back(host->auth_header);
    req.timeout_ms = static_cast<int64_t>(cfg_.request_timeout.seconds * 1000);
    req.connect_timeout_ms = req.timeout_ms;
    client->send(req, resp);
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
  if (record_keys_ && es_major > 0 && es_major < 7) record_keys_->setRoutingMeta("_routing");
  if (nodes_ && cfg_.reload_connections) nodes_->discover();
  if (templates_) return templates_->install(hosts_, cfg_.tlsOptions(), version_);
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

// ---- the pools write() draws from (flush threads) -------------------------------------

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

std::shared_ptr<const std::vector<std::unique_ptr<EsHost>>> EsOutput::currentHosts() const {
  if (nodes_) return nodes_->hosts();
  return {std::shared_ptr<const std::vector<std::unique_ptr<EsHost>>>(), &hosts_};  // not owned
}

int EsOutput::inFlightLimit() {
  std::lock_guard lock(slots_mu_);
  return slots_limit_;
}

namespace {

// The whole table: this file's parameters, then es_templates.cc's, es_nodes.cc's and
// es_record_keys.cc's.
const auto& allParams() {
  static const auto kAllParams =
      concatParams(concatParams(concatParams(kParams, kTemplateParams), kConnectionParams), kRecordParams);
  return kAllParams;
}

}  // namespace

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<EsOutput>(
      PluginKind::Output, "elasticsearch",
      "Sends events to Elasticsearch or OpenSearch with the bulk API: logstash-style daily indices, deterministic "
      "document ids (no duplicates on retry or re-read), per-item results (retried alone or dead-lettered with "
      "ES's reason), several nodes with failover, gzip; index templates, ILM and data streams installed at start.",
      allParams());
  return kDescriptor;
}

// The same table with fluent-plugin-elasticsearch's elasticsearch_data_stream defaults:
// data_stream_name required, the data stream's policy, template and stream installed at start
// (data_stream_setup true), composable templates (use_legacy_template false).
const PluginDescriptor& dataStreamDescriptor() {
  static const auto kTable = [] {
    auto table = allParams();
    for (auto& p : table) {
      if (p.name == "data_stream_name") {
        p.default_value = nullptr;
        p.flags |= kRequired;
        p.description = "The data stream to write to (op_type create, @timestamp always added).";
      } else if (p.name == "data_stream_setup") {
        p.default_value = "true";
        p.description =
            "Install the data stream's ILM policy, composable template and the stream at start when missing, as "
            "fluent-plugin-elasticsearch's elasticsearch_data_stream always does; false (sluice's own): write to a "
            "data stream set up elsewhere (needs only the create_doc privilege).";
      } else if (p.name == "use_legacy_template") {
        p.default_value = "false";
      }
    }
    return table;
  }();
  static const PluginDescriptor kDescriptor = makeDescriptor<EsOutput>(
      PluginKind::Output, "elasticsearch_data_stream",
      "fluent-plugin-elasticsearch's elasticsearch_data_stream: the elasticsearch output writing to the data stream "
      "data_stream_name, whose ILM policy, composable template and stream it installs at start when missing.",
      kTable);
  return kDescriptor;
}

}  // namespace sluice::plugins::out_elasticsearch
