// SPDX-License-Identifier: Apache-2.0
// The loki output on one thread: events → format (label set from <label> fields, JSON line)
// → push (streams grouped, entries sorted, protobuf + snappy, or JSON) to the Loki stand-in in
// its fast mode (decoded and counted), running in a child process so that its CPU is
// measured apart.
//   sluice_loki_push_bench [EVENTS] [json]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/output_bench.h"
#include "bench/w1.h"
#include "core/json.h"
#include "core/plugin_api.h"
#include "core/time.h"
#include "engine/standalone.h"
#include "standins/loki.h"

using namespace sluice;

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const bool json = argc > 2 && std::strcmp(argv[2], "json") == 0;
  int port = 0;
  testing::LokiStandIn* loki = nullptr;  // the child's
  pid_t child = bench::startChildServer(
      port,
      [&] {
        loki = new testing::LokiStandIn;
        loki->setFastMode(true);
        loki->setSampleAgeLimits(0, 0);
        if (!loki->start()) return -1;
        std::string url = loki->url();
        return std::atoi(url.substr(url.rfind(':') + 1).c_str());
      },
      [&] { std::fprintf(stderr, "stand-in: %zu entries in %d pushes\n", loki->entryCount(), loki->pushRequests()); });

  engine::StandaloneFactory factory;
  std::string conf = "url http://127.0.0.1:" + std::to_string(port) +
                     "\nline_format json\n<label>\n namespace $.kubernetes.namespace_name\n"
                     " pod $.kubernetes.pod_name\n container $.kubernetes.container_name\n stream\n</label>\n";
  if (json) conf += "encoding json\n";
  PluginPtr keep;
  Output* out = bench::startOutput(factory, "loki", conf, keep);

  // W1 records from 20 pods (20 streams), parsed into batches of 1,000 before the clock starts.
  const std::vector<Batch> batches = bench::w1Batches(n, "kubernetes.api", [](long j) {
    return ",\"stream\":\"stdout\",\"kubernetes\":{\"namespace_name\":\"agentarea\",\"pod_name\":\"api-7d9f8b6c5-" +
           std::to_string(j % 20) + "\",\"container_name\":\"api\"}}";
  });

  // Chunks of 1 MiB (Loki's clients push about that much at a time).
  bench::OutputRun run = bench::runOutput(*out, batches, 1u << 20);
  const double child_cpu = bench::stopChildServer(child);

  std::printf("%ld entries, %s, %zu pushes, %.1f MB formatted (%.0f bytes/entry)\n", n,
              json ? "json" : "protobuf+snappy", run.chunks, double(run.bytes) / 1e6, double(run.bytes) / double(n));
  std::printf("format: %.3f s, %.0f entries/s\n", run.format_s, double(n) / run.format_s);
  std::printf("write:  %.3f s, %.0f entries/s\n", run.write_s, double(n) / run.write_s);
  std::printf("format+write on one thread: %.3f s wall, %.0f entries/s; sluice cpu %.2f s; stand-in cpu %.2f s\n",
              run.wall_s, double(n) / run.wall_s, run.cpu_s, child_cpu);
  return 0;
}
