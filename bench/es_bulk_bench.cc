// SPDX-License-Identifier: Apache-2.0
// The elasticsearch output on one thread: events → format (action + source lines, logstash
// index, @timestamp, tag, deterministic _id) → _bulk requests to the Elasticsearch stand-in in
// its fast mode, running in a child process so that its CPU is measured apart.
//   sluice_es_bulk_bench [EVENTS] [gzip]
// Prints events/s and bulk-body MB/s for format alone, write alone and both, and the CPU
// seconds of this process and of the stand-in.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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
#include "standins/elasticsearch.h"

using namespace sluice;

namespace {

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const bool gzip = argc > 2 && std::strcmp(argv[2], "gzip") == 0;
  int port = 0;
  testing::ElasticsearchStandIn* es = nullptr;  // the child's
  pid_t child = bench::startChildServer(
      port,
      [&] {
        es = new testing::ElasticsearchStandIn(testing::ElasticsearchStandIn::Flavor::Es8);
        es->setFastMode(true);
        return es->start() ? es->port() : -1;
      },
      [&] { std::fprintf(stderr, "stand-in: %zu documents in %d bulk requests\n", es->documentCount(), es->bulkRequests()); });

  engine::StandaloneFactory factory;
  std::string conf = "host 127.0.0.1\nport " + std::to_string(port) +
                     "\nlogstash_format true\nlogstash_prefix agentarea\ninclude_tag_key true\ntag_key @log_name\n";
  if (gzip) conf += "compression_level best_speed\n";
  PluginPtr keep;
  Output* out = bench::startOutput(factory, "elasticsearch", conf, keep);

  // Batches of 1,000 W1 records plus stream and pod (~400-byte documents once the tag and
  // @timestamp are in), parsed before the clock starts.
  const std::vector<Batch> batches = bench::w1Batches(n, "kubernetes.var.log.containers.api-7d9f8b6c5-x2v4q_agentarea_api-0123.log", [](long j) {
    return (void)j, std::string(R"(,"stream":"stdout","pod":"api-7d9f8b6c5-x2v4q"})");
  });

  // Chunks of 8 MiB (the default chunk_limit_size).
  size_t action_bytes = 0;
  bench::OutputRun run = bench::runOutput(*out, batches, (8u << 20) * 95 / 100, [&](const FormattedEvents& chunk) {
    for (size_t i = 0, start = 0; i < chunk.ends.size(); start = chunk.ends[i++]) {
      action_bytes += chunk.bytes.find('\n', start) + 1 - start;
    }
  });
  const double child_cpu = bench::stopChildServer(child);

  const size_t bytes = run.bytes;
  const double mb = double(bytes) / 1e6;
  std::printf("%ld events, %s, %zu chunks, %.1f MB of bulk body before compression (%.0f bytes/event: "
              "%.0f of document, %.0f of action line)\n",
              n, gzip ? "gzip best_speed" : "no gzip", run.chunks, mb, double(bytes) / double(n),
              double(bytes - action_bytes) / double(n), double(action_bytes) / double(n));
  std::printf("format: %.3f s, %.0f events/s, %.0f MB/s\n", run.format_s, double(n) / run.format_s, mb / run.format_s);
  std::printf("write:  %.3f s, %.0f events/s, %.0f MB/s\n", run.write_s, double(n) / run.write_s, mb / run.write_s);
  std::printf("format+write on one thread: %.3f s wall, %.0f events/s, %.0f MB/s; sluice cpu %.2f s; stand-in cpu %.2f s\n",
              run.wall_s, double(n) / run.wall_s, mb / run.wall_s, run.cpu_s, child_cpu);
  return 0;
}
