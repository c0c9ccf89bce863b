// SPDX-License-Identifier: Apache-2.0
#pragma once

// The W1 workload record: an API server's JSON log line of about 242 bytes (time, level,
// logger, message, method, path, status, duration, request id, user id, bytes), generated
// from a xorshift state so that every run writes the same lines.

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sluice::bench {

// Appends line `i` (without a newline) and advances `x`.
inline void appendW1Line(std::string& out, long i, uint64_t& x) {
  static const char* kLevels[] = {"info", "info", "info", "warn", "error", "debug"};
  static const char* kPaths[] = {"/api/v1/agents", "/api/v1/tasks/42", "/healthz", "/api/v1/users/me", "/metrics"};
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  char line[512];
  int len = std::snprintf(
      line, sizeof(line),
      "{\"time\":\"2026-11-22T01:%02d:%02d.%06" PRIu64 "Z\",\"level\":\"%s\",\"logger\":\"agentarea.api\","
      "\"message\":\"request completed\",\"method\":\"GET\",\"path\":\"%s\",\"status\":%d,"
      "\"duration_ms\":%.3f,\"request_id\":\"%016" PRIx64 "\",\"user_id\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
      int(i / 60000 % 60), int(i / 1000 % 60), x % 1000000, kLevels[x % 6], kPaths[(x >> 8) % 5],
      (x % 7 == 0) ? 500 : 200, double(x % 100000) / 1000.0, x, (x >> 20) % 100000, (x >> 12) % 65536);
  out.append(line, static_cast<size_t>(len));
}

}  // namespace sluice::bench
