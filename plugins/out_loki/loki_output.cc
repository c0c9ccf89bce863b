// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_loki/loki_output.h"

#include <google/protobuf/arena.h>
#include <snappy.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <span>

#include "codec/codec.h"
#include "loki_wire.pb.h"

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

const std::array<Param<C>, 23> kParams = {{
    {"url", &C::url, "https://logs-prod-us-central1.grafana.net", "Loki's base URL; entries are pushed to <url>/loki/api/v1/push."},
    {"username", &C::username, nullptr, "Basic-auth user."},
    {"password", &C::password, nullptr, "Basic-auth password.", {}, kSecret},
    {"bearer_token_file", &C::bearer_token_file, nullptr, "File holding a bearer token, read again when it changes and after a 401."},
    {"tenant", &C::tenant, nullptr, "X-Scope-OrgID. Chunk-key placeholders (${tag}, ${$.a.b}) are expanded per chunk; a result that is no Loki tenant ID (1-150 bytes of letters, digits and !-_.*'()) fails its events to <secondary>/dead letters, never reaches a header."},
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
    {"max_label_names", &C::max_label_names, "15", "Most label names a stream gets (Loki's max_label_names_per_series, 15 by default, refuses the whole stream above it): extra_labels first, then <label>, then Kubernetes labels; the rest are dropped from the label set (warned once, counted). 0: no limit."},
    {"max_request_size", &C::max_request_size, "1m", "Most bytes (lines, labels and metadata, before compression) of one push; a chunk is sent in several pushes. Loki refuses a push over its ingestion burst (ingestion_burst_size_mb, 6 MB by default) with 429 however often it is retried. Promtail and Alloy batch 1 MiB."},
    {"max_request_entries", &C::max_request_entries, "10000", "Most entries of one push."},
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
  for (const auto& kv : extra_labels_) add(kv.first, [&] { scratch_ += kv.second; });
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
  // The first of a name wins; past max_label_names distinct names (in the order above: extra
  // labels, <label>, Kubernetes labels) the rest are dropped, as Loki would refuse the stream.
  kept_.clear();
  size_t over = 0;
  for (uint32_t i = 0; i < pairs_.size(); ++i) {
    bool seen = false;
    for (uint32_t k : kept_) seen = seen || name(pairs_[k]) == name(pairs_[i]);
    if (seen) continue;
    if (cfg_.max_label_names > 0 && kept_.size() >= static_cast<size_t>(cfg_.max_label_names)) {
      if (over++ == 0 && !label_names_warned_.exchange(true)) {
        log_.warn("A stream has more than " + std::to_string(cfg_.max_label_names) + " labels (first dropped: '" +
                  std::string(name(pairs_[i])) + "'); labels past the limit are dropped (max_label_names, Loki's " +
                  "max_label_names_per_series), counted in label_names_dropped_total");
      }
      continue;
    }
    kept_.push_back(i);
  }
  if (over > 0) label_names_dropped_->add(over);
  std::sort(kept_.begin(), kept_.end(), [&](uint32_t a, uint32_t b) { return name(pairs_[a]) < name(pairs_[b]); });
  out += '{';
  if (kept_.empty()) out += "job=\"sluice\"";  // Loki refuses a stream without labels
  for (size_t k = 0; k < kept_.size(); ++k) {
    const Pair& p = pairs_[kept_[k]];
    if (k) out += ", ";
    out += name(p);
    out += "=\"";
    appendLabelValue(out, std::string_view(scratch_).substr(p.value_off, p.value_len));
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

// ---- Loki's 400 answers ---------------------------------------------------------------------

namespace {

// The label set at the start of `s` (Loki prints labels.String(): {a="1", b="2"}).
std::string_view leadingLabels(std::string_view s) {
  size_t end = labelSetEnd(s);
  return end == std::string_view::npos ? std::string_view() : s.substr(0, end);
}

// Splits one line of a 400 body into its messages. The distributor joins its validation errors
// (util.GroupedErrors) as "<msg>; N errors like: <msg>; ..."; a message itself may hold "; "
// only inside a label set, so a split is made only where a count or a known message follows.
std::vector<std::string_view> splitMessages(std::string_view line) {
  static constexpr std::string_view kStarts[] = {"entry for stream '", "max entry size '", "stream '",
                                                 "entry with timestamp ", "user '", "error parsing labels '",
                                                 "missing required labels '", "total ignored: "};
  std::vector<std::string_view> out;
  size_t from = 0, at = 0;
  while ((at = line.find("; ", at)) != std::string_view::npos) {
    std::string_view next = line.substr(at + 2);
    const size_t digits = next.find_first_not_of("0123456789");
    bool starts = digits != 0 && digits != std::string_view::npos && next.substr(digits).starts_with(" errors like: ");
    for (std::string_view k : kStarts) starts = starts || next.starts_with(k);
    if (starts) {
      out.push_back(line.substr(from, at - from));
      from = at + 2;
    }
    at += 2;
  }
  out.push_back(line.substr(from));
  return out;
}

}  // namespace

// Every refusal form of Loki's push path (messages: ../shared/fixtures/loki/
// error-message-formats.txt, Loki's pkg/validation/validate.go, pkg/ingester/stream.go):
// - distributor validation, one message per entry or stream, grouped by util.GroupedErrors
//   ("N errors like: <msg>; ...") in Loki 3, only the last one in Loki 2;
// - the ingester's per-entry lines "entry with timestamp T ignored, reason: 'R'," (at most
//   max_returned_stream_errors, 10 by default) closed by "user 'U', total ignored: N out of M for
//   stream: L" (Loki >= 2.9) or, older, each line ending "for stream: L," and "total ignored: N
//   out of M"; only the last failing stream's lines are returned.
std::vector<LokiRefusal> parseRefusals(std::string_view body) {
  std::vector<LokiRefusal> out;
  std::vector<LokiRefusal> pending;  // ingester lines waiting for their stream
  auto number = [](std::string_view s, size_t& value) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc() ? static_cast<size_t>(p - s.data()) : 0;
  };
  std::string_view rest = body;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    for (std::string_view msg : splitMessages(line)) {
      while (!msg.empty() && (msg.back() == ' ' || msg.back() == '\r')) msg.remove_suffix(1);
      LokiRefusal r;
      if (size_t used = number(msg, r.count); used > 0 && msg.substr(used).starts_with(" errors like: ")) {
        msg.remove_prefix(used + 14);
      } else {
        r.count = 1;
      }
      r.message = std::string(msg);
      if (msg.starts_with("entry for stream '")) {
        std::string_view labels = leadingLabels(msg.substr(18));
        if (labels.empty()) continue;
        r.labels = std::string(labels);
        std::string_view tail = msg.substr(18 + labels.size());
        if (tail.starts_with("' has timestamp too old: ") || tail.starts_with("' has timestamp too new: ")) {
          std::string_view t = tail.substr(25);
          auto ts = parseGoTime(t.substr(0, t.find(", oldest")));
          if (!ts) continue;
          r.kind = LokiRefusal::Kind::Time;
          r.time_ns = *ts;
        } else {  // "' has N label names; limit M" and whatever else names the stream alone
          r.kind = LokiRefusal::Kind::Stream;
        }
        out.push_back(std::move(r));
      } else if (msg.starts_with("max entry size '")) {
        size_t s1 = msg.find("' bytes exceeded for stream '");
        if (s1 == std::string_view::npos) continue;
        std::string_view labels = leadingLabels(msg.substr(s1 + 29));
        std::string_view tail = msg.substr(s1 + 29 + labels.size());
        if (labels.empty() || !tail.starts_with("' while adding an entry with length '")) continue;
        if (number(tail.substr(37), r.length) == 0) continue;
        r.kind = LokiRefusal::Kind::Length;
        r.labels = std::string(labels);
        out.push_back(std::move(r));
      } else if (msg.starts_with("stream '") || msg.starts_with("error parsing labels '")) {
        // Label name/value too long, duplicate names, structured metadata refused: the stream.
        std::string_view labels = leadingLabels(msg.substr(msg.find('\'') + 1));
        if (labels.empty()) continue;
        r.labels = std::string(labels);
        out.push_back(std::move(r));
      } else if (msg.starts_with("missing required labels '")) {
        size_t s = msg.find("' for stream '");
        if (s == std::string_view::npos) continue;
        std::string_view labels = leadingLabels(msg.substr(s + 14));
        if (labels.empty()) continue;
        r.labels = std::string(labels);
        out.push_back(std::move(r));
      } else if (msg.starts_with("entry with timestamp ")) {
        size_t ig = msg.find(" ignored, reason: '");
        if (ig == std::string_view::npos) continue;
        auto ts = parseGoTime(msg.substr(21, ig - 21));
        if (!ts) continue;
        r.kind = LokiRefusal::Kind::Time;
        r.time_ns = *ts;
        if (size_t fs = msg.rfind("' for stream: "); fs != std::string_view::npos) {  // Loki < 2.9
          r.labels = std::string(leadingLabels(msg.substr(fs + 14)));
          if (!r.labels.empty()) out.push_back(std::move(r));
        } else {
          pending.push_back(std::move(r));
        }
      } else if (msg.starts_with("user '")) {
        size_t fs = msg.find(" for stream: ");
        if (fs == std::string_view::npos) continue;
        std::string_view labels = leadingLabels(msg.substr(fs + 13));
        for (LokiRefusal& p : pending) {
          p.labels = std::string(labels);
          out.push_back(std::move(p));
        }
        pending.clear();
      }
    }
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
  for (size_t i = 0; i < n; ++i) {
    if (!parseEntry(chunk.event(i), entries[i])) {
      fate[i] = Fate::Failed;
      reason_of[i] = "not a loki entry (a chunk written by another output?)";
    }
  }
  // Streams in order of first appearance; entries sorted by time within each (stable).
  std::unordered_map<std::string_view, uint32_t> index;
  std::vector<std::vector<uint32_t>> streams;
  std::vector<uint32_t> stream_of(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (fate[i] == Fate::Failed) continue;
    auto [it, fresh] = index.emplace(entries[i].labels, static_cast<uint32_t>(streams.size()));
    if (fresh) streams.emplace_back();
    streams[it->second].push_back(static_cast<uint32_t>(i));
    stream_of[i] = it->second;
  }
  for (auto& s : streams) {
    std::stable_sort(s.begin(), s.end(), [&](uint32_t a, uint32_t b) { return entries[a].time_ns < entries[b].time_ns; });
  }

  std::vector<std::string> headers;
  if (cfg_.encoding == "protobuf") {
    headers.push_back("Content-Type: application/x-protobuf");
  } else {
    headers.push_back("Content-Type: application/json");
    if (cfg_.compress == "gzip") headers.push_back("Content-Encoding: gzip");
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
  auto buildBody = [&](std::span<const uint32_t> ids, std::string& body) -> bool {
    body.clear();
    std::vector<std::pair<std::string, std::string>> pairs;
    if (cfg_.encoding == "protobuf") {
      google::protobuf::Arena arena;
      auto* req = google::protobuf::Arena::CreateMessage<loki_wire::PushRequest>(&arena);
      loki_wire::Stream* stream = nullptr;
      for (size_t k = 0; k < ids.size(); ++k) {
        const LokiEntry& entry = entries[ids[k]];
        if (k == 0 || stream_of[ids[k]] != stream_of[ids[k - 1]]) {
          stream = req->add_streams();
          stream->set_labels(entry.labels.data(), entry.labels.size());
        }
        loki_wire::Entry* e = stream->add_entries();
        e->mutable_timestamp()->set_seconds(entry.time_ns / kNanosPerSecond);
        e->mutable_timestamp()->set_nanos(static_cast<int32_t>(entry.time_ns % kNanosPerSecond));
        e->set_line(entry.line.data(), entry.line.size());
        if (entry.metadata.size() > 2 && parseLabelSet(entry.metadata, pairs)) {
          for (auto& [name, value] : pairs) {
            loki_wire::LabelPair* p = e->add_structured_metadata();
            p->set_name(name);
            p->set_value(value);
          }
        }
      }
      std::string raw;
      req->SerializeToString(&raw);
      snappy::Compress(raw.data(), raw.size(), &body);
      return true;
    }
    auto appendPairs = [&] {
      for (size_t k = 0; k < pairs.size(); ++k) {
        if (k) body += ',';
        appendJsonString(body, pairs[k].first);
        body += ':';
        appendJsonString(body, pairs[k].second);
      }
    };
    body = "{\"streams\":[";
    for (size_t k = 0; k < ids.size(); ++k) {
      const LokiEntry& e = entries[ids[k]];
      const bool first = k == 0 || stream_of[ids[k]] != stream_of[ids[k - 1]];
      if (first) {
        if (k) body += "]},";
        body += "{\"stream\":{";
        parseLabelSet(e.labels, pairs);
        appendPairs();
        body += "},\"values\":[";
      } else {
        body += ',';
      }
      body += "[\"" + std::to_string(e.time_ns) + "\",";
      appendJsonString(body, e.line);
      if (e.metadata.size() > 2 && parseLabelSet(e.metadata, pairs)) {
        body += ",{";
        appendPairs();
        body += '}';
      }
      body += ']';
    }
    body += "]}]}";
    if (cfg_.compress == "gzip") {
      auto z = codec::compress(codec::Compression::Gzip, body);
      if (!z) return false;
      body = std::move(*z);
    }
    return true;
  };

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
  auto push = [&](const std::string& body) {
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
      client = std::make_unique<net::HttpClient>(tls_);
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
  int64_t retry_after_ns = 0;
  bool stopped = false;  // Loki could not take a push: the rest of the chunk waits for the retry
  std::string body;
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
        reason = "gzip failed";
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
        retry_after_ns = std::max<int64_t>(retry_after_ns, resp.retry_after_ns);
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
  {
    std::lock_guard lock(clients_mu_);
    clients_.push_back(std::move(client));  // after a transport error, a fresh one
  }

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
    r.retry_after_ns = std::max<int64_t>(retry_after_ns, 0);
    return r;
  }
  if (failed == n && std::all_of(result.failed_events.begin(), result.failed_events.end(),
                                 [&](const auto& f) { return f.second == result.failed_events[0].second; })) {
    return WriteResult::fail(result.failed_events[0].second);
  }
  if (retry == 0 && failed == 0) return WriteResult::ok();
  result.kind = WriteResult::Kind::Partial;
  result.reason = !reason.empty() ? reason : result.failed_events.empty() ? "" : result.failed_events.front().second;
  result.retry_after_ns = std::max<int64_t>(retry_after_ns, 0);
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
