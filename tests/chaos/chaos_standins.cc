// SPDX-License-Identifier: Apache-2.0
// The chaos suite's sinks (tests/chaos/chaos.py): the Elasticsearch stand-in (documents kept,
// `create` answered 409 for an _id it holds) and the Kubernetes API stand-in in one process of
// their own, steered by one command per line on stdin, one answer line per command on stdout:
//   sluice_chaos_standins PODS
// prints "ready <es port> <kubernetes port>", serves pods chaos-0 … chaos-(PODS-1) in namespace
// default on node chaos-node, and then answers
//   faults ITEM_429 REQ_503 CUT DELAY_MS SEED  random faults (ElasticsearchStandIn::Faults)
//   outage 1|0        every bulk request answered 503 (the cluster is down) / back
//   k8s_down 1|0      every API request answered 503 and the watches cut / back
//   add_pod I         the API gets pod chaos-I (a pod started on the node)
//   token T           API requests must carry "Bearer T" ("-": none)
//   count             "count <documents stored>"
//   tally             "tally <stored> <distinct lines> <bulk requests> <409s> <with pod metadata>
//                     <without seq>" — a line is told apart by its "seq" field ("<pod>:<n>")
//   nometa P N        "nometa <count>": documents of lines P:N and later without pod metadata
//   missing P N       "missing <count> dup <count> <first missing ranges> | <first duplicated
//                     ranges>" — which of P:0 … P:(N-1) are not stored, and which twice or more
//   quit
// Runs on the main thread (commands) and the stand-ins' server threads.

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "standins/elasticsearch.h"
#include "standins/kubernetes.h"

