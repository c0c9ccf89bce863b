// SPDX-License-Identifier: Apache-2.0
// out_loki's format(): each event becomes "<time> <labels> <metadata> <line>" in the chunk
// (LokiEntry: labels from the record as configured, structured metadata, the line as JSON or
// key=value pairs), with the label-cardinality guard. Runs on the inputs' threads; the guard's
// state is under its mutex.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/label_text.h"
#include "plugins/out_loki/loki_output.h"
#include "plugins/out_loki/loki_text.h"

namespace sluice::plugins::out_loki {

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
  ++guard_drops_;
  labels_dropped_->add(1);
  log_.warn("Label '" + std::string(name) + "' took more than " + std::to_string(cfg_.max_label_values) +
            " distinct values; it is dropped from the label sets (max_label_values)");
  return false;
}

void LokiOutput::appendLine(const Value& record, FormattedEvents& events) {
  std::string& out = events.bytes;
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
  if (cfg_.line_format == LineFormat::Json) {
    out += '{';
    appendJsonMembers(out, record, removed, true, &events);
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
    formatOne(e, out);
    out.endEvent();
  }
}

void LokiOutput::formatOne(const Event& event, FormattedEvents& events) {
  std::string& out = events.bytes;
  const Value& record = event.record;
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof(num), event.time_ns);
  (void)ec;
  out.append(num, end);
  out += ' ';

  // Label set: (name, value) pairs as spans of a scratch string (kept warm: no allocation per
  // event), in the order extra labels, <label>, Kubernetes labels.
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
    pairs_.push_back(p);
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
  if (last_drops_ == guard_drops_ && pairs_ == last_pairs_ && scratch_ == last_scratch_) {
    // The same pairs as the event before: they were admitted then, and no guard dropped a
    // label since, so they are admitted again (the guards' sets already hold the values).
    out += last_text_;
    if (last_over_ > 0) label_names_dropped_->add(last_over_);
  } else {
    last_scratch_ = scratch_;
    last_pairs_ = pairs_;
    last_text_.clear();
    last_over_ = labelSetText(last_text_);
    last_drops_ = guard_drops_;
    out += last_text_;
  }

  std::string& text = sanitized_;
  out += ' ';
  // Structured metadata with the values' lengths (see LokiEntry): read back without unescaping.
  const size_t mark = out.size();
  out += '[';
  bool first = true;
  for (const Source& s : metadata_) {
    const Value* v = s.path.find(record);
    if (v == nullptr || v->isNull()) continue;
    if (!first) out += ' ';
    first = false;
    out += s.name;
    out += '=';
    text.clear();
    appendScalar(text, *v);
    auto [len_end, len_ec] = std::to_chars(num, num + sizeof(num), text.size());
    (void)len_ec;
    out.append(num, len_end);
    out += ':';
    out += text;
  }
  if (first) {
    out.resize(mark);
    out += "{}";
  } else {
    out += ']';
  }
  out += ' ';
  appendLine(record, events);
}

size_t LokiOutput::labelSetText(std::string& out) {
  auto name = [&](const Pair& p) { return std::string_view(scratch_).substr(p.name_off, p.name_len); };
  auto value = [&](const Pair& p) { return std::string_view(scratch_).substr(p.value_off, p.value_len); };
  // The first of a name wins; past max_label_names distinct names (in the order gathered: extra
  // labels, <label>, Kubernetes labels) the rest are dropped, as Loki would refuse the stream.
  // Every pair passes the cardinality guard first (a name's first pair may be refused and a
  // later one of the same name admitted).
  admitted_.assign(pairs_.size(), 0);
  for (uint32_t i = 0; i < pairs_.size(); ++i) admitted_[i] = admitLabel(name(pairs_[i]), value(pairs_[i])) ? 1 : 0;
  kept_.clear();
  size_t over = 0;
  for (uint32_t i = 0; i < pairs_.size(); ++i) {
    if (!admitted_[i]) continue;
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
    appendLokiLabelValue(out, value(p));
    out += '"';
  }
  out += '}';
  return over;
}

}  // namespace sluice::plugins::out_loki
