// SPDX-License-Identifier: Apache-2.0
// The seed document's fluent.conf (../shared/seed, the ConfigMap this project grew from) in a
// real sluice process: CRI container logs tailed from a …/var/log/containers directory, parsed
// (kubernetes parser, then the JSON in `log`), enriched by kubernetes_metadata from the
// Kubernetes API stand-in (HTTPS, found through KUBERNETES_SERVICE_HOST/PORT as in a pod) and
// shipped through the file buffer to the Elasticsearch stand-in. Only paths, the
// Elasticsearch host and port are changed; with no service-account mount the filter's TLS check
// fails and events keep the names their tags give, with the mount (secret_dir standing in for
// it) they get the pod's metadata.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "standins/elasticsearch.h"
#include "standins/kubernetes.h"
#include "support/http_server.h"
#include "support/test_support.h"

namespace sluice {
namespace {

using testing::ElasticsearchStandIn;
using testing::KubernetesStandIn;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;

constexpr const char* kDockerId = "8d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4";
constexpr const char* kPod = "agentarea-api-7d9f8b6c5-x2v4q";

// data["fluent.conf"] of the YAML block in the seed document that holds it.
std::string seedFluentConf() {
  std::ifstream f(testing::sharedDir() + "/seed/monitoring-observability.md");
  std::string line, block, indent;
  bool in = false, found = false;
  while (std::getline(f, line)) {
    size_t fence = line.find("```");
    if (!in && fence != std::string::npos && line.substr(fence) == "```yaml") {
      in = true;
      indent = line.substr(0, fence);
      block.clear();
      continue;
    }
    if (in && fence != std::string::npos && line.substr(fence) == "```") {
      in = false;
      if (block.find("fluent.conf: |") != std::string::npos) {
        found = true;
        break;
      }
      continue;
    }
    if (in) block += (line.rfind(indent, 0) == 0 ? line.substr(indent.size()) : line) + "\n";
  }
  if (!found) return {};
  return YAML::Load(block)["data"]["fluent.conf"].as<std::string>();
}

bool replaceOnce(std::string& text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  if (at == std::string::npos) return false;
  text.replace(at, from.size(), to);
  return true;
}

class SeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared absent";
    conf_ = seedFluentConf();
    ASSERT_FALSE(conf_.empty()) << "no fluent.conf in the seed document";
    ASSERT_TRUE(ca_.ok()) << ca_.error();
    api_ = std::make_unique<KubernetesStandIn>(ca_.serverCert(), ca_.serverKey());
    ASSERT_TRUE(api_->start());
    ASSERT_TRUE(es_.start());
    api_->requireToken("seed-token");
    api_->putPod(R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + std::string(kPod) +
                 R"(","namespace":"agentarea","uid":"3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7","labels":{"app":"agentarea-api","app.kubernetes.io/name":"agentarea","pod-template-hash":"7d9f8b6c5"}},"spec":{"nodeName":"node-a"},"status":{"podIP":"10.244.1.7","containerStatuses":[{"name":"api","image":"ghcr.io/agentarea/api:1.4","imageID":"ghcr.io/agentarea/api@sha256:0f1e","containerID":"containerd://)" +
                 kDockerId + R"("}]}})");
    api_->putNamespace(R"({"kind":"Namespace","apiVersion":"v1","metadata":{"name":"agentarea","uid":"9a8b7c6d-0000-4000-8000-00000000aa01","labels":{"team":"agents"}}})");

    std::filesystem::create_directories(dir_.file("var/log/containers"));
    std::ofstream log(dir_.file(std::string("var/log/containers/") + kPod + "_agentarea_api-" + kDockerId + ".log"));
    for (int i = 0; i < kLines; ++i) {
      log << "2026-11-22T01:00:0" << i % 10 << ".000000000Z stdout F {\"level\":\"info\",\"message\":\"request " << i
          << "\",\"status\":200}\n";
    }
    ASSERT_TRUE(replaceOnce(conf_, "/var/log/containers/agentarea-*.log", dir_.file("var/log/containers/agentarea-*.log")));
    ASSERT_TRUE(replaceOnce(conf_, "/var/log/fluentd-agentarea.log.pos", dir_.file("agentarea.pos")));
    ASSERT_TRUE(replaceOnce(conf_, "elasticsearch.logging.svc.cluster.local", "127.0.0.1"));
    ASSERT_TRUE(replaceOnce(conf_, "port 9200", "port " + std::to_string(es_.port())));
    ASSERT_TRUE(replaceOnce(conf_, "/var/log/fluentd-buffers/agentarea.buffer", dir_.file("buffer")));
    // As in a pod: the API server's address from the environment, this node's name from the
    // downward API.
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", std::to_string(api_->port()).c_str(), 1);
    setenv("K8S_NODE_NAME", "node-a", 1);
  }
  void TearDown() override {
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    unsetenv("K8S_NODE_NAME");
  }

  // Runs sluice on `conf` until every line is stored; returns the documents' sources.
  std::vector<std::string> run(const std::string& conf) {
    testing::writeFile(dir_.file("fluent.conf"), conf);
    SluiceProcess p({"-c", dir_.file("fluent.conf"), "--log-level", "warn"}, dir_.file("stdout"));
    bool all = waitFor([&] { return es_.documentCount() >= size_t(kLines); }, std::chrono::seconds(60));
    p.signal(SIGTERM);
    EXPECT_EQ(p.wait(), 0);
    EXPECT_TRUE(all) << es_.documentCount() << " documents";
    std::vector<std::string> out;
    for (const std::string& index : es_.indices()) {
      EXPECT_EQ(index, "agentarea-2026.11.22");
      for (const auto& d : es_.documents(index)) out.push_back(d.source);
    }
    return out;
  }

  static constexpr int kLines = 50;
  TempDir dir_;
  testing::TestCa ca_{dir_.path()};
  std::unique_ptr<KubernetesStandIn> api_;
  ElasticsearchStandIn es_{ElasticsearchStandIn::Flavor::Es7};
  std::string conf_;
};