namespace {

using sluice::testing::ElasticsearchStandIn;

// The value of the "seq" string field in a stored document, or empty.
std::string_view seqOf(std::string_view source) {
  static constexpr std::string_view kKey = "\"seq\":\"";
  size_t at = source.find(kKey);
  if (at == std::string_view::npos) return {};
  size_t begin = at + kKey.size();
  size_t end = source.find('"', begin);
  return end == std::string_view::npos ? std::string_view{} : source.substr(begin, end - begin);
}

std::vector<ElasticsearchStandIn::Document> allDocuments(const ElasticsearchStandIn& es) {
  std::vector<ElasticsearchStandIn::Document> all;
  for (const auto& index : es.indices()) {
    auto docs = es.documents(index);
    all.insert(all.end(), std::make_move_iterator(docs.begin()), std::make_move_iterator(docs.end()));
  }
  return all;
}

std::string podJson(int i) {
  std::string name = "chaos-" + std::to_string(i);
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name +
         R"(","namespace":"default","uid":"6c1f9b5d-2e3f-4a5b-8c9d-0e1f2a3b4c)" + std::to_string(10 + i) +
         R"(","labels":{"app":"chaos"}},"spec":{"nodeName":"chaos-node","containers":[{"name":"main","image":"chaos:1"}]},)"
         R"("status":{"phase":"Running","podIP":"10.244.9.)" +
         std::to_string(10 + i) +
         R"(","containerStatuses":[{"name":"main","image":"chaos:1","imageID":"chaos@sha256:00","containerID":"containerd://)" +
         std::string(64, 'c') + R"("}]}})";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PODS\n", argv[0]);
    return 2;
  }
  const int pods = std::atoi(argv[1]);
  ElasticsearchStandIn es(ElasticsearchStandIn::Flavor::Es8);
  sluice::testing::KubernetesStandIn api;
  if (!es.start() || !api.start()) {
    std::fprintf(stderr, "chaos stand-ins: no port to listen on\n");
    return 1;
  }
  for (int i = 0; i < pods; ++i) api.putPod(podJson(i));
  api.putNamespace(R"({"kind":"Namespace","apiVersion":"v1","metadata":{"name":"default","uid":"a1b2c3d4-0000-4000-8000-000000000001"}})");
  std::cout << "ready " << es.port() << " " << api.port() << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "faults") {
      ElasticsearchStandIn::Faults f;
      in >> f.item_429 >> f.request_503 >> f.cut_after_processing >> f.delay_ms >> f.seed;
      es.setFaults(f);
      std::cout << "ok" << std::endl;
    } else if (cmd == "outage") {
      int on = 0;
      in >> on;
      es.failNextBulks(on ? INT_MAX : 0, 503);
      std::cout << "ok" << std::endl;
    } else if (cmd == "k8s_down") {
      int on = 0;
      in >> on;
      api.failRequests(503, on ? -1 : 0);
      if (on) api.closeWatches();
      std::cout << "ok" << std::endl;
    } else if (cmd == "add_pod") {
      int i = 0;
      in >> i;
      api.putPod(podJson(i));
      std::cout << "ok" << std::endl;
    } else if (cmd == "token") {
      std::string token;
      in >> token;
      api.requireToken(token == "-" ? "" : token);
      std::cout << "ok" << std::endl;
    } else if (cmd == "count") {
      std::cout << "count " << es.documentCount() << std::endl;
    } else if (cmd == "tally") {
      auto docs = allDocuments(es);
      std::unordered_set<std::string_view> seen;
      seen.reserve(docs.size());
      size_t with_pod = 0, without_seq = 0;
      for (const auto& d : docs) {
        std::string_view seq = seqOf(d.source);
        if (seq.empty()) {
          ++without_seq;
        } else {
          seen.insert(seq);
        }
        if (d.source.find("\"pod_id\":") != std::string::npos) ++with_pod;
      }
      std::cout << "tally " << docs.size() << " " << seen.size() << " " << es.bulkRequests() << " "
                << es.conflicts() << " " << with_pod << " " << without_seq << std::endl;
    } else if (cmd == "missing") {
      std::string pod;
      long n = 0;
      in >> pod >> n;
      auto docs = allDocuments(es);
      std::unordered_map<long, int> have;
      const std::string prefix = pod + ":";
      for (const auto& d : docs) {
        std::string_view seq = seqOf(d.source);
        if (seq.substr(0, prefix.size()) == prefix) ++have[std::atol(std::string(seq.substr(prefix.size())).c_str())];
      }
      long missing = 0;
      std::string ranges;
      int shown = 0;
      for (long i = 0; i < n;) {
        if (have.count(i)) {
          ++i;
          continue;
        }
        long j = i;
        while (j < n && !have.count(j)) ++j;
        missing += j - i;
        if (shown++ < 8) ranges += " " + std::to_string(i) + "-" + std::to_string(j - 1);
        i = j;
      }
      long dups = 0;
      std::string dup_ranges;
      shown = 0;
      for (long i = 0; i < n;) {
        auto it = have.find(i);
        if (it == have.end() || it->second < 2) {
          ++i;
          continue;
        }
        long j = i;
        for (auto jt = it; j < n && jt != have.end() && jt->second > 1; jt = have.find(++j)) dups += jt->second - 1;
        if (shown++ < 8) dup_ranges += " " + std::to_string(i) + "-" + std::to_string(j - 1);
        i = j;
      }
      std::cout << "missing " << missing << " dup " << dups << ranges << " |" << dup_ranges << std::endl;
    } else if (cmd == "nometa") {
      std::string pod;
      long from = 0;
      in >> pod >> from;
      const std::string prefix = pod + ":";
      long count = 0;
      for (const auto& d : allDocuments(es)) {
        std::string_view seq = seqOf(d.source);
        if (seq.substr(0, prefix.size()) != prefix) continue;
        if (std::atol(std::string(seq.substr(prefix.size())).c_str()) < from) continue;
        if (d.source.find("\"pod_id\":") == std::string::npos) ++count;
      }
      std::cout << "nometa " << count << std::endl;
    } else if (cmd == "quit") {
      break;
    } else {
      std::cout << "error unknown command " << cmd << std::endl;
    }
  }
  api.stop();
  es.stop();
  return 0;
}
