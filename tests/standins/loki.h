// SPDX-License-Identifier: Apache-2.0
#pragma once

// A Loki stand-in for the tests: a real HTTP server on 127.0.0.1 with `POST /loki/api/v1/push`
// (snappy-compressed protobuf, Loki's native encoding, and JSON, plain or gzip) and `GET /ready`.
// It applies Loki's rules as its push path does: 204 on success; with a tenant required, 401
// "no org id" without X-Scope-OrgID; per stream, an entry older than the stream's newest by
// more than the configured window is refused with "entry too far behind" (Loki >= 2.4's
// unordered writes), as are entries too old or too new for the wall clock; the rest of the
// request is kept, and the answer is a 400 whose text/plain
// body lists the refused entries as the ingester does; lines longer than the limit are refused
// with Loki's message; 429 on demand. The messages follow
// ../shared/fixtures/loki/error-message-formats.txt. It keeps every stream and entry.

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

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
  void setMaxLineSize(size_t bytes);  // 0: no limit (Loki's default 256 KB is not applied)
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
  std::vector<std::string> contentTypes() const;

 private:
  void handlePush(const httplib::Request& req, httplib::Response& res);
  // Applies one stream of a request; appends Loki's per-entry error lines to `errors`.
  void addStream(const std::string& tenant, const std::string& labels, std::vector<Entry> entries,
                 std::string& errors, int& refused);

  struct StoredStream {
    std::vector<Entry> entries;
    int64_t newest = INT64_MIN;
    std::set<std::pair<int64_t, std::string>> seen;  // (time, line): Loki keeps one of each
  };

  HttpServer http_;
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, StoredStream>> tenants_;
  bool tenant_required_ = false;
  int64_t window_ns_ = 3600LL * 1'000'000'000;
  size_t max_line_size_ = 0;
  int64_t max_age_ns_ = 7 * 24 * 3600LL * 1'000'000'000, grace_ns_ = 600LL * 1'000'000'000;
  int fail_count_ = 0, fail_status_ = 0, fail_retry_after_ = -1;
  int push_requests_ = 0;
  bool fast_ = false;
  size_t fast_count_ = 0;
  std::vector<std::string> content_types_;
};

// Loki's label-set text for a list of pairs: {a="1", b="2"}, sorted by name, values escaped.
std::string lokiLabels(std::vector<std::pair<std::string, std::string>> pairs);
// Parses {a="1",b="2"} (any spacing); false on a syntax error.
bool parseLokiLabels(std::string_view text, std::vector<std::pair<std::string, std::string>>& out);

}  // namespace sluice::testing
