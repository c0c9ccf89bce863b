// SPDX-License-Identifier: Apache-2.0
// Writes N CRI container log lines spread over F files in DIR, as containerd does:
// `<RFC3339Nano> stdout F <json>`.
//   sluice_gen_cri DIR N F [small|node]
// small (the default): ~258-byte lines with a 9-field JSON payload, files app-<f>_default_main-….log.
// node: the issue-20 workload (bench/node_workload.h): 352-byte lines on average, the files of
// 8 pods in 5 namespaces (F at most 8).

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/node_workload.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s DIR LINES FILES [small|node]\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  long n = std::atol(argv[2]);
  int files = std::atoi(argv[3]);
  const bool node = argc > 4 && std::strcmp(argv[4], "node") == 0;
  if (argc > 4 && !node && std::strcmp(argv[4], "small") != 0) {
    std::fprintf(stderr, "unknown workload %s (small or node)\n", argv[4]);
    return 2;
  }
  if (node && (files < 1 || files > sluice::bench::kNodePodCount)) {
    std::fprintf(stderr, "the node workload has %d pods: FILES must be 1..%d\n", sluice::bench::kNodePodCount,
                 sluice::bench::kNodePodCount);
    return 2;
  }
  std::vector<FILE*> out;
  for (int f = 0; f < files; ++f) {
    // The kubelet's /var/log/containers name: <pod>_<namespace>_<container>-<64 hex id>.log
    std::string path = node ? dir + "/" + sluice::bench::nodeLogName(f)
                            : dir + "/app-" + std::to_string(f) +
                                  "_default_main-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.log";
    out.push_back(std::fopen(path.c_str(), "w"));
    if (!out.back()) return 1;
    std::setvbuf(out.back(), nullptr, _IOFBF, 1 << 20);
  }
  static const char* kLevels[] = {"info", "info", "warn", "error", "debug"};
  uint64_t x = 88172645463325252ULL;
  std::string line;
  for (long i = 0; i < n; ++i) {
    FILE* f = out[static_cast<size_t>(i % files)];
    if (node) {
      line.clear();
      sluice::bench::appendNodeLine(line, i, x);
      std::fwrite(line.data(), 1, line.size(), f);
      continue;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
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
