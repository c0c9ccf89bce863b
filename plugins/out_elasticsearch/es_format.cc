// SPDX-License-Identifier: Apache-2.0
// The Elasticsearch output's format() (on the input threads, one batch at a time, under
// format_mu_ which guards the index-name and @timestamp caches): per event the bulk action line
// (index, _type while the cluster takes it, _id) and the source line, and the deterministic _id
// (XXH3-128 of tag, time and where the event was read, or of the source) written into its hole
// once the source is serialised.
#include "plugins/out_elasticsearch/es_output.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>

#include "plugins/out_elasticsearch/es_internal.h"
#include "plugins/out_elasticsearch/es_record_keys.h"

namespace sluice::plugins::out_elasticsearch {
namespace {

constexpr std::string_view kTimestamp = "@timestamp";
constexpr size_t kIdLen = 22;  // base64url of 128 bits

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
  if (record_keys_) format_scratch_.reset();
  for (const Event& e : batch.events()) {
    formatOne(e, out);
    out.endEvent();
  }
}

void EsOutput::formatOne(const Event& event, FormattedEvents& events) {
  std::string& out = events.bytes;
  Value edited;
  const Value& record =
      record_keys_ ? record_keys_->apply(event.record, format_scratch_, edited, target_index_) : event.record;
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
  if (record_keys_ && !target_index_.empty()) {
    out += "\"_index\":";
    appendJsonString(out, target_index_);
    comma = true;
  } else if (!dynamic_index_) {
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
  if (const Value* routing = record_keys_ ? record_keys_->routing(record) : nullptr; routing && !routing->isNull()) {
    if (comma) out += ',';
    appendJsonString(out, record_keys_->routingMeta());
    out += ':';
    if (routing->isString()) {
      appendJsonString(out, routing->asString());
    } else {
      appendJsonString(out, scalarText(*routing));  // a number: rare, a small string
    }
  }
  out += "}}\n";

  // Source line.
  const size_t source_at = out.size();
  const size_t splices_at = events.splices.size();
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
  }, true, &events);
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
      // The source as sent: its spliced pieces (the pod metadata a file buffer keeps once per
      // chunk) put back in, so the _id is the same whichever buffer the output has.
      size_t at = source_at;
      for (size_t k = splices_at; k < events.splices.size(); ++k) {
        const Splice& piece = events.splices[k];
        XXH3_128bits_update(&state, out.data() + at, piece.at - at);
        XXH3_128bits_update(&state, piece.text.data(), piece.text.size());
        at = piece.at;
      }
      XXH3_128bits_update(&state, out.data() + at, out.size() - at);
    }
    writeId(out.data() + id_at, XXH3_128bits_digest(&state));
  }
}

}  // namespace sluice::plugins::out_elasticsearch
