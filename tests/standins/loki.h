// SPDX-License-Identifier: Apache-2.0
#pragma once

// A Loki stand-in for the tests: a real HTTP server on 127.0.0.1 with `POST /loki/api/v1/push`
// (snappy-compressed protobuf, Loki's native encoding, and JSON, plain or gzip) and `GET /ready`.
// It answers as Loki's push path does, with Loki's defaults (pkg/validation/limits.go) and
// messages (../shared/fixtures/loki/error-message-formats.txt):
// - 204 on success; with a tenant required, 401 "no org id" without X-Scope-OrgID;
// - the distributor's validation, stream by stream: at most 15 label names
//   (max_label_names_per_series), names of at most 1024 and values of at most 2048 bytes, no
//   duplicate names; then entry by entry: too old (reject_old_samples_max_age, 1 week) or too
//   new (creation_grace_period, 10 min) for the wall clock, lines over max_line_size (256 KB).
//   Refused streams and entries are dropped, the rest goes on; the answer is a 400 whose body
//   lists the validation errors grouped as util.GroupedErrors does ("N errors like: <msg>; ...",
//   Loki 3) or, in the Loki 2 style, only the last one;
// - the tenant's ingestion rate limit (ingestion_rate_mb 4, ingestion_burst_size_mb 6): a token
//   bucket of the validated line bytes; a push that does not fit is refused whole with 429, so a
//   push over the burst is refused however often it is sent;
// - the ingester, stream by stream: a stream's entries over its rate limit (per_stream_rate_limit
//   3 MB/s, burst 15 MB, the whole push's entries of the stream at once) are refused with 429
//   "Per stream rate limit exceeded"; an entry older than the stream's newest by more than the
//   reorder window is refused ("entry too far behind", unordered writes since Loki 2.4), an
//   entry identical to a stored one (time and line) dropped silently; a stream's errors are
//   listed one line per entry, at most max_returned_stream_errors (10), then "user ..., total
//   ignored: N out of M for stream: L"; only the last failing stream's error is returned, and
//   it replaces the validation errors in the answer (the distributor returns the ingester's
//   error when there is one);
// - 429s on demand. It keeps every stream and entry.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "standins/loki_labels.h"
#include "support/http_server.h"

namespace sluice::testing {

class LokiStandIn {
 public:
  struct Entry {
    int64_t time_ns;
    std::string line;
    std::vector<std::pair<std::string, std::string>> structured_metadata;
  };

  LokiStandIn();
  bool start() { return http_.start(); }
  void stop() { http_.stop(); }
  std::string url(std::string_view path = "") const { return http_.url(path); }

  void requireTenant(bool required);
  void setReorderWindow(int64_t ns);  // default 1 h: Loki's max_chunk_age / 2
  void setMaxLineSize(size_t bytes);  // default 256 KB (Loki's max_line_size); 0: no limit
  // The tenant's ingestion rate and burst in bytes (default 4 MiB/s and 6 MiB); 0: no limit.
  void setIngestionLimits(int64_t rate_bytes, int64_t burst_bytes);
  void setMaxLabelNames(int n);  // default 15
  // Each stream's rate and burst in bytes (per_stream_rate_limit 3 MB, _burst 15 MB); 0: none.
  void setPerStreamLimits(int64_t rate_bytes, int64_t burst_bytes);
  // Loki 3 groups the distributor's validation errors; Loki 2 returned only the last one.
  void setGroupedErrors(bool grouped);
  // The distributor's age checks against the wall clock: refuse entries older than `max_age_ns`
  // (reject_old_samples_max_age, default 1 week) or newer than now + `grace_ns`
  // (creation_grace_period, default 10 min). 0 turns a check off.
  void setSampleAgeLimits(int64_t max_age_ns, int64_t grace_ns);
  void failNextPushes(int count, int status, int retry_after_s = -1);
  // Fast mode, for benchmarks: protobuf pushes are decompressed and decoded, their entries
  // counted (entryCount()) but not kept or checked.
  void setFastMode(bool fast);

  // Streams by tenant ("" without one) and label set as the client sent it, normalised to
  // Loki's form: {a="1", b="2"} sorted by name.
  std::map<std::string, std::vector<Entry>> streams(const std::string& tenant = "") const;
  size_t entryCount() const;
  int pushRequests() const;
  // Line bytes of each push the stand-in took in (after validation, before the rate limit).
  std::vector<size_t> pushBytes() const;
  std::vector<std::string> contentTypes() const;

 private:
  void handlePush(const httplib::Request& req, httplib::Response& res);
  // The ingester: applies one stream of a request; returns its error text ("" if none) and sets
  // `status` to the answer's (400, or 429 for the per-stream rate limit).
  std::string addStream(const std::string& tenant, const std::string& labels, std::vector<Entry> entries, int& status,
                        int64_t now);

  struct StoredStream {
    std::vector<Entry> entries;
    int64_t newest = INT64_MIN;
    std::set<std::pair<int64_t, std::string>> seen;  // (time, line): Loki keeps one of each
    double tokens = -1;  // the per-stream rate limiter's bucket (-1: full)
    int64_t tokens_at_ns = 0;
  };

  HttpServer http_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, StoredStream>> tenants_;
  bool tenant_required_ = false;
  int64_t window_ns_ = 3600LL * 1'000'000'000;
  size_t max_line_size_ = 256 * 1024;
  int max_label_names_ = 15;
  bool grouped_errors_ = true;
  double rate_ = 4 << 20, burst_ = 6 << 20, tokens_ = 6 << 20;
  double stream_rate_ = 3 << 20, stream_burst_ = 15 << 20;
  int64_t tokens_at_ns_ = 0;
  int64_t max_age_ns_ = 7 * 24 * 3600LL * 1'000'000'000, grace_ns_ = 600LL * 1'000'000'000;
  int fail_count_ = 0, fail_status_ = 0, fail_retry_after_ = -1;
  int push_requests_ = 0;
  std::vector<size_t> push_bytes_;
  bool fast_ = false;
  size_t fast_count_ = 0;
  std::vector<std::string> content_types_;
};


}  // namespace sluice::testing
