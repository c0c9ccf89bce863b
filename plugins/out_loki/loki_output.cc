// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_loki/loki_output.h"

#include <google/protobuf/arena.h>
#include <snappy.h>
#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "buffer/compress.h"
#include "loki_wire.pb.h"

namespace sluice::plugins::out_loki {
namespace {

using C = LokiConfig;

constexpr const char* kRefusedHelp = "Entries Loki refused for good, by reason.";

const std::array<Param<C>, 20> kParams = {{
    {"url", &C::url, "https://logs-prod-us-central1.grafana.net", "Loki's base URL; entries are pushed to <url>/loki/api/v1/push."},
    {"username", &C::username, nullptr, "Basic-auth user."},
    {"password", &C::password, nullptr, "Basic-auth password.", {}, kSecret},
    {"bearer_token_file", &C::bearer_token_file, nullptr, "File holding a bearer token, read again when it changes and after a 401."},
    {"tenant", &C::tenant, nullptr, "X-Scope-OrgID. Chunk-key placeholders (${tag}, ${$.a.b}) are expanded per chunk."},
    {"extra_labels", &C::extra_labels, nullptr, "Labels added to every stream, e.g. {\"env\":\"prod\"}."},
    {"remove_keys", &C::remove_keys, nullptr, "Record fields left out of the line."},
    {"line_format", &C::line_format, "key_value", "How the record becomes the log line: json, or key=value pairs (values with spaces or = quoted).", "json|key_value"},
    {"extract_kubernetes_labels", &C::extract_kubernetes_labels, "false", "Add the pod's labels (record.kubernetes.labels) as stream labels (names with characters Loki does not allow get _)."},
    {"drop_single_key", &C::drop_single_key, "false", "When one field is left in the record, send its value alone as the line."},
    {"ca_cert", &C::ca_cert, nullptr, "CA certificates (PEM) to verify Loki with; default the system's."},
    {"cert", &C::cert, nullptr, "Client certificate (PEM) for mutual TLS."},
    {"key", &C::key, nullptr, "Client key (PEM) for mutual TLS.", {}, kSecret},
    {"insecure_tls", &C::insecure_tls, "false", "Do not verify Loki's certificate."},
    {"custom_headers", &C::custom_headers, nullptr, "Extra HTTP headers, e.g. {\"X-Team\":\"sre\"}."},
    {"encoding", &C::encoding, "protobuf", "protobuf: snappy-compressed protobuf, Loki's native encoding; json: Loki's JSON push format.", "protobuf|json"},
    {"compress", &C::compress, "none", "gzip the JSON body (encoding json; protobuf is always snappy-compressed).", "none|gzip"},
    {"max_label_values", &C::max_label_values, "1000", "Label cardinality guard: a label that takes more distinct values than this is dropped from every label set from then on (warned, counted). 0: no limit."},
    {"request_timeout", &C::request_timeout, "30s", "Timeout of one push request."},
    {"include_thread_label", &C::drop_single_key, nullptr, "Accepted for Fluentd compatibility; sluice adds no fluentd_thread label.", {}, kIgnored},
}};

// Loki label names: [a-zA-Z_][a-zA-Z0-9_]*; other characters become _.
void sanitizeLabelName(std::string& name) {
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name.insert(name.begin(), '_');
}

bool validLabelName(const std::string& name) {
  std::string copy = name;
  sanitizeLabelName(copy);
  return copy == name;
}

// A value as label text: strings as they are, everything else as JSON.
void appendScalar(std::string& out, const Value& v) {
  if (v.isString()) {
    out += v.asString();
  } else {
    appendJson(out, v);
  }
}

// Reads a label set's text: from `{` to its closing `}`, skipping quoted values.
size_t labelSetEnd(std::string_view s) {
  if (s.empty() || s[0] != '{') return std::string_view::npos;
  bool quoted = false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '}') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// The reason class of one of Loki's refusal messages, for the per-reason counter.
std::string_view reasonClass(std::string_view message) {
  for (std::string_view r : {"entry too far behind", "entry out of order", "timestamp too old", "timestamp too new",
                             "max entry size", "line too long", "stream limit", "rate limit"}) {
    if (message.find(r) != std::string_view::npos) return r;
  }
  return "other";
}

// Go's time.Time.String() as Loki prints entry times: "2006-01-02 15:04:05.999 -0700 MST".
std::optional<int64_t> parseGoTime(std::string_view s) {
  // Drop the zone abbreviation after the numeric offset.
  size_t offset = s.find_first_of("+-", 19);
  if (offset == std::string_view::npos) return std::nullopt;
  size_t end = s.find(' ', offset);
  static const TimeParser kParser("", true);
  return kParser.parse(s.substr(0, end));
}

}  // namespace

bool parseEntry(std::string_view event, LokiEntry& out) {
  size_t sp = event.find(' ');
  if (sp == std::string_view::npos) return false;
  auto [p, ec] = std::from_chars(event.data(), event.data() + sp, out.time_ns);
  if (ec != std::errc() || p != event.data() + sp) return false;
  event.remove_prefix(sp + 1);
  size_t end = labelSetEnd(event);
  if (end == std::string_view::npos || end >= event.size() || event[end] != ' ') return false;
  out.labels = event.substr(0, end);
  event.remove_prefix(end + 1);
  end = labelSetEnd(event);
  if (end == std::string_view::npos || end >= event.size() || event[end] != ' ') return false;
  out.metadata = event.substr(0, end);
  out.line = event.substr(end + 1);
  return true;
}

bool parseLabelSet(std::string_view t, std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  if (t.size() < 2 || t.front() != '{' || t.back() != '}') return false;
  size_t i = 1;
  while (i < t.size() - 1) {
    while (t[i] == ' ' || t[i] == ',') ++i;
    if (t[i] == '}') break;
    size_t eq = t.find("=\"", i);
    if (eq == std::string_view::npos) return false;
    std::string name(t.substr(i, eq - i));
    std::string value;
    i = eq + 2;
    while (i < t.size() && t[i] != '"') {
      if (t[i] == '\\' && i + 1 < t.size()) {
        ++i;
        value += t[i] == 'n' ? '\n' : t[i];
      } else {
        value += t[i];
      }
      ++i;
    }
    if (i >= t.size()) return false;
    ++i;
    out.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

LokiOutput::LokiOutput(const LokiConfig& config, PluginContext& ctx)
    : cfg_(config),
      log_(ctx.log()),
      requests_(&ctx.metrics().pluginCounter("push_requests_total", "Push requests sent.")),
      entries_sent_(&ctx.metrics().pluginCounter("entries_total", "Entries Loki accepted.")),
      labels_dropped_(&ctx.metrics().pluginCounter("labels_dropped_total",
                                                   "Labels dropped from label sets by the cardinality guard.")),
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
  out->tls_ = net::TlsOptions{!config.insecure_tls, config.ca_cert.value_or(""), config.cert.value_or(""), config.key.value_or("")};
  if (config.cert.has_value() != config.key.has_value()) return Status::invalidConfig("cert and key go together");
  out->dynamic_tenant_ = config.tenant && config.tenant->find("${") != std::string::npos;
  if (config.compress == "gzip" && config.encoding != "json") {
    ctx.log().warn("compress gzip applies to encoding json; protobuf bodies are snappy-compressed");
  }
  return out;
}

// ---- format -------------------------------------------------------------------------------

bool LokiOutput::admitLabel(std::string_view name, std::string_view value) {
  if (cfg_.max_label_values <= 0) return true;
  auto it = guards_.find(name);
  if (it == guards_.end()) it = guards_.emplace(std::string(name), Guard{}).first;
  Guard& g = it->second;
  if (g.dropped) return false;
  if (g.values.find(value) != g.values.end()) return true;
  if (g.values.size() < static_cast<size_t>(cfg_.max_label_values)) {
    g.values.emplace(value);
    return true;
  }
  g.dropped = true;
  g.values.clear();
  labels_dropped_->add(1);
  log_.warn("Label '" + std::string(name) + "' took more than " + std::to_string(cfg_.max_label_values) +
            " distinct values; it is dropped from the label sets (max_label_values)");
  return false;
}

void LokiOutput::appendLine(const Value& record, std::string& out) {
  auto removed = [&](std::string_view key) {
    return std::find(removed_top_keys_.begin(), removed_top_keys_.end(), key) != removed_top_keys_.end();
  };
  const Member* single = nullptr;
  size_t kept = 0;
  for (const Member& m : record.members()) {
    if (!removed(m.key)) {
      single = &m;
      ++kept;
    }
  }
  if (cfg_.drop_single_key && kept == 1) {
    appendScalar(out, single->value);
    return;
  }
  if (cfg_.line_format == "json") {
    out += '{';
    appendJsonMembers(out, record, removed);
    out += '}';
    return;
  }
  // key_value, as fluent-plugin-grafana-loki writes it.
  bool first = true;
  for (const Member& m : record.members()) {
    if (removed(m.key)) continue;
    if (!first) out += ' ';
    first = false;
    out += m.key;
    out += '=';
    size_t start = out.size();
    appendScalar(out, m.value);
    std::string_view v(out.data() + start, out.size() - start);
    bool quote = v.find_first_of(" =") != std::string_view::npos;
    if (v.find_first_of("\"\\") != std::string_view::npos || quote) {
      std::string escaped;
      if (quote) escaped += '"';
      for (char c : v) {
        if (c == '"' || c == '\\') escaped += '\\';
        escaped += c;
      }
      if (quote) escaped += '"';
      out.replace(start, out.size() - start, escaped);
    }
  }
}

void LokiOutput::format(const Batch& batch, FormattedEvents& out) {
  std::lock_guard lock(format_mu_);
  for (const Event& e : batch.events()) {
    formatOne(e, out.bytes);
    out.endEvent();
  }
}

void LokiOutput::formatOne(const Event& event, std::string& out) {
  const Value& record = event.record;
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof(num), event.time_ns);
  (void)ec;
  out.append(num, end);
  out += ' ';

  // Label set: (name, value) pairs as spans of a scratch string (kept warm: no allocation per
  // event), sorted by name.
  scratch_.clear();
  pairs_.clear();
  auto add = [&](std::string_view name, auto&& appendValue) {
    Pair p;
    p.name_off = static_cast<uint32_t>(scratch_.size());
    scratch_ += name;
    p.name_len = static_cast<uint32_t>(name.size());
    p.value_off = static_cast<uint32_t>(scratch_.size());
    appendValue();
    p.value_len = static_cast<uint32_t>(scratch_.size() - p.value_off);
    if (admitLabel(name, std::string_view(scratch_).substr(p.value_off, p.value_len))) {
      pairs_.push_back(p);
    } else {
      scratch_.resize(p.name_off);
    }
  };
  for (const auto& [k, v] : extra_labels_) add(k, [&] { scratch_ += v; });
  for (const Source& src : labels_) {
    const Value* v = src.path.find(record);
    if (v == nullptr || v->isNull()) continue;
    add(src.name, [&] { appendScalar(scratch_, *v); });
  }
  if (cfg_.extract_kubernetes_labels) {
    const Value* k8s = record.find("kubernetes");
    const Value* labels = k8s != nullptr ? k8s->find("labels") : nullptr;
    if (labels != nullptr && labels->isObject()) {
      for (const Member& m : labels->members()) {
        sanitized_.assign(m.key);
        sanitizeLabelName(sanitized_);
        add(sanitized_, [&] { appendScalar(scratch_, m.value); });
      }
    }
  }
  auto name = [&](const Pair& p) { return std::string_view(scratch_).substr(p.name_off, p.name_len); };
  std::stable_sort(pairs_.begin(), pairs_.end(), [&](const Pair& a, const Pair& b) { return name(a) < name(b); });
  out += '{';
  if (pairs_.empty()) out += "job=\"sluice\"";  // Loki refuses a stream without labels
  for (size_t i = 0; i < pairs_.size(); ++i) {
    if (i > 0 && name(pairs_[i]) == name(pairs_[i - 1])) continue;  // the first of a name wins
    if (i) out += ", ";
    out += name(pairs_[i]);
    out += "=\"";
    appendLabelValue(out, std::string_view(scratch_).substr(pairs_[i].value_off, pairs_[i].value_len));
    out += '"';
  }
  std::string& text = sanitized_;
  out += "} {";
  bool first = true;
  for (const Source& s : metadata_) {
    const Value* v = s.path.find(record);
    if (v == nullptr || v->isNull()) continue;
    if (!first) out += ", ";
    first = false;
    out += s.name;
    out += "=\"";
    text.clear();
    appendScalar(text, *v);
    appendLabelValue(out, text);
    out += '"';
  }
  out += "} ";
  appendLine(record, out);
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

WriteResult LokiOutput::write(const ChunkView& chunk) {
  const size_t n = chunk.events();
  if (n == 0) return WriteResult::ok();
  std::vector<LokiEntry> entries(n);
  WriteResult result;
  std::vector<size_t> bad;
  for (size_t i = 0; i < n; ++i) {
    if (!parseEntry(chunk.event(i), entries[i])) bad.push_back(i);
  }
  // Streams in order of first appearance; entries sorted by time within each (stable).
  std::unordered_map<std::string_view, size_t> index;
  std::vector<std::vector<uint32_t>> streams;
  std::vector<std::string_view> stream_labels;
  for (size_t i = 0, b = 0; i < n; ++i) {
    if (b < bad.size() && bad[b] == i) {
      ++b;
      continue;
    }
    auto [it, fresh] = index.emplace(entries[i].labels, streams.size());
    if (fresh) {
      streams.emplace_back();
      stream_labels.push_back(entries[i].labels);
    }
    streams[it->second].push_back(static_cast<uint32_t>(i));
  }
  for (auto& s : streams) {
    std::stable_sort(s.begin(), s.end(), [&](uint32_t a, uint32_t b) { return entries[a].time_ns < entries[b].time_ns; });
  }

  std::string body;
  std::vector<std::string> headers;
  if (cfg_.encoding == "protobuf") {
    google::protobuf::Arena arena;
    auto* req = google::protobuf::Arena::CreateMessage<loki_wire::PushRequest>(&arena);
    std::vector<std::pair<std::string, std::string>> pairs;
    for (size_t s = 0; s < streams.size(); ++s) {
      loki_wire::Stream* stream = req->add_streams();
      stream->set_labels(stream_labels[s].data(), stream_labels[s].size());
      stream->mutable_entries()->Reserve(static_cast<int>(streams[s].size()));
      for (uint32_t i : streams[s]) {
        loki_wire::Entry* e = stream->add_entries();
        e->mutable_timestamp()->set_seconds(entries[i].time_ns / kNanosPerSecond);
        e->mutable_timestamp()->set_nanos(static_cast<int32_t>(entries[i].time_ns % kNanosPerSecond));
        e->set_line(entries[i].line.data(), entries[i].line.size());
        if (entries[i].metadata.size() > 2 && parseLabelSet(entries[i].metadata, pairs)) {
          for (auto& [k, v] : pairs) {
            loki_wire::LabelPair* p = e->add_structured_metadata();
            p->set_name(k);
            p->set_value(v);
          }
        }
      }
    }
    std::string raw;
    req->SerializeToString(&raw);
    snappy::Compress(raw.data(), raw.size(), &body);
    headers.push_back("Content-Type: application/x-protobuf");
  } else {
    std::vector<std::pair<std::string, std::string>> pairs;
    body = "{\"streams\":[";
    for (size_t s = 0; s < streams.size(); ++s) {
      if (s) body += ',';
      body += "{\"stream\":{";
      parseLabelSet(stream_labels[s], pairs);
      for (size_t k = 0; k < pairs.size(); ++k) {
        if (k) body += ',';
        appendJsonString(body, pairs[k].first);
        body += ':';
        appendJsonString(body, pairs[k].second);
      }
      body += "},\"values\":[";
      for (size_t j = 0; j < streams[s].size(); ++j) {
        const LokiEntry& e = entries[streams[s][j]];
        if (j) body += ',';
        body += "[\"" + std::to_string(e.time_ns) + "\",";
        appendJsonString(body, e.line);
        if (e.metadata.size() > 2 && parseLabelSet(e.metadata, pairs)) {
          body += ",{";
          for (size_t k = 0; k < pairs.size(); ++k) {
            if (k) body += ',';
            appendJsonString(body, pairs[k].first);
            body += ':';
            appendJsonString(body, pairs[k].second);
          }
          body += '}';
        }
        body += ']';
      }
      body += "]}";
    }
    body += "]}";
    headers.push_back("Content-Type: application/json");
    if (cfg_.compress == "gzip") {
      auto z = buffer::compress(buffer::Compression::Gzip, body);
      if (!z) return WriteResult::retry("gzip failed: " + z.status().message());
      body = std::move(*z);
      headers.push_back("Content-Encoding: gzip");
    }
  }
  if (cfg_.tenant) {
    static const ChunkKey kNoKey;
    headers.push_back("X-Scope-OrgID: " +
                      (dynamic_tenant_ ? expandPlaceholders(*cfg_.tenant, chunk.key ? *chunk.key : kNoKey, true) : *cfg_.tenant));
  }
  for (const auto& [k, v] : cfg_.custom_headers) headers.push_back(k + ": " + v);

  std::unique_ptr<net::HttpClient> client;
  {
    std::lock_guard lock(clients_mu_);
    if (!clients_.empty()) {
      client = std::move(clients_.back());
      clients_.pop_back();
    }
  }
  if (!client) client = std::make_unique<net::HttpClient>(tls_);
  net::HttpResponse resp;
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
  const bool transport = resp.transportFailed();
  {
    std::lock_guard lock(clients_mu_);
    if (!transport) clients_.push_back(std::move(client));
  }
  for (size_t i : bad) result.failed_events.emplace_back(i, "not a loki entry (a chunk written by another output?)");
  const size_t good = n - bad.size();
  auto message = [&] {
    std::string m(resp.body.substr(0, 2000));
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
  };
  auto finish = [&](WriteResult r) {
    if (bad.empty()) return r;
    // Unreadable events fail for good; what became of the rest is in `r`.
    WriteResult p;
    p.kind = WriteResult::Kind::Partial;
    p.failed_events = result.failed_events;
    if (r.kind == WriteResult::Kind::Retry || r.kind == WriteResult::Kind::Fail) {
      for (size_t i = 0, b = 0; i < n; ++i) {
        if (b < bad.size() && bad[b] == i) {
          ++b;
        } else if (r.kind == WriteResult::Kind::Retry) {
          p.retry_events.push_back(i);
        } else {
          p.failed_events.emplace_back(i, r.reason);
        }
      }
      p.retry_after_ns = r.retry_after_ns;
    } else {
      for (auto& f : r.failed_events) p.failed_events.push_back(f);
    }
    p.reason = r.reason;
    return p;
  };
  auto retry = [&](std::string why) {
    WriteResult r = WriteResult::retry(std::move(why));
    r.retry_after_ns = std::max<int64_t>(resp.retry_after_ns, 0);
    return finish(std::move(r));
  };
  if (transport) return retry("Loki could not be reached: " + resp.error);
  if (resp.status >= 200 && resp.status < 300) {
    entries_sent_->add(good);
    return finish(WriteResult::ok());
  }
  const std::string text = message();
  const std::string what = "push answered " + std::to_string(resp.status) + ": " + text;
  if (resp.status == 401 || resp.status == 403) {
    log_.error(text.find("no org id") != std::string::npos
                   ? "Loki needs a tenant (401 no org id): set `tenant` (X-Scope-OrgID)"
               : resp.status == 401 ? "Loki refused the credentials (401): check username/password or bearer_token_file"
                                    : "Loki denied the push (403): check the tenant and the credentials' permissions");
    return retry(what);
  }
  if ((resp.status == 429 && text.find("stream limit") == std::string::npos) || resp.status >= 500) {
    return retry(what);
  }
  if (resp.status != 400) {
    metrics_.pluginCounter("refused_entries_total", kRefusedHelp, {{"reason", std::string(reasonClass(text))}}).add(good);
    return finish(WriteResult::fail(what));
  }

  // A 400 names the refused entries (Loki kept the rest): find them by stream and time (or
  // line length). If it names fewer than it refused (the list is capped), every entry of the
  // request goes to the dead letters: replaying them is harmless, Loki drops entries it has.
  std::vector<char> refused(n, 0);
  std::vector<std::string> reason_of(n);
  size_t named = 0, claimed = 0;
  std::vector<std::pair<int64_t, std::string>> pending;  // "entry with timestamp" lines
  auto mark = [&](std::string_view labels, auto&& match, const std::string& why) {
    auto it = index.find(labels);
    if (it == index.end()) return false;
    for (uint32_t i : streams[it->second]) {
      if (!refused[i] && match(entries[i])) {
        refused[i] = 1;
        reason_of[i] = why;
        ++named;
        return true;
      }
    }
    return false;
  };
  std::string_view rest = resp.body;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.starts_with("entry with timestamp ")) {
      size_t ig = line.find(" ignored, reason: '");
      if (ig == std::string_view::npos) continue;
      auto ts = parseGoTime(line.substr(21, ig - 21));
      if (ts) pending.emplace_back(*ts, std::string(line));
    } else if (line.starts_with("user '")) {
      size_t total = line.find("total ignored: ");
      size_t stream = line.find(" for stream: ");
      if (total == std::string_view::npos || stream == std::string_view::npos) continue;
      size_t count = 0;
      std::from_chars(line.data() + total + 15, line.data() + line.size(), count);
      claimed += count;
      std::string_view labels = line.substr(stream + 13);
      for (const auto& [ts, why] : pending) {
        int64_t t = ts;
        mark(labels, [&](const LokiEntry& e) { return e.time_ns == t; }, why);
      }
      pending.clear();
    } else if (line.starts_with("entry for stream '")) {
      size_t close = line.find("' has timestamp too ");
      if (close == std::string_view::npos) continue;
      ++claimed;
      std::string_view labels = line.substr(18, close - 18);
      size_t at = close + 20;
      size_t colon = line.find(": ", at);
      if (colon == std::string_view::npos) continue;
      size_t stop = line.find(", oldest", colon);
      auto ts = parseGoTime(line.substr(colon + 2, stop == std::string_view::npos ? std::string_view::npos : stop - colon - 2));
      if (ts) {
        int64_t t = *ts;
        mark(labels, [&](const LokiEntry& e) { return e.time_ns == t; }, std::string(line));
      }
    } else if (line.starts_with("max entry size '")) {
      ++claimed;
      size_t s1 = line.find("for stream '");
      size_t s2 = line.find("' while adding an entry with length '");
      if (s1 == std::string_view::npos || s2 == std::string_view::npos) continue;
      size_t len = 0;
      std::from_chars(line.data() + s2 + 38, line.data() + line.size(), len);
      mark(line.substr(s1 + 12, s2 - s1 - 12), [&](const LokiEntry& e) { return e.line.size() == len; }, std::string(line));
    }
  }
  if (named == 0 || named < claimed) {
    metrics_.pluginCounter("refused_entries_total", kRefusedHelp, {{"reason", std::string(reasonClass(text))}}).add(good);
    return finish(WriteResult::fail(what));
  }
  WriteResult partial;
  partial.kind = WriteResult::Kind::Partial;
  partial.reason = what;
  for (size_t i = 0; i < n; ++i) {
    if (!refused[i]) continue;
    metrics_.pluginCounter("refused_entries_total", kRefusedHelp, {{"reason", std::string(reasonClass(reason_of[i]))}}).add(1);
    partial.failed_events.emplace_back(i, "Loki refused the entry: " + reason_of[i]);
  }
  entries_sent_->add(good - named);
  return finish(std::move(partial));
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
