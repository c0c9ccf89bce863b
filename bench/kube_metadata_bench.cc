// SPDX-License-Identifier: Apache-2.0
// The kubernetes_metadata filter with a warm cache on the W1 workload: 8 pods (as the CRI
// benchmark's 8 files), batches of 1,000 events of one container each, pods with realistic
// labels and annotations served by the Kubernetes API stand-in (in this process; it is idle once
// the cache is warm). Prints the filter's cost per event, what the elasticsearch output's
// format() then spends on the added fields per event, and the requests the stand-in answered.
//   sluice_kube_metadata_bench [EVENTS] [watch]

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
#include "engine/standalone.h"
#include "standins/kubernetes.h"

using namespace sluice;

namespace {

constexpr int kPods = 8;
const char* kDockerId = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";

std::string podName(int i) { return "api-7d9f8b6c5-x2v4" + std::to_string(i); }

std::string tagOf(int i) {
  return "kubernetes.agentarea.var.log.containers." + podName(i) + "_agentarea_api-" + kDockerId + ".log";
}

// A Deployment's pod as the API server returns it (trimmed of spec details the filter ignores).
std::string podJson(int i) {
  std::string name = podName(i);
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name +
         R"(","generateName":"api-7d9f8b6c5-","namespace":"agentarea","uid":"5b0e8a4c-1f2d-4e3a-9b8c-7d6e5f4a3b2)" +
         std::to_string(i) +
         R"(","labels":{"app.kubernetes.io/name":"agentarea-api","app.kubernetes.io/instance":"agentarea","app.kubernetes.io/component":"api","app.kubernetes.io/version":"1.14.2","pod-template-hash":"7d9f8b6c5"},"annotations":{"prometheus.io/scrape":"true","prometheus.io/port":"8000","kubectl.kubernetes.io/restartedAt":"2026-11-20T10:00:00Z"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"api-7d9f8b6c5","uid":"0d1c2b3a-4958-6776-8594-a3b2c1d0e9f8","controller":true}]},"spec":{"nodeName":"node-a","containers":[{"name":"api","image":"ghcr.io/agentarea/api:1.14.2"}]},"status":{"phase":"Running","podIP":"10.244.3.)" +
         std::to_string(17 + i) +
         R"(","containerStatuses":[{"name":"api","image":"ghcr.io/agentarea/api:1.14.2","imageID":"ghcr.io/agentarea/api@sha256:9c1f0e6d2b7a8c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e","containerID":"containerd://)" +
         kDockerId + R"(","ready":true,"restartCount":0}]}})";
}

// 1,000 W1 lines (with a stream field), the records of one batch.
std::vector<std::string> w1Lines() {
  std::vector<std::string> lines;
  uint64_t x = 42;
  for (long j = 0; j < 1000; ++j) {
    std::string line;
    bench::appendW1Line(line, j, x);
    line.pop_back();
    line += R"(,"stream":"stdout"})";
    lines.push_back(std::move(line));
  }
  return lines;
}

// Refills `b` (reused, so its arena is warm as a tail thread's is) with the lines under `tag`.
void refill(Batch& b, const std::vector<std::string>& lines, const std::string& tag) {
  b.clear();
  std::string_view t = b.arena().copy(tag);
  int64_t time = 1795309323LL * 1'000'000'000;
  uint64_t offset = 0;
  for (const std::string& line : lines) {  // with tail's origins, as elasticsearch's _id uses them
    b.add(t, time++, *parseJson(b.arena().copy(line), b.arena()), lineOrigin(2049, std::hash<std::string>{}(tag), offset));
    offset += line.size() + 1;
  }
}

double formatSeconds(Output& out, const Batch& b, FormattedEvents& f) {
  f.bytes.clear();
  f.ends.clear();
  double t0 = bench::monotonicSeconds();
  out.format(b, f);
  return bench::monotonicSeconds() - t0;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const bool watch = argc > 2 && std::strcmp(argv[2], "watch") == 0;
  testing::KubernetesStandIn api;
  if (!api.start()) return 1;
  for (int p = 0; p < kPods; ++p) api.putPod(podJson(p));
  api.putNamespace(R"({"kind":"Namespace","apiVersion":"v1","metadata":{"name":"agentarea","uid":"a1b2c3d4-0000-4000-8000-000000000001","labels":{"kubernetes.io/metadata.name":"agentarea","team":"platform"}}})");

  engine::StandaloneFactory factory;
  std::string conf = "kubernetes_url " + api.url() + "\nsecret_dir /nonexistent\nstats_interval 0\n" +
                     (watch ? "watch true\nnode_name node-a\n" : "watch false\n");
  auto made = factory.make(PluginKind::Filter, "kubernetes_metadata", conf);
  if (!made) {
    std::fprintf(stderr, "%s\n", made.status().message().c_str());
    return 1;
  }
  PluginPtr keep = std::move(*made);
  auto* filter = static_cast<Filter*>(keep.get());
  if (!filter->start().isOk()) return 1;
  if (watch) {
    for (int i = 0; i < 500 && api.openWatches() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const std::vector<std::string> lines = w1Lines();
  Batch batch;
  for (int p = 0; p < kPods; ++p) {  // warm the cache
    refill(batch, lines, tagOf(p));
    filter->process(batch);
  }
  PluginPtr keep_out;
  Output* es = bench::startOutput(factory, "elasticsearch",
                                  "host 127.0.0.1\nport 1\nlogstash_format true\nlogstash_prefix agentarea\n"
                                  "include_tag_key true\ntag_key @log_name\n",
                                  keep_out);

  std::printf("%ld W1 events, %d pods, batches of 1,000, %s\n", n, kPods, watch ? "watch on" : "watch off");
  FormattedEvents formatted;
  formatted.bytes.reserve(4 << 20);
  for (int run = 0; run < 3; ++run) {
    double filter_s = 0, plain_format = 0, enriched_format = 0;
    for (long i = 0; i < n; i += 1000) {
      refill(batch, lines, tagOf(int(i / 1000) % kPods));  // the pods' batches interleaved
      plain_format += formatSeconds(*es, batch, formatted);
      double t0 = bench::monotonicSeconds();
      filter->process(batch);
      filter_s += bench::monotonicSeconds() - t0;
      enriched_format += formatSeconds(*es, batch, formatted);
    }
    std::printf("run %d: filter %.1f ns/event (%.0f k events/s); elasticsearch format %.1f -> %.1f ns/event (+%.1f)\n",
                run + 1, filter_s * 1e9 / double(n), double(n) / filter_s / 1e3, plain_format * 1e9 / double(n),
                enriched_format * 1e9 / double(n), (enriched_format - plain_format) * 1e9 / double(n));
  }
  std::printf("requests to the API stand-in: %d (pod GETs %d, namespace GETs %d, lists %d, watches %d)\n",
              api.requestCount(), api.requestCount("/api/v1/namespaces/agentarea/pods/"),
              api.requestCount() - api.requestCount("/api/v1/namespaces/agentarea/pods/") -
                  api.requestCount("/api/v1/pods"),
              api.requestCount("/api/v1/pods?list"), api.requestCount("/api/v1/pods?watch"));
  filter->stop();
  return 0;
}
