// SPDX-License-Identifier: Apache-2.0
// The Elasticsearch stand-in (fast mode) and the Kubernetes API stand-in as one process, for
// the DaemonSet pipeline benchmark (bench/run_daemonset.sh):
//   sluice_bench_standins PODS STATUS_FILE
// serves pods app-0 … app-(PODS-1) in namespace default on node bench-node (as bench's
// sluice_gen_cri names the files), prints "<es port> <kubernetes port>" on stdout, writes the
// number of documents stored into STATUS_FILE every 20 ms, and on SIGTERM prints what it
// answered and its own CPU time to stderr.

#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "standins/elasticsearch.h"
#include "standins/kubernetes.h"

namespace {
volatile sig_atomic_t g_stop = 0;
void onSignal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s PODS STATUS_FILE\n", argv[0]);
    return 2;
  }
  const int pods = std::atoi(argv[1]);
  const std::string status = argv[2];
  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  sluice::testing::ElasticsearchStandIn es(sluice::testing::ElasticsearchStandIn::Flavor::Es8);
  es.setFastMode(true);
  sluice::testing::KubernetesStandIn api;
  if (!es.start() || !api.start()) return 1;
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
  std::printf("%d %d\n", es.port(), api.port());
  std::fflush(stdout);
  while (!g_stop) {
    {
      std::ofstream f(status + ".tmp");
      f << es.documentCount() << "\n";
    }
    std::rename((status + ".tmp").c_str(), status.c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::fprintf(stderr, "stand-ins: %zu documents in %d bulk requests; %d Kubernetes API requests (%d pod GETs); %.2f CPU-s\n",
               es.documentCount(), es.bulkRequests(), api.requestCount(), api.requestCount("/api/v1/namespaces/default/pods/"),
               cpu);
  api.stop();
  es.stop();
  return 0;
}
