// SPDX-License-Identifier: Apache-2.0
#include "standins/loki.h"

#include <simdjson.h>
#include <snappy.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>

#include "loki_push.pb.h"  // generated from standins/loki_push.proto

namespace sluice::testing {
namespace {

// Go's time.Time.String() in UTC: 2021-07-17 06:34:49.020024184 +0000 UTC.
std::string goTime(int64_t ns) {
  time_t s = static_cast<time_t>(ns / 1'000'000'000);
  int64_t frac = ns % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --s;
  }
  std::tm tm;
  gmtime_r(&s, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  std::string out(buf, n);
  if (frac != 0) {
    char f[16];
    std::snprintf(f, sizeof(f), ".%09lld", static_cast<long long>(frac));
    std::string fs(f);
    while (fs.back() == '0') fs.pop_back();  // Go trims trailing zeros
    out += fs;
  }
  return out + " +0000 UTC";
}

std::string rfc3339(int64_t ns) {
  time_t s = static_cast<time_t>(ns / 1'000'000'000);
  if (ns < 0 && ns % 1'000'000'000 != 0) --s;
  std::tm tm;
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void plainError(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(message + "\n", "text/plain; charset=utf-8");
}

}  // namespace

LokiStandIn::LokiStandIn() {
  auto& s = http_.server();
  s.Post("/loki/api/v1/push", [this](const httplib::Request& req, httplib::Response& res) { handlePush(req, res); });
  s.Get("/ready", [](const httplib::Request&, httplib::Response& res) { res.set_content("ready\n", "text/plain"); });
}

void LokiStandIn::requireTenant(bool required) {
  std::lock_guard lock(mu_);
  tenant_required_ = required;
}

void LokiStandIn::setReorderWindow(int64_t ns) {
  std::lock_guard lock(mu_);
  window_ns_ = ns;
}

void LokiStandIn::setMaxLineSize(size_t bytes) {
  std::lock_guard lock(mu_);
  max_line_size_ = bytes;
}

void LokiStandIn::setIngestionLimits(int64_t rate_bytes, int64_t burst_bytes) {
  std::lock_guard lock(mu_);
  rate_ = static_cast<double>(rate_bytes);
  burst_ = tokens_ = static_cast<double>(burst_bytes);
  tokens_at_ns_ = 0;
}

void LokiStandIn::setMaxLabelNames(int n) {
  std::lock_guard lock(mu_);
  max_label_names_ = n;
}

void LokiStandIn::setPerStreamLimits(int64_t rate_bytes, int64_t burst_bytes) {
  std::lock_guard lock(mu_);
  stream_rate_ = static_cast<double>(rate_bytes);
  stream_burst_ = static_cast<double>(burst_bytes);
}

void LokiStandIn::setGroupedErrors(bool grouped) {
  std::lock_guard lock(mu_);
  grouped_errors_ = grouped;
}

void LokiStandIn::setSampleAgeLimits(int64_t max_age_ns, int64_t grace_ns) {
  std::lock_guard lock(mu_);
  max_age_ns_ = max_age_ns;
  grace_ns_ = grace_ns;
}

void LokiStandIn::failNextPushes(int count, int status, int retry_after_s) {
  std::lock_guard lock(mu_);
  fail_count_ = count;
  fail_status_ = status;
  fail_retry_after_ = retry_after_s;
}

std::map<std::string, std::vector<LokiStandIn::Entry>> LokiStandIn::streams(const std::string& tenant) const {
  std::lock_guard lock(mu_);
  std::map<std::string, std::vector<Entry>> out;
  if (auto it = tenants_.find(tenant); it != tenants_.end()) {
    for (const auto& [labels, stream] : it->second) out[labels] = stream.entries;
  }
  return out;
}

void LokiStandIn::setFastMode(bool fast) {
  std::lock_guard lock(mu_);
  fast_ = fast;
}

size_t LokiStandIn::entryCount() const {
  std::lock_guard lock(mu_);
  size_t n = fast_count_;
  for (const auto& [tenant, streams] : tenants_) {
    for (const auto& [labels, stream] : streams) n += stream.entries.size();
  }
  return n;
}

int LokiStandIn::pushRequests() const {
  std::lock_guard lock(mu_);
  return push_requests_;
}

std::vector<size_t> LokiStandIn::pushBytes() const {
  std::lock_guard lock(mu_);
  return push_bytes_;
}

std::vector<std::string> LokiStandIn::contentTypes() const {
  std::lock_guard lock(mu_);
  return content_types_;
}

void LokiStandIn::handlePush(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard lock(mu_);
  ++push_requests_;
  std::string content_type = req.get_header_value("Content-Type");
  content_types_.push_back(content_type);
  std::string tenant = req.get_header_value("X-Scope-OrgID");
  if (tenant_required_ && tenant.empty()) return plainError(res, 401, "no org id");
  if (fail_count_ > 0) {
    --fail_count_;
    if (fail_retry_after_ >= 0) res.set_header("Retry-After", std::to_string(fail_retry_after_));
    return plainError(res, fail_status_,
                      fail_status_ == 429 ? "ingestion rate limit exceeded for user " + (tenant.empty() ? "fake" : tenant) +
                                                " (limit: 4194304 bytes/sec) while attempting to ingest '1' lines totaling '1' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased"
                                          : "stand-in: injected failure");
  }

  // Decoded into (labels text, entries) pairs.
  std::vector<std::pair<std::string, std::vector<Entry>>> pushed;
  if (content_type.rfind("application/x-protobuf", 0) == 0) {
    std::string raw;
    if (!snappy::Uncompress(req.body.data(), req.body.size(), &raw)) {
      return plainError(res, 400, "snappy: corrupt input");
    }
    sluice::loki::PushRequest request;
    if (!request.ParseFromString(raw)) return plainError(res, 400, "proto: cannot parse PushRequest");
    if (fast_) {  // decoded and counted, not kept
      for (const auto& stream : request.streams()) fast_count_ += static_cast<size_t>(stream.entries_size());
      res.status = 204;
      return;
    }
    for (const auto& stream : request.streams()) {
      std::vector<Entry> entries;
      for (const auto& e : stream.entries()) {
        Entry entry{e.timestamp().seconds() * 1'000'000'000 + e.timestamp().nanos(), e.line(), {}};
        for (const auto& m : e.structured_metadata()) entry.structured_metadata.emplace_back(m.name(), m.value());
        entries.push_back(std::move(entry));
      }
      pushed.emplace_back(stream.labels(), std::move(entries));
    }
  } else if (content_type.rfind("application/json", 0) == 0) {
    simdjson::dom::parser parser;
    simdjson::dom::array streams;
    if (parser.parse(req.body)["streams"].get_array().get(streams) != simdjson::SUCCESS) {
      return plainError(res, 400, "loghttp.PushRequest.Streams: ReadArray: expect [ or n");
    }
    for (simdjson::dom::element stream : streams) {
      simdjson::dom::object labels;
      simdjson::dom::array values;
      if (stream["stream"].get_object().get(labels) != simdjson::SUCCESS ||
          stream["values"].get_array().get(values) != simdjson::SUCCESS) {
        return plainError(res, 400, "loghttp.PushRequest.Streams: stream and values are required");
      }
      std::vector<std::pair<std::string, std::string>> pairs;
      for (auto field : labels) {
        std::string_view v;
        if (field.value.get_string().get(v) != simdjson::SUCCESS) return plainError(res, 400, "label values must be strings");
        pairs.emplace_back(std::string(field.key), std::string(v));
      }
      std::vector<Entry> entries;
      for (simdjson::dom::element value : values) {
        simdjson::dom::array tuple;
        std::string_view ts, line;
        if (value.get_array().get(tuple) != simdjson::SUCCESS || tuple.at(0).get_string().get(ts) != simdjson::SUCCESS ||
            tuple.at(1).get_string().get(line) != simdjson::SUCCESS) {
          return plainError(res, 400, "loghttp.PushRequest.Streams: values must be [\"<ns>\", \"<line>\"]");
        }
        int64_t ns = 0;
        auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), ns);
        if (ec != std::errc() || end != ts.data() + ts.size()) {
          return plainError(res, 400, "loghttp.PushRequest.Streams: timestamp is not an integer of nanoseconds");
        }
        Entry entry{ns, std::string(line), {}};
        simdjson::dom::object meta;
        if (tuple.at(2).get_object().get(meta) == simdjson::SUCCESS) {
          for (auto field : meta) {
            std::string_view v;
            if (field.value.get_string().get(v) == simdjson::SUCCESS) entry.structured_metadata.emplace_back(std::string(field.key), std::string(v));
          }
        }
        entries.push_back(std::move(entry));
      }
      pushed.emplace_back(lokiLabels(std::move(pairs)), std::move(entries));
    }
  } else {
    return plainError(res, 415, "unsupported Content-Type " + content_type);
  }

  // The distributor: labels, then entries (pkg/distributor/validator.go).
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<std::string> invalid;  // validation errors in order
  std::vector<std::pair<std::string, std::vector<Entry>>> valid;
  size_t valid_bytes = 0, valid_lines = 0;
  for (auto& [text, entries] : pushed) {
    // The stand-in's own reading of Loki's label syntax (loki_labels.h), not the output's.
    LabelPairs pairs;
    if (std::string error = parseLokiLabels(text, pairs); !error.empty()) {
      invalid.push_back("error parsing labels '" + text + "' with error: " + error);
      continue;
    }
    if (pairs.empty()) {
      invalid.push_back("error at least one label pair is required per stream");
      continue;
    }
    const std::string labels = lokiLabels(pairs);
    std::string label_error;
    if (max_label_names_ > 0 && pairs.size() > static_cast<size_t>(max_label_names_)) {
      label_error = "entry for stream '" + labels + "' has " + std::to_string(pairs.size()) + " label names; limit " +
                    std::to_string(max_label_names_);
    }
    for (size_t k = 0; k < pairs.size() && label_error.empty(); ++k) {
      if (pairs[k].first.size() > 1024) {
        label_error = "stream '" + labels + "' has label name too long: '" + pairs[k].first + "'";
      } else if (pairs[k].second.size() > 2048) {
        label_error = "stream '" + labels + "' has label value too long: '" + pairs[k].second + "'";
      } else if (k > 0 && pairs[k].first == pairs[k - 1].first) {
        label_error = "stream '" + labels + "' has duplicate label name: '" + pairs[k].first + "'";
      }
    }
    if (!label_error.empty()) {
      invalid.push_back(std::move(label_error));
      continue;
    }
    std::vector<Entry> kept;
    for (Entry& e : entries) {
      if (max_age_ns_ != 0 && e.time_ns < now - max_age_ns_) {
        invalid.push_back("entry for stream '" + labels + "' has timestamp too old: " + goTime(e.time_ns) +
                          ", oldest acceptable timestamp is: " + goTime(now - max_age_ns_));
      } else if (grace_ns_ != 0 && e.time_ns > now + grace_ns_) {
        invalid.push_back("entry for stream '" + labels + "' has timestamp too new: " + goTime(e.time_ns));
      } else if (max_line_size_ != 0 && e.line.size() > max_line_size_) {
        invalid.push_back("max entry size '" + std::to_string(max_line_size_) + "' bytes exceeded for stream '" + labels +
                          "' while adding an entry with length '" + std::to_string(e.line.size()) + "' bytes");
      } else {
        valid_bytes += e.line.size();
        ++valid_lines;
        kept.push_back(std::move(e));
      }
    }
    if (!kept.empty()) valid.emplace_back(labels, std::move(kept));
  }
  // util.GroupedErrors (Loki 3) or the last error alone (Loki 2).
  std::string validation;
  if (!invalid.empty() && !grouped_errors_) {
    validation = invalid.back();
  } else if (!invalid.empty()) {
    std::vector<std::pair<std::string, int>> groups;
    for (const std::string& m : invalid) {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == m; });
      if (it == groups.end()) {
        groups.emplace_back(m, 1);
      } else {
        ++it->second;
      }
    }
    for (size_t k = 0; k < groups.size(); ++k) {
      if (k) validation += "; ";
      if (groups.size() > 1 || groups[k].second > 1) validation += std::to_string(groups[k].second) + " errors like: ";
      validation += groups[k].first;
    }
  }
  if (valid.empty()) {
    if (!validation.empty()) return plainError(res, 400, validation);
    res.status = 204;
    return;
  }
  push_bytes_.push_back(valid_bytes);
  // The tenant's rate limiter (dskit's limiter.RateLimiter.AllowN on the validated bytes).
  if (rate_ > 0) {
    if (tokens_at_ns_ != 0) tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now - tokens_at_ns_) / 1e9);
    tokens_at_ns_ = now;
    if (static_cast<double>(valid_bytes) > tokens_) {
      return plainError(res, 429, "ingestion rate limit exceeded for user " + (tenant.empty() ? "fake" : tenant) +
                                      " (limit: " + std::to_string(static_cast<int64_t>(rate_)) +
                                      " bytes/sec) while attempting to ingest '" + std::to_string(valid_lines) +
                                      "' lines totaling '" + std::to_string(valid_bytes) +
                                      "' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased");
    }
    tokens_ -= static_cast<double>(valid_bytes);
  }
  std::string ingester;
  int ingester_status = 400;
  for (auto& [labels, entries] : valid) {
    int status = 400;
    std::string error = addStream(tenant, labels, std::move(entries), status, now);
    if (!error.empty()) {  // the last one wins
      ingester = std::move(error);
      ingester_status = status;
    }
  }
  if (!ingester.empty()) return plainError(res, ingester_status, ingester);
  if (!validation.empty()) return plainError(res, 400, validation);
  res.status = 204;
}

