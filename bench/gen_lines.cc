// SPDX-License-Identifier: Apache-2.0
// Writes N JSON log lines of about 250 bytes to stdout: the W1-style workload of bench/.
//   sluice_gen N [seed]

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  uint64_t x = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 42;
  static const char* kLevels[] = {"info", "info", "info", "warn", "error", "debug"};
  static const char* kPaths[] = {"/api/v1/agents", "/api/v1/tasks/42", "/healthz", "/api/v1/users/me", "/metrics"};
  std::string out;
  out.reserve(1 << 20);
  for (long i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    char line[512];
    int len = std::snprintf(
        line, sizeof(line),
        "{\"time\":\"2026-11-22T01:%02d:%02d.%06" PRIu64 "Z\",\"level\":\"%s\",\"logger\":\"agentarea.api\","
        "\"message\":\"request completed\",\"method\":\"GET\",\"path\":\"%s\",\"status\":%d,"
        "\"duration_ms\":%.3f,\"request_id\":\"%016" PRIx64 "\",\"user_id\":%" PRIu64 ",\"bytes\":%" PRIu64 "}\n",
        int(i / 60000 % 60), int(i / 1000 % 60), x % 1000000, kLevels[x % 6], kPaths[(x >> 8) % 5],
        (x % 7 == 0) ? 500 : 200, double(x % 100000) / 1000.0, x, (x >> 20) % 100000, (x >> 12) % 65536);
    out.append(line, len);
    if (out.size() > (1 << 20) - 512) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
