// SPDX-License-Identifier: Apache-2.0
// Redaction throughput on the W1 payload (bench/gen_lines.cc records), or on the JSON payloads
// of the node workload (bench/node_workload.h, issue 20), with the seed's key list and the
// builtin patterns (default all of them): bytes of record payload scanned per second on one core.
//   sluice_redact_bench [LINES] [w1|node] [BUILTINS]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/node_workload.h"
#include "bench/w1.h"
#include "config/parser.h"
#include "core/json.h"
#include "core/plugin_api.h"
#include "engine/standalone.h"

using namespace sluice;

namespace {

std::vector<std::string> w1(long n) {
  std::vector<std::string> out;
  uint64_t x = 42;  // the seed bench/gen_lines.cc uses
  for (long i = 0; i < n; ++i) {
    out.emplace_back();
    bench::appendW1Line(out.back(), i, x);
  }
  return out;
}

// The pod metadata kubernetes_metadata adds to the node workload's records (its fields, from
// the Kubernetes stand-in's pod and namespace objects), as the shared templates it copies.
struct NodeMetadata {
  Arena arena;
  std::vector<Value> objects;
  std::vector<JsonTemplate> templates;
  NodeMetadata() {
    objects.reserve(bench::kNodePodCount);
    templates.reserve(bench::kNodePodCount);
    for (int i = 0; i < bench::kNodePodCount; ++i) {
      const bench::NodePod& p = bench::kNodePods[i];
      Value pod = *parseJson(bench::nodePodJson(i), arena);
      const Value* meta = pod.find("metadata");
      const Value* status = pod.find("status");
      Value ns = *parseJson(bench::nodeNamespaceJson(i % 5), arena);
      Value k = Value::emptyObject();
      auto str = [&](std::string_view key, std::string_view v) { k.setMember(key, Value::string(arena.copy(v)), arena); };
      str("container_name", p.container);
      str("namespace_name", p.ns);
      str("pod_name", p.name);
      str("container_image", p.image);
      str("container_image_id", status->find("containerStatuses")->items()[0].find("imageID")->asString());
      str("pod_id", meta->find("uid")->asString());
      str("pod_ip", status->find("podIP")->asString());
      str("host", "bench-node");
      Value ref = Value::emptyObject();
      ref.setMember("kind", Value::string(p.owner_kind), arena);
      ref.setMember("name", Value::string(p.owner_name), arena);
      Value refs;
      refs.appendItem(ref, arena);
      k.setMember("ownerrefs", refs, arena);
      k.setMember("labels", *meta->find("labels"), arena);
      k.setMember("annotations", *meta->find("annotations"), arena);
      k.setMember("namespace_id", *ns.find("metadata")->find("uid"), arena);
      k.setMember("namespace_labels", *ns.find("metadata")->find("labels"), arena);
      k.setMember("namespace_annotations", *ns.find("metadata")->find("annotations"), arena);
      objects.push_back(k);
      templates.push_back(JsonTemplate{&objects.back(), arena.copy(toJson(objects.back()))});
    }
  }
};

// The application payloads of the node workload's CRI lines (what the parser filter parses).
std::vector<std::string> node(long n) {
  std::vector<std::string> out;
  uint64_t x = 88172645463325252ULL;  // the seed bench/gen_cri.cc uses
  std::string line;
  for (long i = 0; i < n; ++i) {
    line.clear();
    bench::appendNodeLine(line, i, x);
    const size_t start = line.find('{');
    out.push_back(line.substr(start, line.size() - 1 - start));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const std::string workload = argc > 2 ? argv[2] : "w1";
  const std::string builtins =
      argc > 3 ? argv[3] : "email,credit_card,jwt,bearer_token,aws_access_key,private_key,ipv4,url_credentials";
  engine::StandaloneFactory factory;
  auto plugin = factory.make(PluginKind::Filter, "redact", "builtin " + builtins);
  if (!plugin) {
    std::fprintf(stderr, "%s\n", plugin.status().message().c_str());
    return 1;
  }
  auto* filter = static_cast<Filter*>(plugin->get());
  std::vector<std::string> lines = workload == "node" ? node(n) : w1(n);
  NodeMetadata metadata;  // node: each record gets its pod's metadata, as in the pipeline
  constexpr size_t kBatch = 1024;
  double seconds = 0;
  size_t bytes = 0;
  Batch batch;
  for (size_t start = 0; start < lines.size(); start += kBatch) {
    batch.clear();
    size_t end = std::min(lines.size(), start + kBatch);
    for (size_t i = start; i < end; ++i) {
      Value record = *parseJson(lines[i], batch.arena());
      if (workload == "node") {
        // The pipeline's records: the CRI fields, the payload, the pod's metadata (files take
        // the pods in turn, so a record's pod is its line number modulo the pods).
        record.setMember("stream", Value::string("stdout"), batch.arena());
        record.setMember("kubernetes",
                         Value::copyOfTemplate(metadata.templates[i % bench::kNodePodCount], batch.arena()),
                         batch.arena());
      }
      batch.add("w1", 0, record);
      bytes += lines[i].size();
    }
    auto t0 = std::chrono::steady_clock::now();
    filter->process(batch);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::printf("redact (seed keys + builtins %s), %s workload: %ld records, %.1f MB of record payload in %.3f s: %.0f MB/s, %.0f ns per record\n",
              builtins.c_str(), workload.c_str(), n, bytes / 1e6, seconds, bytes / 1e6 / seconds, seconds * 1e9 / double(n));
  std::printf("%.0f secrets redacted, %.0f searches of shared metadata\n",
              factory.metrics().valueForTest("sluice_filter_redact_redactions_total"),
              factory.metrics().valueForTest("sluice_filter_redact_template_checks_total"));
  return 0;
}
