// SPDX-License-Identifier: Apache-2.0
// Writes N CRI container log lines (~250 bytes, a JSON application payload) spread over F
// files in DIR, as containerd does: `<RFC3339Nano> stdout F <json>`.
//   sluice_gen_cri DIR N F

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DIR LINES FILES\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  long n = std::atol(argv[2]);
  int files = std::atoi(argv[3]);
  std::vector<FILE*> out;
  for (int f = 0; f < files; ++f) {
    // The kubelet's /var/log/containers name: <pod>_<namespace>_<container>-<64 hex id>.log
    std::string path = dir + "/app-" + std::to_string(f) +
                       "_default_main-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log";
    out.push_back(std::fopen(path.c_str(), "w"));
    if (!out.back()) return 1;
    std::setvbuf(out.back(), nullptr, _IOFBF, 1 << 20);
  }
  static const char* kLevels[] = {"info", "info", "warn", "error", "debug"};
  uint64_t x = 88172645463325252ULL;
  for (long i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    FILE* f = out[static_cast<size_t>(i % files)];
    std::fprintf(f,
                 "2026-11-22T01:%02d:%02d.%09" PRIu64 "Z stdout F {\"time\":\"2026-11-22T01:%02d:%02d.%06" PRIu64
                 "Z\",\"level\":\"%s\",\"logger\":\"agentarea.api\",\"message\":\"request completed\","
                 "\"method\":\"GET\",\"path\":\"/api/v1/agents/%" PRIu64 "\",\"status\":%d,\"duration_ms\":%.2f,"
                 "\"request_id\":\"%016" PRIx64 "\"}\n",
                 int(i / 60000 % 60), int(i / 1000 % 60), x % 1000000000, int(i / 60000 % 60), int(i / 1000 % 60),
                 x % 1000000, kLevels[x % 5], (x >> 20) % 1000, (x % 9 == 0) ? 500 : 200,
                 double(x % 100000) / 100.0, x);
  }
  for (FILE* f : out) std::fclose(f);
  return 0;
}
