// SPDX-License-Identifier: Apache-2.0
// Delivery under partial failure (issue 13, Build item 2): events through a memory buffer and
// the elasticsearch output to the Elasticsearch stand-in (in this process, keeping documents so
// that a resent document is not counted twice), once fault-free and once with 20% of items
// answered 429, 10% of requests 503 and 5% of connections cut after the request was processed,
// at the same settings. Prints documents per second for both and the ratio.
//   sluice_es_faults_bench [EVENTS] [SEED]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/output_bench.h"
#include "bench/w1.h"
#include "buffer/buffer.h"
#include "engine/standalone.h"
#include "monitor/metrics.h"
#include "standins/elasticsearch.h"

using namespace sluice;

namespace {

struct Run {
  double seconds = 0;
  size_t delivered = 0;
  int requests = 0;
  double in_flight_limit_min = 0;
};

Run deliver(const std::vector<Batch>& batches, long n, const testing::ElasticsearchStandIn::Faults* faults) {
  testing::ElasticsearchStandIn es(testing::ElasticsearchStandIn::Flavor::Es8);
  if (faults != nullptr) es.setFaults(*faults);
  if (!es.start()) std::exit(1);
  engine::StandaloneFactory factory;
  PluginPtr keep;
  Output* out = bench::startOutput(factory, "elasticsearch",
                                   "host 127.0.0.1\nport " + std::to_string(es.port()) +
                                       "\nlogstash_format true\nlogstash_prefix agentarea\nrequest_timeout 5s\n"
                                       "<buffer>\nflush_thread_count 2\n</buffer>\n",
                                   keep);
  // The settings of both runs: a memory buffer of 2 MiB chunks flushed every 200 ms by two
  // threads, retries from 100 ms doubling to 2 s, forever; input blocks when 64 MiB are queued.
  auto bound = bufferConfigFromText(
      "@type memory\nchunk_limit_size 2m\ntotal_limit_size 64m\nflush_mode interval\nflush_interval 0.2\n"
      "flush_thread_count 2\nflush_thread_interval 0.05\noverflow_action block\nretry_wait 0.1\n"
      "retry_max_interval 2\nretry_forever true\nretry_timeout 1h");
  if (!bound) std::exit(1);
  const BufferConfig c = *bound;
  MetricsRegistry registry;
  PluginMetrics metrics(registry, "output", "es", "es");
  buffer::Buffer::Options o;
  o.config = c;
  o.keys = *buffer::parseChunkKeys("", c);
  o.output_id = "es";
  buffer::Buffer buf(std::move(o), *out, nullptr, metrics, SourceLogger("[out:es]"));
  if (!buf.start().isOk()) std::exit(1);

  const auto start = std::chrono::steady_clock::now();
  for (const Batch& b : batches) {
    if (!buf.append(b).isOk()) std::exit(1);
  }
  while (es.documentCount() < static_cast<size_t>(n)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (std::chrono::steady_clock::now() - start > std::chrono::minutes(5)) break;
  }
  Run r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.delivered = es.documentCount();
  r.requests = es.bulkRequests();
  buf.stop();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 200000;
  const uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 7;
  const std::vector<Batch> batches = bench::w1Batches(n, "kubernetes.var.log.containers.api-7d9f8b6c5-x2v4q_agentarea_api-0123.log",
                                                      [](long) { return std::string(R"(,"stream":"stdout"})"); });
  testing::ElasticsearchStandIn::Faults faults;
  faults.item_429 = 0.20;
  faults.request_503 = 0.10;
  faults.cut_after_processing = 0.05;
  faults.seed = seed;
  Run clean = deliver(batches, n, nullptr);
  Run faulty = deliver(batches, n, &faults);
  std::printf("%ld events; fault-free: %zu delivered in %.2f s, %.0f docs/s, %d bulk requests\n", n, clean.delivered,
              clean.seconds, double(clean.delivered) / clean.seconds, clean.requests);
  std::printf("20%% item 429, 10%% request 503, 5%% cut: %zu delivered in %.2f s, %.0f docs/s, %d bulk requests\n",
              faulty.delivered, faulty.seconds, double(faulty.delivered) / faulty.seconds, faulty.requests);
  std::printf("delivery rate under faults: %.0f%% of fault-free\n",
              100.0 * (double(faulty.delivered) / faulty.seconds) / (double(clean.delivered) / clean.seconds));
  return 0;
}
