// SPDX-License-Identifier: Apache-2.0
// The kubernetes_metadata filter against recorded answers: the Fluentd plugin's own expected
// records (fabric8 cassettes in ../shared/fixtures/k8s) and Fluent Bit's Pod objects, through
// the API and the kubelet. Skipped when the fixtures are absent.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <fstream>
#include <thread>

#include <simdjson.h>

#include "plugins/filter_kubernetes_metadata/kube_test_support.h"

namespace sluice::plugins::filter_kubernetes_metadata {
namespace {

// ---- ../shared/fixtures/k8s ------------------------------------------------------------------

std::string k8sFixtures() { return testing::sharedDir() + "/fixtures/k8s"; }

// The cases transcribed from fluent-plugin-kubernetes_metadata_filter's tests: the API answers
// replayed from its VCR cassettes, the whole record compared (key order aside). master_url is
// the stand-in's URL where upstream had https://localhost:8443.
TEST_F(KubeMetadataTest, Fabric8ExpectedRecords) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures absent";
  const std::string base = k8sFixtures() + "/fabric8-kubernetes-metadata-filter";
  std::string cases_text = testing::readFile(base + "/expected-cases.json");
  simdjson::dom::parser parser;
  simdjson::dom::element cases = parser.parse(cases_text)["cases"];
  testing::TestCa ca(dir_.path());
  ASSERT_TRUE(ca.ok()) << ca.error();
  int checked = 0;
  for (simdjson::dom::element c : cases.get_array()) {
    std::string name(c["name"].get_string().value());
    SCOPED_TRACE(name);
    KubernetesStandIn api(ca.serverCert(), ca.serverKey());
    ASSERT_TRUE(api.start());
    std::vector<std::string> files;
    for (simdjson::dom::element cassette : c["cassettes"].get_array()) {
      files.push_back(base + "/cassettes/" + std::string(cassette.get_string().value()) + ".yml");
    }
    std::string error;
    ASSERT_TRUE(testing::loadCassettes(api, files, &error)) << error;
    std::string config(c["config"].get_string().value());
    std::string url = api.url();
    if (size_t at = config.find("https://localhost:8443"); at != std::string::npos) {
      config.replace(at, 22, url);
      config += "\nca_file " + ca.caCert();
    }
    if (size_t at = config.find("bearer_token_file test.token"); at != std::string::npos) {
      config.replace(at, 28, "bearer_token_file " + base + "/test.token");
      std::string token = testing::readFile(base + "/test.token");
      while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
      api.requireToken(token);
    }
    auto f = factory_.mustMake<KubernetesMetadataFilter>(
        PluginKind::Filter, "kubernetes_metadata", "secret_dir " + dir_.file("none") + "\n" + config + "\n");
    ASSERT_TRUE(f->start().isOk());
    Batch b;
    std::string input = simdjson::to_string(c["input_record"]);
    b.add(c["tag"].get_string().value(), 1, *parseJson(input, b.arena()));
    f->process(b);
    ASSERT_EQ(b.size(), 1u);
    std::string expected = simdjson::to_string(c["expected_record"]);
    if (size_t at = expected.find("https://localhost:8443"); at != std::string::npos) expected.replace(at, 22, url);
    Arena arena;
    Value want = *parseJson(expected, arena);
    EXPECT_TRUE(b.events()[0].record == want) << "got  " << toJson(b.events()[0].record) << "\nwant " << expected;
    ++checked;
  }
  EXPECT_EQ(checked, 11);
}

// fluent-bit's filter_kubernetes data: real Pod objects and PodLists with the fields fluent-bit
// expects; the same facts under the Fluentd plugin's names (docker_id is docker.container_id,
// container_hash is container_image_id).
void expectSameFacts(const Event& got, const std::string& out_file) {
  std::string text = testing::readFile(out_file);
  simdjson::dom::parser parser;
  simdjson::dom::element want = parser.parse(text).at(1)["kubernetes"];
  auto has = [&](std::string_view key) { return want[key].error() == simdjson::SUCCESS; };
  auto wantStr = [&](std::string_view key) { return std::string(want[key].get_string().value()); };
  const Value* k = got.record.find("kubernetes");
  ASSERT_NE(k, nullptr);
  auto gotStr = [&](std::string_view key) {
    const Value* v = k->find(key);
    return v != nullptr && v->isString() ? std::string(v->asString()) : std::string("<absent>");
  };
  for (std::string_view key : {"pod_name", "namespace_name", "pod_id", "host", "pod_ip", "container_name", "container_image"}) {
    if (has(key)) {
      EXPECT_EQ(gotStr(key), wantStr(key)) << key;
    }
  }
  if (has("container_hash")) {  // fluent-bit drops the runtime prefix (docker-pullable://), Fluentd keeps it
    EXPECT_TRUE(gotStr("container_image_id").ends_with("://" + wantStr("container_hash"))) << gotStr("container_image_id");
  }
  if (has("docker_id")) {
    const Value* d = got.record.find("docker");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(std::string(d->find("container_id")->asString()), wantStr("docker_id"));
  }
  for (std::string_view key : {"labels", "annotations"}) {
    if (!has(key)) continue;
    Arena arena;
    Value w = *parseJson(simdjson::to_string(want[key]), arena);
    const Value* g = k->find(key);
    ASSERT_NE(g, nullptr) << key;
    EXPECT_TRUE(*g == w) << key << ": got " << toJson(*g);
  }
}

std::string fluentBitTag(const std::string& out_file, const std::string& ns, const std::string& pod, const std::string& container) {
  std::string text = testing::readFile(out_file);
  simdjson::dom::parser parser;
  std::string docker(parser.parse(text).at(1)["kubernetes"]["docker_id"].get_string().value());
  return "kube.var.log.containers." + pod + "_" + ns + "_" + container + "-" + docker + ".log";
}

TEST_F(KubeMetadataTest, FluentBitPodObjectsFromApiAndKubelet) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures absent";
  const std::string base = k8sFixtures() + "/fluent-bit-filter-kubernetes";
  // From the API server: GET pod.
  for (const char* meta : {"core_base", "options_use-kubelet-disabled"}) {
    SCOPED_TRACE(meta);
    std::string pod_json = testing::readFile(base + "/meta/" + meta + ".meta");
    ASSERT_TRUE(api_.putPod(pod_json));
    std::string m = meta;
    std::string ns = m.substr(0, m.find('_'));
    std::string pod = m == "core_base" ? "base" : "use-kubelet-disabled";
    std::string out = base + "/out/" + (ns == "core" ? "core/core_base_fluent-bit.out" : "options/" + m + "_fluent-bit.out");
    auto f = make("watch false\nskip_namespace_metadata true\nannotation_match [\".*\"]\n");
    Batch b = events(fluentBitTag(out, ns, pod, "fluent-bit"), 1);
    f->process(b);
    expectSameFacts(b.events()[0], out);
  }
  // From the kubelet (HTTPS): its PodList.
  testing::TestCa ca(dir_.path());
  ASSERT_TRUE(ca.ok()) << ca.error();
  KubernetesStandIn kubelet(ca.serverCert(), ca.serverKey());
  ASSERT_TRUE(kubelet.start());
  std::string list = testing::readFile(base + "/meta/options_use-kubelet-enabled.meta");
  simdjson::dom::parser parser;
  for (simdjson::dom::element item : parser.parse(list)["items"].get_array()) {
    ASSERT_TRUE(kubelet.putPod(simdjson::to_string(item)));
  }
  auto f = make("use_kubelet true\nkubelet_host 127.0.0.1\nkubelet_port " + std::to_string(kubelet.port()) +
                    "\nca_file " + ca.caCert() + "\nannotation_match [\".*\"]\n",
                false);
  std::string out = base + "/out/options/options_use-kubelet-enabled_fluent-bit.out";
  Batch b = events(fluentBitTag(out, "options", "use-kubelet-enabled", "fluent-bit"), 1);
  f->process(b);
  expectSameFacts(b.events()[0], out);
  EXPECT_EQ(kubelet.requestCount("/pods"), 1);
}

}  // namespace
}  // namespace sluice::plugins::filter_kubernetes_metadata
