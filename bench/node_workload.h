// SPDX-License-Identifier: Apache-2.0
#pragma once

// The "node" workload of the DaemonSet benchmark (issue 20): what a Kubernetes node's
// container logs look like. 8 pods in 5 namespaces whose pod objects carry ~10 labels, several
// annotations and owner references; CRI lines of 352 bytes on average (40-byte CRI prefix, a
// JSON application payload of time, level, logger, message, request/trace/user ids, HTTP
// fields, durations, and now and then a secret: a password, a token, an authorization header,
// an e-mail address or a bearer token in the message). Shared by sluice_gen_cri (the files)
// and sluice_bench_standins (the Kubernetes API's objects). Everything comes from a xorshift
// state, so every run writes the same bytes.

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sluice::bench {

struct NodePod {
  const char* name;
  const char* ns;
  const char* container;
  const char* app;        // app.kubernetes.io/name
  const char* component;
  const char* owner_kind;  // ReplicaSet, StatefulSet, DaemonSet
  const char* owner_name;
  const char* image;
};

inline constexpr NodePod kNodePods[] = {
    {"api-7d9f8b6c5-x2k4p", "agentarea", "api", "agentarea-api", "api", "ReplicaSet", "api-7d9f8b6c5",
     "ghcr.io/agentarea/api:1.14.2"},
    {"api-7d9f8b6c5-q8r3t", "agentarea", "api", "agentarea-api", "api", "ReplicaSet", "api-7d9f8b6c5",
     "ghcr.io/agentarea/api:1.14.2"},
    {"worker-5c6b7a8d9-m4n5b", "agentarea", "worker", "agentarea-worker", "worker", "ReplicaSet",
     "worker-5c6b7a8d9", "ghcr.io/agentarea/worker:1.14.2"},
    {"checkout-6f7e8d9c0-h7j8k", "payments", "checkout", "checkout", "backend", "ReplicaSet", "checkout-6f7e8d9c0",
     "registry.example.com/payments/checkout:3.2.0"},
    {"ledger-0", "payments", "ledger", "ledger", "database-proxy", "StatefulSet", "ledger",
     "registry.example.com/payments/ledger:2.9.1"},
    {"ingress-nginx-controller-7b8c9d6f5-z9x8c", "ingress-nginx", "controller", "ingress-nginx", "controller",
     "ReplicaSet", "ingress-nginx-controller-7b8c9d6f5", "registry.k8s.io/ingress-nginx/controller:v1.9.4"},
    {"node-exporter-w7v6u", "monitoring", "node-exporter", "prometheus-node-exporter", "metrics", "DaemonSet",
     "node-exporter", "quay.io/prometheus/node-exporter:v1.7.0"},
    {"coredns-5d78c9869d-p2q3r", "kube-system", "coredns", "coredns", "dns", "ReplicaSet", "coredns-5d78c9869d",
     "registry.k8s.io/coredns/coredns:v1.11.1"},
};
inline constexpr int kNodePodCount = sizeof(kNodePods) / sizeof(kNodePods[0]);
inline constexpr const char* kNodeNamespaces[] = {"agentarea", "payments", "ingress-nginx", "monitoring", "kube-system"};

// A 64-hex container id for pod `i` (the file name's and the pod status's).
inline std::string nodeContainerId(int i) {
  char buf[65];
  uint64_t x = 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(i + 1);
  for (int k = 0; k < 4; ++k) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::snprintf(buf + 16 * k, 17, "%016" PRIx64, x);
  }
  return std::string(buf, 64);
}

// The kubelet's /var/log/containers name of pod `i`: <pod>_<namespace>_<container>-<id>.log
inline std::string nodeLogName(int i) {
  const NodePod& p = kNodePods[i % kNodePodCount];
  return std::string(p.name) + "_" + p.ns + "_" + p.container + "-" + nodeContainerId(i % kNodePodCount) + ".log";
}

// The Pod object the API serves for pod `i` (on node bench-node).
inline std::string nodePodJson(int i) {
  const NodePod& p = kNodePods[i];
  const std::string n = std::to_string(i);
  const std::string id = nodeContainerId(i);
  return std::string(R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")") + p.name + R"(","namespace":")" + p.ns +
         R"(","uid":"5b0e8a4c-1f2d-4e3a-9b8c-7d6e5f4a3b2)" + n + R"(","resourceVersion":"1)" + n +
         R"(","creationTimestamp":"2026-11-20T08:14:0)" + n + R"(Z","labels":{"app.kubernetes.io/name":")" + p.app +
         R"(","app.kubernetes.io/instance":")" + p.app + R"(-prod","app.kubernetes.io/component":")" + p.component +
         R"(","app.kubernetes.io/version":"1.14.2","app.kubernetes.io/part-of":")" + p.ns +
         R"(","app.kubernetes.io/managed-by":"Helm","helm.sh/chart":")" + p.app +
         R"(-4.2.1","pod-template-hash":"7d9f8b6c5","team":"platform","environment":"production"},"annotations":{"prometheus.io/scrape":"true","prometheus.io/port":"9102","prometheus.io/path":"/metrics","kubectl.kubernetes.io/restartedAt":"2026-11-19T22:01:17Z","checksum/config":"3f9a1c0e7b6d5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f","cluster-autoscaler.kubernetes.io/safe-to-evict":"true"},"ownerReferences":[{"apiVersion":"apps/v1","kind":")" +
         p.owner_kind + R"(","name":")" + p.owner_name +
         R"(","uid":"0d1c2b3a-4958-6776-8594-a3b2c1d0e9f8","controller":true,"blockOwnerDeletion":true}]},"spec":{"nodeName":"bench-node","serviceAccountName":")" +
         p.app + R"(","containers":[{"name":")" + p.container + R"(","image":")" + p.image +
         R"(","ports":[{"containerPort":8000,"protocol":"TCP"}],"resources":{"requests":{"cpu":"250m","memory":"256Mi"},"limits":{"memory":"512Mi"}}}]},"status":{"phase":"Running","hostIP":"10.0.12.7","podIP":"10.244.3.)" +
         std::to_string(10 + i) + R"(","containerStatuses":[{"name":")" + p.container + R"(","ready":true,"restartCount":0,"image":")" +
         p.image + R"(","imageID":")" + p.image +
         R"(@sha256:9c1f0e6d2b7a8c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e","containerID":"containerd://)" + id +
         R"("}]}})";
}