TEST_F(SeedTest, UnchangedFilterWithoutServiceAccountKeepsTheTagNames) {
  std::vector<std::string> docs = run(conf_);
  ASSERT_EQ(docs.size(), size_t(kLines));
  simdjson::dom::parser parser;
  for (const std::string& d : docs) {
    simdjson::dom::element doc = parser.parse(d);
    ASSERT_EQ(std::string_view(doc["kubernetes"]["pod_name"].get_string().value()), kPod) << d;
    EXPECT_EQ(std::string_view(doc["kubernetes"]["namespace_name"].get_string().value()), "agentarea");
    EXPECT_EQ(std::string_view(doc["kubernetes"]["container_name"].get_string().value()), "api");
    EXPECT_EQ(std::string_view(doc["docker"]["container_id"].get_string().value()), kDockerId);
    EXPECT_EQ(doc["kubernetes"]["labels"].error(), simdjson::NO_SUCH_FIELD);  // the API was not trusted
    EXPECT_EQ(std::string_view(doc["level"].get_string().value()), "info");  // the JSON in `log`, expanded
  }
  std::string log = testing::readFile(dir_.file("stdout.err"));  // the TLS failure is told, once per kind
  EXPECT_NE(log.find("certificate"), std::string::npos) << log;
}

TEST_F(SeedTest, WithTheServiceAccountMountEventsGetThePodsMetadata) {
  std::filesystem::create_directories(dir_.file("sa"));
  std::filesystem::copy_file(ca_.caCert(), dir_.file("sa/ca.crt"));
  testing::writeFile(dir_.file("sa/token"), "seed-token\n");
  ASSERT_TRUE(replaceOnce(conf_, "@type kubernetes_metadata", "@type kubernetes_metadata\n  secret_dir " + dir_.file("sa")));
  std::vector<std::string> docs = run(conf_);
  ASSERT_EQ(docs.size(), size_t(kLines));
  simdjson::dom::parser parser;
  for (const std::string& d : docs) {
    simdjson::dom::element doc = parser.parse(d);
    simdjson::dom::element k = doc["kubernetes"];
    ASSERT_EQ(std::string_view(k["labels"]["app"].get_string().value()), "agentarea-api") << d;
    // Labelled both `app` and `app.kubernetes.io/name`, as most pods are: Elasticsearch refuses
    // the dotted key beside `app` (issue 19); the output sent the documents again de-dotted.
    EXPECT_EQ(std::string_view(k["labels"]["app_kubernetes_io/name"].get_string().value()), "agentarea") << d;
    EXPECT_EQ(std::string_view(k["pod_id"].get_string().value()), "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7");
    EXPECT_EQ(std::string_view(k["host"].get_string().value()), "node-a");
    EXPECT_EQ(std::string_view(k["container_image"].get_string().value()), "ghcr.io/agentarea/api:1.4");
    EXPECT_EQ(std::string_view(k["namespace_labels"]["team"].get_string().value()), "agents");
    EXPECT_EQ(std::string_view(k["master_url"].get_string().value()),
              "https://127.0.0.1:" + std::to_string(api_->port()) + "/api");
    EXPECT_EQ(std::string_view(doc["@log_name"].get_string().value()).find("kubernetes.agentarea."), 0u);
  }
  // The node's pods came from the watch's list: no per-pod GET.
  EXPECT_EQ(api_->requestCount("/api/v1/pods?list"), 1);
  EXPECT_EQ(api_->requestCount("/api/v1/namespaces/agentarea/pods/"), 0);
  EXPECT_EQ(api_->lastAuthorization(), "Bearer seed-token");
}

}  // namespace
}  // namespace sluice