std::string LokiStandIn::addStream(const std::string& tenant, const std::string& labels, std::vector<Entry> entries,
                                   int& status, int64_t now) {
  StoredStream& stored = tenants_[tenant][labels];
  int64_t& newest = stored.newest;
  std::string lines;
  int ignored = 0;
  const size_t total = entries.size();
  // The per-stream rate limiter over the whole push's entries of the stream
  // (rate_limit_whole_stream): all of them are refused, 429.
  if (stream_rate_ > 0) {
    size_t bytes = 0;
    for (const Entry& e : entries) bytes += e.line.size();
    if (stored.tokens < 0) stored.tokens = stream_burst_;
    if (stored.tokens_at_ns != 0) {
      stored.tokens = std::min(stream_burst_, stored.tokens + stream_rate_ * static_cast<double>(now - stored.tokens_at_ns) / 1e9);
    }
    stored.tokens_at_ns = now;
    if (static_cast<double>(bytes) > stored.tokens) {
      const std::string why = "Per stream rate limit exceeded (limit: " + std::to_string(static_cast<int64_t>(stream_rate_) >> 20) +
                              " MB/sec) while attempting to ingest for stream '" + labels + "' totaling " +
                              std::to_string(bytes) + "B, consider splitting a stream via additional labels or contact your "
                              "Loki administrator to see if the limit can be increased";
      for (size_t k = 0; k < entries.size() && k < 10; ++k) {
        lines += "entry with timestamp " + goTime(entries[k].time_ns) + " ignored, reason: '" + why + "',\n";
      }
      if (stored.entries.empty()) tenants_[tenant].erase(labels);
      status = 429;
      return lines + "user '" + (tenant.empty() ? "fake" : tenant) + "', total ignored: " + std::to_string(total) +
             " out of " + std::to_string(total) + " for stream: " + labels;
    }
    stored.tokens -= static_cast<double>(bytes);
  }
  for (Entry& e : entries) {
    if (newest != INT64_MIN && e.time_ns < newest - window_ns_) {
      if (ignored < 10) {  // max_returned_stream_errors
        lines += "entry with timestamp " + goTime(e.time_ns) + " ignored, reason: 'entry too far behind, entry timestamp is: " +
                 rfc3339(e.time_ns) + ", oldest acceptable timestamp is: " + rfc3339(newest - window_ns_) + "',\n";
      }
      ++ignored;
      continue;
    }
    // An entry identical to one already stored (same time and line) is dropped silently.
    if (!stored.seen.emplace(e.time_ns, e.line).second) continue;
    newest = std::max(newest, e.time_ns);
    stored.entries.push_back(std::move(e));
  }
  if (stored.entries.empty()) tenants_[tenant].erase(labels);
  if (ignored == 0) return {};
  return lines + "user '" + (tenant.empty() ? "fake" : tenant) + "', total ignored: " + std::to_string(ignored) +
         " out of " + std::to_string(total) + " for stream: " + labels;
}

}  // namespace sluice::testing
