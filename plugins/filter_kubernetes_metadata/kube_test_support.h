// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the kubernetes_metadata filter's tests share (kubernetes_metadata_filter_test.cc,
// kube_watch_test.cc, kube_fixtures_test.cc): Pod and Namespace objects, container-log tags,
// and the fixture that builds a filter against the Kubernetes API stand-in. Test thread.

#include <gtest/gtest.h>

#include <string>

#include "plugins/filter_kubernetes_metadata/kubernetes_metadata_filter.h"
#include "standins/kubernetes.h"
#include "support/http_server.h"
#include "support/test_support.h"

namespace sluice::plugins::filter_kubernetes_metadata {

using testing::KubernetesStandIn;
using testing::PluginFactory;
using testing::TempDir;
using testing::waitFor;

inline constexpr std::string_view kDockerId = "49095a2894da899d3b327c5fde1e056a81376cc9a8f8b09a195f2a92bceed459";

inline std::string tagFor(const std::string& ns, const std::string& pod, const std::string& container = "app") {
  return "kubernetes.var.log.containers." + pod + "_" + ns + "_" + container + "-" + std::string(kDockerId) + ".log";
}

inline std::string podJson(const std::string& ns, const std::string& name, const std::string& labels = R"({"app":"web"})",
                    const std::string& annotations = "{}", const std::string& node = "node-a") {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name + R"(","namespace":")" + ns +
         R"(","uid":"uid-)" + name + R"(","labels":)" + labels + R"(,"annotations":)" + annotations +
         R"(},"spec":{"nodeName":")" + node +
         R"(","containers":[{"name":"app","image":"registry/app:1"}]},"status":{"podIP":"10.1.2.3","containerStatuses":[{"name":"app","image":"registry/app:1","imageID":"registry/app@sha256:abc","containerID":"containerd://)" +
         std::string(kDockerId) + R"("}]}})";
}

inline std::string nsJson(const std::string& name, const std::string& labels = R"({"team":"core"})") {
  return R"({"kind":"Namespace","apiVersion":"v1","metadata":{"name":")" + name + R"(","uid":"ns-uid-)" + name +
         R"(","labels":)" + labels + "}}";
}

class KubeMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(api_.start()); }

  std::unique_ptr<KubernetesMetadataFilter> make(const std::string& body, bool with_url = true) {
    std::string conf = "secret_dir " + dir_.file("no-secrets") + "\nstats_interval 0\n";
    if (with_url) conf += "kubernetes_url " + api_.url() + "\n";
    if (clock_ != nullptr) factory_.setClock(*clock_);
    auto f = factory_.mustMake<KubernetesMetadataFilter>(PluginKind::Filter, "kubernetes_metadata", conf + body);
    EXPECT_TRUE(f->start().isOk());
    return f;
  }
  static Batch events(const std::string& tag, int n, const std::string& record = R"({"log":"hello"})") {
    Batch b;
    std::string_view t = b.arena().copy(tag);  // events keep views
    for (int i = 0; i < n; ++i) b.add(t, 1'700'000'000'000'000'000 + i, *parseJson(record, b.arena()));
    return b;
  }
  static std::string str(const Event& e, std::initializer_list<std::string_view> path) {
    const Value* v = &e.record;
    for (std::string_view k : path) {
      v = v->find(k);
      if (v == nullptr) return "<absent>";
    }
    return v->isString() ? std::string(v->asString()) : toJson(*v);
  }
  std::string labelOf(KubernetesMetadataFilter& f, const std::string& tag) {
    Batch b = events(tag, 1);
    f.process(b);
    return str(b.events()[0], {"kubernetes", "labels", "app"});
  }
  double metric(std::string_view name, const Labels& labels = {}) {
    return factory_.metrics().valueForTest(name, labels);
  }

  TempDir dir_;
  KubernetesStandIn api_;
  PluginFactory factory_;
  ManualClock* clock_ = nullptr;  // the clock of the filters make() builds from then on
};


}  // namespace sluice::plugins::filter_kubernetes_metadata
