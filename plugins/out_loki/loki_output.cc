// SPDX-License-Identifier: Apache-2.0
// out_loki: its parameters, create(), and write() (on the flush threads: a chunk's entries
// grouped into streams, pushed as snappy protobuf or JSON in requests of max_request_size,
// Loki's answers sorted into delivered, retried and refused). format() is in loki_format.cc,
// the text forms and the reading of Loki's 400 answers in loki_text.cc.
#include "plugins/out_loki/loki_output.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <span>

#include "codec/codec.h"
#include "core/label_text.h"
#include "plugins/out_loki/loki_push.h"
#include "plugins/out_loki/loki_text.h"

namespace sluice::plugins::out_loki {
namespace {

// Loki's tenant ID rules (docs: "Multi-tenancy"): 1 to 150 bytes of [A-Za-z0-9!-_.*'()], not
// "." or "..".
bool validTenant(std::string_view t) {
  if (t.empty() || t.size() > 150 || t == "." || t == "..") return false;
  for (unsigned char c : t) {
    if (!std::isalnum(c) && std::string_view("!-_.*'()").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// At most 64 bytes of `t`, control and non-ASCII bytes as '?': safe to put in a log line.
std::string printableExcerpt(std::string_view t) {
  std::string out;
  for (unsigned char c : t.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  return out;
}

using C = LokiConfig;

constexpr const char* kRefusedHelp = "Entries Loki refused for good, by reason.";

constexpr net::TlsAliases kTlsAliases{{}, "ca_cert", "cert", "key"};

const std::array<Param<C>, 20> kOwnParams = {{
    {"url", &C::url, "https://logs-prod-us-central1.grafana.net", "Loki's base URL; entries are pushed to <url>/loki/api/v1/push."},
    {"username", &C::username, nullptr, "Basic-auth user."},
    {"password", &C::password, nullptr, "Basic-auth password.", {}, kSecret},
    {"bearer_token_file", &C::bearer_token_file, nullptr, "File holding a bearer token, read again when it changes and after a 401."},
    {"tenant", &C::tenant, nullptr, "X-Scope-OrgID. Chunk-key placeholders (${tag}, ${$.a.b}) are expanded per chunk; a result that is no Loki tenant ID (1-150 bytes of letters, digits and !-_.*'()) fails its events to <secondary>/dead letters, never reaches a header."},
    {"extra_labels", &C::extra_labels, nullptr, "Labels added to every stream, e.g. {\"env\":\"prod\"}."},
    {"remove_keys", &C::remove_keys, nullptr, "Record fields left out of the line."},
    {"line_format", enumMember<&C::line_format, kLineFormats>(), "key_value", "How the record becomes the log line: json, or key=value pairs (values with spaces or = quoted)."},
    {"extract_kubernetes_labels", &C::extract_kubernetes_labels, "false", "Add the pod's labels (record.kubernetes.labels) as stream labels (names with characters Loki does not allow get _)."},
    {"drop_single_key", &C::drop_single_key, "false", "When one field is left in the record, send its value alone as the line."},
    {"insecure_tls", &C::insecure_tls, "false", "Do not verify Loki's certificate (tls_verify false)."},
    {"custom_headers", &C::custom_headers, nullptr, "Extra HTTP headers, e.g. {\"X-Team\":\"sre\"}."},
    {"encoding", enumMember<&C::encoding, kEncodings>(), "protobuf", "protobuf: snappy-compressed protobuf, Loki's native encoding; json: Loki's JSON push format."},
    {"compress", enumMember<&C::compress, kBodyCompressions>(), "none", "gzip the JSON body (encoding json; protobuf is always snappy-compressed)."},
    {"max_label_values", &C::max_label_values, "1000", "Label cardinality guard: a label that takes more distinct values than this is dropped from every label set from then on (warned, counted). 0: no limit."},
    {"max_label_names", &C::max_label_names, "15", "Most label names a stream gets (Loki's max_label_names_per_series, 15 by default, refuses the whole stream above it): extra_labels first, then <label>, then Kubernetes labels; the rest are dropped from the label set (warned once, counted). 0: no limit."},
    {"max_request_size", &C::max_request_size, "1m", "Most bytes (lines, labels and metadata, before compression) of one push; a chunk is sent in several pushes. Loki refuses a push over its ingestion burst (ingestion_burst_size_mb, 6 MB by default) with 429 however often it is retried. Promtail and Alloy batch 1 MiB."},
    {"max_request_entries", &C::max_request_entries, "10000", "Most entries of one push."},
    {"request_timeout", &C::request_timeout, "30s", "Timeout of one push request."},
    {"include_thread_label", &C::drop_single_key, nullptr, "Accepted for Fluentd compatibility; sluice adds no fluentd_thread label.", {}, kIgnored},
}};
const auto kParams = concatParams(kOwnParams, net::tlsParams<C>(kTlsAliases));

net::TlsOptions tlsOf(const LokiConfig& c) {
  net::TlsOptions tls = c.tlsOptions();
  tls.verify = tls.verify && !c.insecure_tls;
  return tls;
}

}  // namespace

LokiOutput::LokiOutput(const LokiConfig& config, PluginContext& ctx)
    : cfg_(config),
      log_(ctx.log()),
      clients_(tlsOf(config)),
      requests_(&ctx.metrics().pluginCounter("push_requests_total", "Push requests sent.")),
      entries_sent_(&ctx.metrics().pluginCounter("entries_total", "Entries Loki accepted.")),
      labels_dropped_(&ctx.metrics().pluginCounter("labels_dropped_total",
                                                   "Labels dropped from label sets by the cardinality guard.")),
      label_names_dropped_(&ctx.metrics().pluginCounter(
          "label_names_dropped_total", "Labels left out of a label set past max_label_names (one per event and label).")),
      resent_(&ctx.metrics().pluginCounter("resent_entries_total",
                                           "Entries pushed again because a 400 did not say whether Loki kept them.")),
      metrics_(ctx.metrics()) {
  if (cfg_.bearer_token_file) token_file_ = std::make_unique<net::TokenFile>(*cfg_.bearer_token_file);
}

LokiOutput::~LokiOutput() = default;

Result<std::unique_ptr<LokiOutput>> LokiOutput::create(const LokiConfig& config, PluginContext& ctx) {
  std::unique_ptr<LokiOutput> out(new LokiOutput(config, ctx));
  for (const char* section : {"label", "structured_metadata"}) {
    for (const config::Element* e : ctx.element().children(section)) {
      for (const config::Param& p : e->params) {
        p.used = true;
        std::string field = p.value.empty() ? p.key : p.value;
        auto path = FieldPath::parse(field);
        if (!path) return Status::invalidConfig(e->where.str() + ": <" + section + "> " + p.key + ": " + path.status().message());
        if (!validLabelName(p.key)) {
          return Status::invalidConfig(e->where.str() + ": <" + section + "> '" + p.key +
                                       "' is not a valid Loki label name ([a-zA-Z_][a-zA-Z0-9_]*)");
        }
        if (path->isTopLevel()) out->removed_top_keys_.push_back(path->topKey());
        (std::string_view(section) == "label" ? out->labels_ : out->metadata_).push_back({p.key, std::move(*path)});
      }
    }
  }
  for (const std::string& k : config.remove_keys) out->removed_top_keys_.push_back(k);
  for (const auto& [k, v] : config.extra_labels) {
    if (!validLabelName(k)) return Status::invalidConfig("extra_labels: '" + k + "' is not a valid Loki label name");
    out->extra_labels_.emplace_back(k, v);
  }
  std::string base = config.url;
  while (base.ends_with('/')) base.pop_back();
  if (!base.starts_with("http://") && !base.starts_with("https://")) {
    return Status::invalidConfig("url: '" + net::redactUrl(base) + "' is not an http(s) URL");
  }
  out->push_url_ = base.ends_with("/loki/api/v1/push") ? base : base + "/loki/api/v1/push";
  if (Status s = config.validateTls(kTlsAliases); !s) return s;
  out->dynamic_tenant_ = config.tenant && config.tenant->find("${") != std::string::npos;
  if (config.compress == BodyCompression::Gzip && config.encoding != Encoding::Json) {
    ctx.log().warn("compress gzip applies to encoding json; protobuf bodies are snappy-compressed");
  }
  return out;
}


// ---- write --------------------------------------------------------------------------------

std::string LokiOutput::authHeader() {
  if (token_file_) {
    std::string error;
    std::string header = token_file_->header(&error);
    if (!error.empty()) log_.error(error);
    return header;
  }
  if (cfg_.username) return net::basicAuthHeader(*cfg_.username, cfg_.password.value_or(""));
  return {};
}

namespace {

// One chunk's entries and what became of each.
enum class Fate : uint8_t { Pending, Delivered, Failed, Retry };

}  // namespace

WriteResult LokiOutput::write(const ChunkView& chunk) {
  const size_t n = chunk.events();
  if (n == 0) return WriteResult::ok();
  std::vector<LokiEntry> entries(n);
  std::vector<Fate> fate(n, Fate::Pending);
  std::vector<std::string> reason_of(n);
  {
    // Labels and metadata that the body could not carry fail here, alone: the JSON body needs
    // each stream's label pairs (read once per distinct label text in a row), both bodies the
    // metadata pairs (only chunks from before the length-prefixed form hold metadata to parse).
    const bool json = cfg_.encoding != Encoding::Protobuf;
    std::vector<std::pair<std::string, std::string>> owned;
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    std::string_view readable_labels;
    for (size_t i = 0; i < n; ++i) {
      LokiEntry& e = entries[i];
      const char* why = nullptr;
      if (!parseEntry(chunk.event(i), e)) {
        why = "not a loki entry (a chunk written by another output?)";
      } else if (e.metadata.size() > 2 && !metadataPairs(e.metadata, pairs, owned)) {
        why = "the entry's structured metadata cannot be read";
      } else if (json && e.labels != readable_labels) {
        if (!parseLabelSet(e.labels, owned)) {
          why = "the entry's label set cannot be read";
        } else {
          readable_labels = e.labels;
        }
      }
      if (why != nullptr) {
        fate[i] = Fate::Failed;
        reason_of[i] = why;
      }
    }
  }
  // Streams in order of first appearance; entries sorted by time within each (stable). The
  // entries of a chunk come in runs of one stream (an input's batch is one file's lines), so
  // an entry's label text is compared with the one before it before any hashing.
  std::unordered_map<std::string_view, uint32_t> index;
  std::vector<std::vector<uint32_t>> streams;
  std::vector<uint32_t> stream_of(n, 0);
  std::string_view last_labels;
  uint32_t last_stream = UINT32_MAX;
  for (size_t i = 0; i < n; ++i) {
    if (fate[i] == Fate::Failed) continue;
    if (last_stream == UINT32_MAX || entries[i].labels != last_labels) {
      auto [it, fresh] = index.emplace(entries[i].labels, static_cast<uint32_t>(streams.size()));
      if (fresh) streams.emplace_back();
      last_labels = entries[i].labels;
      last_stream = it->second;
    }
    streams[last_stream].push_back(static_cast<uint32_t>(i));
    stream_of[i] = last_stream;
  }
  for (auto& s : streams) {
    std::stable_sort(s.begin(), s.end(), [&](uint32_t a, uint32_t b) { return entries[a].time_ns < entries[b].time_ns; });
  }

  std::vector<std::string> headers;
  if (cfg_.encoding == Encoding::Protobuf) {
    headers.push_back("Content-Type: application/x-protobuf");
  } else {
    headers.push_back("Content-Type: application/json");
    if (cfg_.compress == BodyCompression::Gzip) headers.push_back("Content-Encoding: gzip");
  }
  if (cfg_.tenant) {
    static const ChunkKey kNoKey;
    std::string tenant =
        dynamic_tenant_ ? expandPlaceholders(*cfg_.tenant, chunk.key ? *chunk.key : kNoKey, true) : *cfg_.tenant;
    // A tenant taken from log records is outside input: it must be a tenant ID as Loki defines
    // it (at most 150 bytes of letters, digits and !-_.*'(), not "." or ".."), never a header
    // line of its own (CR/LF) or a way to write into another tenant's path.
    if (!validTenant(tenant)) {
      return WriteResult::fail("tenant '" + printableExcerpt(tenant) +
                               "' is not a valid Loki tenant ID (letters, digits and !-_.*'() only, at most 150 bytes)");
    }
    headers.push_back("X-Scope-OrgID: " + tenant);
  }
  for (const auto& [k, v] : cfg_.custom_headers) headers.push_back(k + ": " + v);

  // The body of a push of `ids` (stream after stream, each in time order).
  PushEncoder encoder;
  std::string json_body;
  auto buildBody = [&](std::span<const uint32_t> ids, std::string_view& body) -> bool {
    if (cfg_.encoding == Encoding::Protobuf) return encoder.encodeCompressed(entries, ids, stream_of, body);
    // JSON: a stream's labels are read back from their text once per push (not per entry).
    std::vector<std::pair<std::string, std::string>> labels;
    std::vector<std::pair<std::string_view, std::string_view>> metadata;
    std::vector<std::pair<std::string, std::string>> owned;
    json_body = "{\"streams\":[";
    for (size_t k = 0; k < ids.size(); ++k) {
      const LokiEntry& e = entries[ids[k]];
      const bool first = k == 0 || stream_of[ids[k]] != stream_of[ids[k - 1]];
      if (first) {
        if (k) json_body += "]},";
        json_body += "{\"stream\":{";
        if (!parseLabelSet(e.labels, labels)) return false;
        for (size_t j = 0; j < labels.size(); ++j) {
          if (j) json_body += ',';
          appendJsonString(json_body, labels[j].first);
          json_body += ':';
          // Loki quotes the map's values back into label text with Go's strconv.Quote, which
          // writes U+FFFD raw, and its lexer then refuses the stream: no spelling of U+FFFD
          // gets through the JSON push, so it is sent as '?' (protobuf sends \ufffd).
          std::string& v = labels[j].second;
          for (size_t at = v.find("\xEF\xBF\xBD"); at != std::string::npos; at = v.find("\xEF\xBF\xBD", at)) {
            v.replace(at, 3, "?");
          }
          appendJsonString(json_body, v);
        }
        json_body += "},\"values\":[";
      } else {
        json_body += ',';
      }
      json_body += "[\"" + std::to_string(e.time_ns) + "\",";
      appendJsonString(json_body, e.line);
      if (e.metadata.size() > 2) {
        if (!metadataPairs(e.metadata, metadata, owned)) return false;
        json_body += ",{";
        for (size_t j = 0; j < metadata.size(); ++j) {
          if (j) json_body += ',';
          appendJsonString(json_body, metadata[j].first);
          json_body += ':';
          appendJsonString(json_body, metadata[j].second);
        }
        json_body += '}';
      }
      json_body += ']';
    }
    json_body += "]}]}";
    if (cfg_.compress == BodyCompression::Gzip) {
      auto z = codec::compress(codec::Compression::Gzip, json_body);
      if (!z) return false;
      json_body = std::move(*z);
    }
    body = json_body;
    return true;
  };

  std::unique_ptr<net::HttpClient> client = clients_.take();
  net::HttpResponse resp;
  auto push = [&](std::string_view body) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      net::HttpRequest req;
      req.method = "POST";
      req.url = push_url_;
      req.body = body;
      req.headers = headers;
      if (std::string auth = authHeader(); !auth.empty()) req.headers.push_back(std::move(auth));
      req.timeout_ms = static_cast<int64_t>(cfg_.request_timeout.seconds * 1000);
      requests_->add(1);
      client->send(req, resp);
      if (resp.status == 401 && cfg_.bearer_token_file && attempt == 0) {
        token_file_->invalidate();  // read the token again (a rotated service-account token) and retry once
        continue;
      }
      break;
    }
    if (resp.transportFailed()) {
      client = clients_.fresh();
    }
  };
  auto message = [&] {
    std::string m(resp.body.substr(0, 2000));
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
  };
  auto refusedCounter = [&](std::string_view why) -> Counter& {
    return metrics_.pluginCounter("refused_entries_total", kRefusedHelp, {{"reason", std::string(reasonClass(why))}});
  };

  // Pushes of at most max_request_size bytes and max_request_entries entries, stream after
  // stream; a stream may span pushes (they go in order, so its entries stay in time order).
  // The chunk is cut into equal parts, not into full pushes and a small rest: a chunk just over
  // the limit makes two pushes of half its size.
  const size_t max_bytes = cfg_.max_request_size.bytes > 0 ? cfg_.max_request_size.bytes : SIZE_MAX;
  const size_t max_entries = cfg_.max_request_entries > 0 ? static_cast<size_t>(cfg_.max_request_entries) : SIZE_MAX;
  auto entrySize = [&](uint32_t i) {
    return entries[i].line.size() + entries[i].labels.size() + entries[i].metadata.size() + 16;
  };
  size_t total_bytes = 0, total_entries = 0, largest = 0;
  for (const auto& s : streams) {
    for (uint32_t i : s) {
      total_bytes += entrySize(i);
      largest = std::max(largest, entrySize(i));
    }
    total_entries += s.size();
  }
  auto ceilDiv = [](size_t a, size_t b) { return a / b + (a % b != 0 ? 1 : 0); };
  const size_t parts = std::max({size_t{1}, ceilDiv(total_bytes, max_bytes), ceilDiv(total_entries, max_entries)});
  // A part may exceed its share by one entry; the last takes what is left (within the limits).
  const size_t part_bytes = std::min(max_bytes, ceilDiv(total_bytes, parts) + largest);
  const size_t part_entries = ceilDiv(std::max<size_t>(total_entries, 1), parts);
  std::vector<std::vector<uint32_t>> pushes(1);
  size_t push_bytes = 0;
  for (const auto& s : streams) {
    for (uint32_t i : s) {
      const size_t size = entrySize(i);
      const bool over_max = push_bytes + size > max_bytes || pushes.back().size() >= max_entries;
      const bool over_part = pushes.size() < parts && (push_bytes + size > part_bytes || pushes.back().size() >= part_entries);
      if (!pushes.back().empty() && (over_max || over_part)) {
        pushes.emplace_back();
        push_bytes = 0;
      }
      pushes.back().push_back(i);
      push_bytes += size;
    }
  }

  std::string reason;  // of the retry, if any
  net::RetryAfter retry_after;  // the longest any answer asked for
  bool stopped = false;  // Loki could not take a push: the rest of the chunk waits for the retry
  std::string_view body;
  std::vector<char> in_push(n, 0);
  constexpr int kMaxRounds = 8;  // a 400 leaves entries it did not name: push them again, this often
  for (std::vector<uint32_t>& ids : pushes) {
    if (ids.empty()) continue;
    if (stopped) {
      for (uint32_t i : ids) fate[i] = Fate::Retry;
      continue;
    }
    for (int round = 0; !ids.empty(); ++round) {
      if (round == kMaxRounds) {
        for (uint32_t i : ids) fate[i] = Fate::Retry;
        reason = "Loki kept answering 400 without naming these entries";
        break;
      }
      if (!buildBody(ids, body)) {
        for (uint32_t i : ids) fate[i] = Fate::Retry;
        reason = cfg_.compress == BodyCompression::Gzip ? "gzip failed" : "an entry's labels or metadata could not be read";
        stopped = true;
        break;
      }
      if (round > 0) resent_->add(ids.size());
      push(body);
      if (resp.transportFailed()) {
        for (uint32_t i : ids) fate[i] = Fate::Retry;
        reason = "Loki could not be reached: " + resp.error;
        stopped = true;
        break;
      }
      if (resp.status >= 200 && resp.status < 300) {
        for (uint32_t i : ids) fate[i] = Fate::Delivered;
        entries_sent_->add(ids.size());
        break;
      }
      const std::string text = message();
      const std::string what = "push answered " + std::to_string(resp.status) + ": " + text;
      if (resp.status == 401 || resp.status == 403 ||
          (resp.status == 429 && text.find("stream limit") == std::string::npos) || resp.status >= 500) {
        if (resp.status == 401 || resp.status == 403) {
          log_.error(text.find("no org id") != std::string::npos
                         ? "Loki needs a tenant (401 no org id): set `tenant` (X-Scope-OrgID)"
                     : resp.status == 401 ? "Loki refused the credentials (401): check username/password or bearer_token_file"
                                          : "Loki denied the push (403): check the tenant and the credentials' permissions");
        }
        for (uint32_t i : ids) fate[i] = Fate::Retry;
        reason = what;
        retry_after.note(resp);
        stopped = true;
        break;
      }
      if (resp.status != 400) {
        refusedCounter(text).add(ids.size());
        for (uint32_t i : ids) {
          fate[i] = Fate::Failed;
          reason_of[i] = what;
        }
        break;
      }
      // A 400: Loki kept the entries it did not refuse, and its answer names refused entries,
      // though perhaps not all of them (capped lists, only one stream's error). The named ones
      // fail for good; the others are pushed again, Loki dropping those it already has.
      for (uint32_t i : ids) in_push[i] = 1;
      size_t named = 0;
      for (const LokiRefusal& r : parseRefusals(resp.body)) {
        auto it = index.find(r.labels);
        if (it == index.end()) continue;
        size_t left = r.count;
        for (uint32_t i : streams[it->second]) {
          if (left == 0) break;
          if (!in_push[i] || fate[i] == Fate::Failed) continue;
          const bool match = r.kind == LokiRefusal::Kind::Stream || (r.kind == LokiRefusal::Kind::Time && entries[i].time_ns == r.time_ns) ||
                             (r.kind == LokiRefusal::Kind::Length && entries[i].line.size() == r.length);
          if (!match) continue;
          fate[i] = Fate::Failed;
          reason_of[i] = "Loki refused the entry: " + r.message;
          refusedCounter(r.message).add(1);
          ++named;
          if (r.kind != LokiRefusal::Kind::Stream) --left;
        }
      }
      for (uint32_t i : ids) in_push[i] = 0;
      if (named == 0) {  // nothing recognisable: resending would be answered the same
        refusedCounter(text).add(ids.size());
        for (uint32_t i : ids) {
          fate[i] = Fate::Failed;
          reason_of[i] = what;
        }
        break;
      }
      std::erase_if(ids, [&](uint32_t i) { return fate[i] == Fate::Failed; });
    }
  }
  clients_.give(std::move(client));  // after a transport error, a fresh one

  WriteResult result;
  size_t retry = 0, failed = 0;
  for (size_t i = 0; i < n; ++i) {
    if (fate[i] == Fate::Retry) {
      result.retry_events.push_back(i);
      ++retry;
    } else if (fate[i] == Fate::Failed) {
      result.failed_events.emplace_back(i, std::move(reason_of[i]));
      ++failed;
    }
  }
  if (retry == n) {
    WriteResult r = WriteResult::retry(std::move(reason));
    r.retry_after_ns = retry_after.ns();
    return r;
  }
  if (failed == n && std::all_of(result.failed_events.begin(), result.failed_events.end(),
                                 [&](const auto& f) { return f.second == result.failed_events[0].second; })) {
    return WriteResult::fail(result.failed_events[0].second);
  }
  if (retry == 0 && failed == 0) return WriteResult::ok();
  result.kind = WriteResult::Kind::Partial;
  result.reason = !reason.empty() ? reason : result.failed_events.empty() ? "" : result.failed_events.front().second;
  result.retry_after_ns = retry_after.ns();
  return result;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<LokiOutput>(
      PluginKind::Output, "loki",
      "Pushes events to Grafana Loki: streams by label set (<label> fields, extra_labels, Kubernetes labels), "
      "entries sorted by time, snappy-compressed protobuf or JSON, tenants, a label-cardinality guard; refused "
      "entries go to the dead letters with Loki's message.",
      kParams,
      {{"label", "Stream labels from record fields: `name $.path.to.field` (or `name` alone for the field of that name). The fields are left out of the line.", {}},
       {"structured_metadata", "Entry metadata from record fields (Loki 3 structured metadata, not indexed): `name $.path`. The fields are left out of the line.", {}}});
  return kDescriptor;
}

}  // namespace sluice::plugins::out_loki
