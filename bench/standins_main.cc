// SPDX-License-Identifier: Apache-2.0
// The sink stand-in (Elasticsearch or Loki, fast mode) and the Kubernetes API stand-in as one
// process, for the DaemonSet pipeline benchmark (bench/run_daemonset.sh):
//   sluice_bench_standins PODS STATUS_FILE [small|node] [es|loki]
// serves the pods of the workload on node bench-node (small: app-0 … app-(PODS-1) in namespace
// default, as sluice_gen_cri names its files; node: the 8 pods in 5 namespaces of
// bench/node_workload.h), prints "<sink port> <kubernetes port>" on stdout, writes the number
// of documents (or Loki entries) stored into STATUS_FILE every 20 ms, and on SIGTERM prints
// what it answered and its own user and system CPU time to stderr.

#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "bench/node_workload.h"
#include "standins/elasticsearch.h"
#include "standins/kubernetes.h"
#include "standins/loki.h"

namespace {
volatile sig_atomic_t g_stop = 0;
void onSignal(int) { g_stop = 1; }

void putSmallPods(sluice::testing::KubernetesStandIn& api, int pods) {
  const std::string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  for (int i = 0; i < pods; ++i) {
    std::string name = "app-" + std::to_string(i);
    api.putPod(R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name +
               R"(","namespace":"default","uid":"5b0e8a4c-1f2d-4e3a-9b8c-7d6e5f4a3b2)" + std::to_string(i) +
               R"(","labels":{"app.kubernetes.io/name":"agentarea-api","app.kubernetes.io/instance":"agentarea","app.kubernetes.io/component":"api","app.kubernetes.io/version":"1.14.2","pod-template-hash":"7d9f8b6c5"},"annotations":{"prometheus.io/scrape":"true","prometheus.io/port":"8000"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"api-7d9f8b6c5","uid":"0d1c2b3a-4958-6776-8594-a3b2c1d0e9f8","controller":true}]},"spec":{"nodeName":"bench-node","containers":[{"name":"main","image":"ghcr.io/agentarea/api:1.14.2"}]},"status":{"phase":"Running","podIP":"10.244.3.)" +
               std::to_string(10 + i) +
               R"(","containerStatuses":[{"name":"main","image":"ghcr.io/agentarea/api:1.14.2","imageID":"ghcr.io/agentarea/api@sha256:9c1f0e6d2b7a8c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e","containerID":"containerd://)" +
               id + R"("}]}})");
  }
  api.putNamespace(R"({"kind":"Namespace","apiVersion":"v1","metadata":{"name":"default","uid":"a1b2c3d4-0000-4000-8000-000000000001","labels":{"kubernetes.io/metadata.name":"default"}}})");
}

double seconds(const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; }
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PODS STATUS_FILE [small|node] [es|loki]\n", argv[0]);
    return 2;
  }
  const int pods = std::atoi(argv[1]);
  const std::string status = argv[2];
  const bool node = argc > 3 && std::strcmp(argv[3], "node") == 0;
  const bool loki = argc > 4 && std::strcmp(argv[4], "loki") == 0;
  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  sluice::testing::ElasticsearchStandIn es(sluice::testing::ElasticsearchStandIn::Flavor::Es8);
  sluice::testing::LokiStandIn lk;
  es.setFastMode(true);
  lk.setFastMode(true);
  sluice::testing::KubernetesStandIn api;
  if (!(loki ? lk.start() : es.start()) || !api.start()) return 1;
  if (node) {
    for (int i = 0; i < sluice::bench::kNodePodCount; ++i) api.putPod(sluice::bench::nodePodJson(i));
    for (int i = 0; i < 5; ++i) api.putNamespace(sluice::bench::nodeNamespaceJson(i));
  } else {
    putSmallPods(api, pods);
  }
  int sink_port = es.port();
  if (loki) {
    std::string url = lk.url();  // http://127.0.0.1:PORT
    sink_port = std::atoi(url.c_str() + url.rfind(':') + 1);
  }
  std::printf("%d %d\n", sink_port, api.port());
  std::fflush(stdout);
  auto stored = [&] { return loki ? lk.entryCount() : es.documentCount(); };
  while (!g_stop) {
    {
      std::ofstream f(status + ".tmp");
      f << stored() << "\n";
    }
    std::rename((status + ".tmp").c_str(), status.c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  if (loki) {
    std::fprintf(stderr, "stand-ins: %zu entries in %d pushes", lk.entryCount(), lk.pushRequests());
  } else {
    std::fprintf(stderr, "stand-ins: %zu documents in %d bulk requests (%.0f bytes each on average)", es.documentCount(),
                 es.bulkRequests(), es.documentCount() ? double(es.bulkBytes()) / double(es.documentCount()) : 0.0);
  }
  std::fprintf(stderr, "; %d Kubernetes API requests; user %.2f sys %.2f CPU-s\n", api.requestCount(),
               seconds(ru.ru_utime), seconds(ru.ru_stime));
  api.stop();
  if (loki) {
    lk.stop();
  } else {
    es.stop();
  }
  return 0;
}