inline std::string nodeNamespaceJson(int i) {
  const std::string name = kNodeNamespaces[i];
  return R"({"kind":"Namespace","apiVersion":"v1","metadata":{"name":")" + name +
         R"(","uid":"a1b2c3d4-0000-4000-8000-00000000000)" + std::to_string(i) +
         R"(","labels":{"kubernetes.io/metadata.name":")" + name +
         R"(","team":"platform"},"annotations":{"scheduler.alpha.kubernetes.io/node-selector":"pool=general"}}})";
}

// Appends CRI line `i` of the node workload (with its newline) and advances `x`.
inline void appendNodeLine(std::string& out, long i, uint64_t& x) {
  static const char* kLevels[] = {"info", "info", "info", "info", "warn", "error", "debug"};
  static const char* kLoggers[] = {"agentarea.api.handlers", "agentarea.worker.jobs", "payments.checkout.service",
                                   "http.access", "grpc.server"};
  static const char* kMethods[] = {"GET", "GET", "GET", "POST", "PUT", "DELETE"};
  static const char* kPaths[] = {"/api/v1/agents/", "/api/v1/tasks/", "/api/v2/payments/", "/api/v1/users/",
                                 "/internal/jobs/"};
  static const char* kMessages[] = {
      "request completed",
      "request completed",
      "upstream responded slowly; retrying with the next endpoint of the pool",
      "cache miss for key; loading from the database",
      "job finished",
      "payment authorised by the acquirer after 3-D Secure challenge",
      "connection reset by peer while reading the response body from the upstream service",
  };
  static const char* kAgents[] = {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0",
                                  "python-requests/2.31.0", "Go-http-client/1.1", "kube-probe/1.29"};
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  char line[2048];
  const int minute = static_cast<int>(i / 60000 % 60), second = static_cast<int>(i / 1000 % 60);
  const unsigned long long r = x;
  int len = std::snprintf(line, sizeof(line),
                          "2026-11-22T01:%02d:%02d.%09lluZ stdout F {\"time\":\"2026-11-22T01:%02d:%02d.%06lluZ\","
                          "\"level\":\"%s\",\"logger\":\"%s\"",
                          minute, second, r % 1000000000, minute, second, r % 1000000, kLevels[r % 7],
                          kLoggers[(r >> 3) % 5]);
  auto add = [&](const char* fmt, auto... args) {
    len += std::snprintf(line + len, sizeof(line) - static_cast<size_t>(len), fmt, args...);
  };
  switch ((r >> 50) % 8) {
    case 0:
    case 1:  // a probe or a short event
      add(",\"message\":\"%s %s%llu %d\",\"request_id\":\"%016llx\"", kMethods[(r >> 9) % 6], kPaths[(r >> 12) % 5],
          (r >> 24) % 10000, (r % 11 == 0) ? 503 : 200, r);
      break;
    case 2:  // an application event with a longer message and a trace
      add(",\"message\":\"%s\",\"request_id\":\"%016llx\",\"trace_id\":\"%016llx%016llx\",\"user_id\":%llu,"
          "\"duration_ms\":%.3f",
          kMessages[2 + (r >> 6) % 5], r, r * 0x9e3779b97f4a7c15ULL, r ^ 0xdeadbeefcafef00dULL, (r >> 20) % 100000,
          double(r % 1000000) / 1000.0);
      break;
    default:  // an access log line
      add(",\"message\":\"%s\",\"request_id\":\"%016llx\",\"trace_id\":\"%016llx%016llx\",\"user_id\":%llu,"
          "\"method\":\"%s\","
          "\"path\":\"%s%llu\",\"status\":%d,\"bytes\":%llu,\"duration_ms\":%.3f,\"client_ip\":\"10.%d.%d.%d\","
          "\"user_agent\":\"%s\"",
          kMessages[(r >> 6) % 2], r, r * 0x9e3779b97f4a7c15ULL, r ^ 0xdeadbeefcafef00dULL, (r >> 20) % 100000, kMethods[(r >> 9) % 6], kPaths[(r >> 12) % 5],
          (r >> 24) % 10000, (r % 11 == 0) ? 500 : 200, (r >> 14) % 65536, double(r % 1000000) / 1000.0,
          int((r >> 30) % 250), int((r >> 38) % 250), int((r >> 46) % 250), kAgents[(r >> 15) % 4]);
      break;
  }
  // A few secrets: one line in 16 carries one (a key `redact` knows, or a value its builtins find).
  switch ((r >> 40) % 64) {
    case 0:
      add(",\"password\":\"hunter2-%04llu\"", r % 10000);
      break;
    case 1:
      add(",\"authorization\":\"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.%016llx\"", r);
      break;
    case 2:
      add(",\"note\":\"password reset mail sent to user%llu@example.com\"", r % 1000);
      break;
    case 3:
      add(",\"token\":\"tk_%016llx\"", r);
      break;
    default:
      break;
  }
  add("}\n");
  out.append(line, static_cast<size_t>(len));
}

}  // namespace sluice::bench
