// SPDX-License-Identifier: Apache-2.0
// The kubernetes_metadata filter against the Kubernetes API stand-in (a real HTTP(S) server on
// 127.0.0.1): the cache (one request per pod, shared misses, LRU bound, negative entries, TTLs
// on a ManualClock), token rotation, an API that is down, slow or refusing (back-off and
// Retry-After on the clock), exclusion, tags that name no container, configuration. The watch
// and the kubelet are in kube_watch_test.cc, the recorded fixtures in kube_fixtures_test.cc.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <fstream>
#include <thread>

#include <simdjson.h>

#include "plugins/filter_kubernetes_metadata/kube_test_support.h"

namespace sluice::plugins::filter_kubernetes_metadata {
namespace {

TEST_F(KubeMetadataTest, EnrichesFromPodAndNamespaceOnceForManyEvents) {
  api_.putPod(podJson("shop", "web-1", R"({"app":"web","app.kubernetes.io/name":"shop"})",
                      R"({"team.io/owner":"ann","other":"x"})"));
  api_.putNamespace(nsJson("shop"));
  auto f = make("watch false\nannotation_match [\"^team\"]\n");
  for (int round = 0; round < 3; ++round) {
    Batch b = events(tagFor("shop", "web-1"), 100);
    f->process(b);
    ASSERT_EQ(b.size(), 100u);
    for (const Event& e : b.events()) {
      EXPECT_EQ(str(e, {"log"}), "hello");
      EXPECT_EQ(str(e, {"docker", "container_id"}), kDockerId);
      EXPECT_EQ(str(e, {"kubernetes", "pod_name"}), "web-1");
      EXPECT_EQ(str(e, {"kubernetes", "namespace_name"}), "shop");
      EXPECT_EQ(str(e, {"kubernetes", "container_name"}), "app");
      EXPECT_EQ(str(e, {"kubernetes", "container_image"}), "registry/app:1");
      EXPECT_EQ(str(e, {"kubernetes", "container_image_id"}), "registry/app@sha256:abc");
      EXPECT_EQ(str(e, {"kubernetes", "pod_id"}), "uid-web-1");
      EXPECT_EQ(str(e, {"kubernetes", "pod_ip"}), "10.1.2.3");
      EXPECT_EQ(str(e, {"kubernetes", "host"}), "node-a");
      EXPECT_EQ(str(e, {"kubernetes", "labels", "app.kubernetes.io/name"}), "shop");
      EXPECT_EQ(str(e, {"kubernetes", "annotations"}), R"({"team.io/owner":"ann"})");
      EXPECT_EQ(str(e, {"kubernetes", "master_url"}), api_.url());
      EXPECT_EQ(str(e, {"kubernetes", "namespace_id"}), "ns-uid-shop");
      EXPECT_EQ(str(e, {"kubernetes", "namespace_labels", "team"}), "core");
    }
  }
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/shop/pods/web-1"), 1);
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/shop"), 2);  // the pod, and the namespace itself
  EXPECT_EQ(metric("sluice_filter_kubernetes_metadata_lookups_total", {{"result", "hit"}}), 4);  // 2 runs x (pod + namespace)
}

TEST_F(KubeMetadataTest, EventsShareNothingAfterwards) {
  // A later filter changing one event's kubernetes object must not change the others'.
  api_.putPod(podJson("shop", "web-1"));
  auto f = make("watch false\n");
  Batch b = events(tagFor("shop", "web-1"), 2);
  f->process(b);
  b.events()[0].record.find("kubernetes")->find("labels")->setMember("app", Value::string("changed"), b.arena());
  EXPECT_EQ(str(b.events()[1], {"kubernetes", "labels", "app"}), "web");
  // Serialised, too (outputs reuse the JSON written once per pod only for unchanged copies).
  EXPECT_NE(toJson(b.events()[0].record).find(R"("labels":{"app":"changed"})"), std::string::npos);
  EXPECT_NE(toJson(b.events()[1].record).find(R"("labels":{"app":"web"})"), std::string::npos);
  Batch again = events(tagFor("shop", "web-1"), 1);
  f->process(again);
  EXPECT_EQ(str(again.events()[0], {"kubernetes", "labels", "app"}), "web");
}

TEST_F(KubeMetadataTest, TagsThatNameNoContainerPassUntouched) {
  auto f = make("watch false\n");
  Batch b = events("app.access", 3, R"({"log":"x","kubernetes":"mine"})");
  f->process(b);
  EXPECT_EQ(testing::jsonRecords(b), std::vector<std::string>(3, R"({"log":"x","kubernetes":"mine"})"));
  EXPECT_EQ(api_.requestCount(), 0);
}

TEST_F(KubeMetadataTest, WithoutApiServerTheTagNamesAreAdded) {
  auto f = make("", false);
  Batch b = events("var.log.containers.fabric8-console-controller.98rqc_default_fabric8-console-container-" +
                       std::string(kDockerId) + ".log",
                   1, "{}");
  f->process(b);
  EXPECT_EQ(toJson(b.events()[0].record),
            R"({"docker":{"container_id":")" + std::string(kDockerId) +
                R"("},"kubernetes":{"container_name":"fabric8-console-container","namespace_name":"default","pod_name":"fabric8-console-controller.98rqc"}})");
}

TEST_F(KubeMetadataTest, ConcurrentMissesShareOneRequest) {
  api_.putPod(podJson("shop", "web-1"));
  api_.putNamespace(nsJson("shop"));
  api_.setDelayMs(300);
  auto f = make("watch false\n");
  std::vector<std::thread> threads;
  std::atomic<int> enriched{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      Batch b = events(tagFor("shop", "web-1"), 10);
      f->process(b);
      if (str(b.events()[9], {"kubernetes", "labels", "app"}) == "web") enriched += 1;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(enriched.load(), 8);
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/shop/pods/web-1"), 1);
}

TEST_F(KubeMetadataTest, CacheBoundHoldsForAThousandPods) {
  for (int i = 0; i < 1000; ++i) api_.putPod(podJson("load", "pod-" + std::to_string(i)));
  api_.putNamespace(nsJson("load"));
  auto f = make("watch false\ncache_size 100\n");
  // Each pod logs in 5 batches in a row, then the next pod: one request per pod.
  for (int i = 0; i < 1000; ++i) {
    for (int k = 0; k < 5; ++k) {
      Batch b = events(tagFor("load", "pod-" + std::to_string(i)), 20);
      f->process(b);
      ASSERT_EQ(str(b.events()[0], {"kubernetes", "pod_id"}), "uid-pod-" + std::to_string(i));
    }
    ASSERT_LE(f->cachedPods(), 100u);
  }
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/load/pods/"), 1000);
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/load?"), 0);  // query strings are not part of the path
  EXPECT_EQ(api_.requestCount() - api_.requestCount("/api/v1/namespaces/load/pods/"), 1);  // the namespace, once
  // The 100 most recent pods are cached; older ones were evicted and are asked for again.
  for (int i = 900; i < 1000; ++i) {
    Batch b = events(tagFor("load", "pod-" + std::to_string(i)), 1);
    f->process(b);
  }
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/load/pods/"), 1000);
  for (int i = 0; i < 10; ++i) {
    Batch b = events(tagFor("load", "pod-" + std::to_string(i)), 1);
    f->process(b);
  }
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/load/pods/"), 1010);
  EXPECT_EQ(metric("sluice_filter_kubernetes_metadata_cached_pods"), 100);
}

TEST_F(KubeMetadataTest, PodsThatAreGoneAreCachedAndOrphanedWithTheirNamespace) {
  auto f = make("watch false\n");
  for (int i = 0; i < 5; ++i) {
    Batch b = events(tagFor("gone", "ghost"), 2);
    f->process(b);
    EXPECT_EQ(str(b.events()[1], {"kubernetes", "namespace_name"}), ".orphaned");
    EXPECT_EQ(str(b.events()[1], {"kubernetes", "orphaned_namespace"}), "gone");
    EXPECT_EQ(str(b.events()[1], {"kubernetes", "namespace_id"}), "orphaned");
  }
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/gone/pods/ghost"), 1);
  // A pod that is gone from a namespace that exists keeps its namespace.
  api_.putNamespace(nsJson("live"));
  Batch b = events(tagFor("live", "ghost"), 1);
  f->process(b);
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "namespace_name"}), "live");
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "namespace_id"}), "ns-uid-live");
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "pod_id"}), "<absent>");
}

TEST_F(KubeMetadataTest, ExcludedPodsAreDroppedAndCounted) {
  api_.putPod(podJson("shop", "noisy", R"({"app":"noisy"})", R"({"sluice.io/exclude":"true"})"));
  api_.putPod(podJson("shop", "web-1"));
  auto f = make("watch false\n");
  Batch b;
  for (const char* pod : {"web-1", "noisy", "noisy", "web-1", "noisy"}) {
    b.add(b.arena().copy(tagFor("shop", pod)), 1, *parseJson(R"({"log":"x"})", b.arena()));
  }
  f->process(b);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "pod_name"}), "web-1");
  EXPECT_EQ(str(b.events()[1], {"kubernetes", "pod_name"}), "web-1");
  EXPECT_EQ(metric("sluice_filter_kubernetes_metadata_excluded_records_total"), 3);
}

TEST_F(KubeMetadataTest, ApiDownThenBackNeverStopsEvents) {
  api_.putPod(podJson("shop", "web-1"));
  api_.putPod(podJson("shop", "web-2"));
  api_.putNamespace(nsJson("shop"));
  ManualClock clock(nowNs());  // the back-off runs on it
  clock_ = &clock;
  auto f = make("watch false\n");
  api_.failRequests(500, -1);
  Batch b = events(tagFor("shop", "web-1"), 3);
  f->process(b);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "pod_name"}), "web-1");  // the tag's names
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "namespace_name"}), "shop");
  EXPECT_EQ(str(b.events()[0], {"docker", "container_id"}), kDockerId);
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "labels"}), "<absent>");
  EXPECT_EQ(metric("sluice_filter_kubernetes_metadata_api_errors_total", {{"reason", "server"}}), 1);
  // Backing off: another pod's events do not cause a request right away.
  int before = api_.requestCount();
  Batch b2 = events(tagFor("shop", "web-2"), 1);
  f->process(b2);
  EXPECT_EQ(api_.requestCount(), before);
  EXPECT_EQ(str(b2.events()[0], {"kubernetes", "pod_name"}), "web-2");
  // The API answers again: not asked before the back-off (1 s) ends, then the metadata arrives.
  api_.failRequests(0, 0);
  clock.advance(kNanosPerSecond - 1);
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-1")), "<absent>");
  EXPECT_EQ(api_.requestCount(), before);
  clock.advance(1);
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-1")), "web");
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-2")), "web");
}

TEST_F(KubeMetadataTest, UnreachableSlowAndForbiddenApisAreBounded) {
  // Nothing listens on the port of a stopped server.
  KubernetesStandIn dead;
  ASSERT_TRUE(dead.start());
  std::string dead_url = dead.url();
  dead.stop();
  auto down = factory_.mustMake<KubernetesMetadataFilter>(
      PluginKind::Filter, "kubernetes_metadata",
      "secret_dir " + dir_.file("none") + "\nstats_interval 0\nwatch false\nkubernetes_url " + dead_url + "\n");
  ASSERT_TRUE(down->start().isOk());
  Batch b = events(tagFor("shop", "web-1"), 2);
  down->process(b);
  EXPECT_EQ(str(b.events()[1], {"kubernetes", "pod_name"}), "web-1");
  EXPECT_EQ(metric("sluice_filter_kubernetes_metadata_api_errors_total", {{"reason", "transport"}}), 1);

  // A slow API: the lookup gives up after read_timeout and the events go on.
  api_.putPod(podJson("shop", "web-1"));
  api_.setDelayMs(3000);
  auto slow = make("watch false\nread_timeout 1\nopen_timeout 1\n");
  auto start = std::chrono::steady_clock::now();
  Batch s = events(tagFor("shop", "web-1"), 1);
  slow->process(s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2900));
  EXPECT_EQ(str(s.events()[0], {"kubernetes", "pod_name"}), "web-1");
  api_.setDelayMs(0);

  // RBAC refuses: counted as forbidden.
  api_.failRequests(403, -1);
  auto denied = make("watch false\n");
  Batch d = events(tagFor("shop", "web-1"), 1);
  denied->process(d);
  EXPECT_EQ(str(d.events()[0], {"kubernetes", "namespace_name"}), "shop");
  EXPECT_EQ(metric("sluice_filter_kubernetes_metadata_api_errors_total", {{"reason", "forbidden"}}), 1);
}

TEST_F(KubeMetadataTest, RotatedTokenIsReadAgainAndA401RetriesOnce) {
  std::string token = dir_.file("token");
  testing::writeFile(token, "first\n");
  api_.requireToken("first");
  for (int i = 1; i <= 3; ++i) api_.putPod(podJson("shop", "web-" + std::to_string(i)));
  auto f = make("watch false\nskip_namespace_metadata true\nbearer_token_file " + token + "\n");
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-1")), "web");
  EXPECT_EQ(api_.lastAuthorization(), "Bearer first");

  // Rotation: a new file content is read before the next request.
  api_.requireToken("second");
  testing::writeFile(token, "second\n");
  struct stat st {};
  ASSERT_EQ(::stat(token.c_str(), &st), 0);
  struct utimbuf times {st.st_atime, st.st_mtime + 5};  // a later mtime, whatever the clock's resolution
  ASSERT_EQ(::utime(token.c_str(), &times), 0);
  int before = api_.requestCount();
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-2")), "web");
  EXPECT_EQ(api_.requestCount(), before + 1);
  EXPECT_EQ(api_.lastAuthorization(), "Bearer second");

  // A token swapped without a new mtime: the 401 makes the filter read it again and retry once.
  ASSERT_EQ(::stat(token.c_str(), &st), 0);
  api_.requireToken("third");
  testing::writeFile(token, "third\n");
  struct utimbuf same {st.st_atime, st.st_mtime};
  ASSERT_EQ(::utime(token.c_str(), &same), 0);
  before = api_.requestCount();
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-3")), "web");
  EXPECT_EQ(api_.requestCount(), before + 2);
  EXPECT_EQ(metric("sluice_filter_kubernetes_metadata_api_errors_total", {{"reason", "unauthorized"}}), 0);
}

// A 429 from the API server carries Retry-After: lookups wait at least that long, however
// short the filter's own back-off (1 s at first).
TEST_F(KubeMetadataTest, TooManyRequestsWaitsForRetryAfter) {
  api_.putPod(podJson("shop", "web-1"));
  api_.putNamespace(nsJson("shop"));
  ManualClock clock(nowNs());
  clock_ = &clock;
  auto f = make("watch false\n");
  api_.setRetryAfter(30);
  api_.failRequests(429, 1);
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-1")), "<absent>");
  const int requests = api_.requestCount();
  // Past the filter's own first back-off (1 s), still within the server's 30 s: not asked.
  clock.advance(1'500'000'000);
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-1")), "<absent>");
  EXPECT_EQ(api_.requestCount(), requests);
  clock.advance(30 * kNanosPerSecond - 1'500'000'000 - 1);
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-1")), "<absent>");
  EXPECT_EQ(api_.requestCount(), requests);
  // The 30 s are over: asked again, and answered.
  clock.advance(1);
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-1")), "web");
  EXPECT_GT(api_.requestCount(), requests);
}

TEST_F(KubeMetadataTest, EntriesExpireAfterTheTtlAndDeDotRenamesKeys) {
  api_.putPod(podJson("shop", "web-1", R"({"app.kubernetes.io/name":"v1"})", R"({"team.io/owner":"ann"})"));
  ManualClock clock(nowNs());  // the entries' expiry runs on it
  clock_ = &clock;
  auto f = make("watch false\ncache_ttl 1\nskip_namespace_metadata true\nde_dot true\nde_dot_separator __\n"
                "annotation_match [\"team\"]\n");
  auto label = [&] {
    Batch b = events(tagFor("shop", "web-1"), 1);
    f->process(b);
    return str(b.events()[0], {"kubernetes", "labels", "app__kubernetes__io/name"});
  };
  EXPECT_EQ(label(), "v1");
  Batch b = events(tagFor("shop", "web-1"), 1);
  f->process(b);
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "annotations", "team__io/owner"}), "ann");
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/shop/pods/web-1"), 1);
  // Without a watch, a changed pod is seen once its entry expires (cache_ttl 1 s): one more
  // request, not before.
  api_.putPod(podJson("shop", "web-1", R"({"app.kubernetes.io/name":"v2"})"));
  clock.advance(kNanosPerSecond - 1);
  EXPECT_EQ(label(), "v1");
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/shop/pods/web-1"), 1);
  clock.advance(1);
  EXPECT_EQ(label(), "v2");
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/shop/pods/web-1"), 2);
}

TEST_F(KubeMetadataTest, TagRegexpsMayRepeatGroupNamesAsRubyAllows) {
  // Upstream's own default written out, and a custom one for a different tag layout.
  auto f = make("tag_to_kubernetes_name_regexp ^app\\.(?<namespace>[^.]+)\\.(?<pod_name>[^.]+)\\.(?<container_name>[^.]+)$|"
                "^legacy\\.(?<pod_name>[^_]+)_(?<namespace>[^_]+)_(?<container_name>.+)$\n",
                false);
  Batch a = events("app.shop.web-1.nginx", 1);
  f->process(a);
  EXPECT_EQ(str(a.events()[0], {"kubernetes", "namespace_name"}), "shop");
  EXPECT_EQ(str(a.events()[0], {"kubernetes", "pod_name"}), "web-1");
  EXPECT_EQ(str(a.events()[0], {"docker"}), "<absent>");  // no docker_id group: no docker field
  Batch b = events("legacy.web-2_prod_app", 1);
  f->process(b);
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "namespace_name"}), "prod");
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "container_name"}), "app");
}

TEST_F(KubeMetadataTest, BadConfigsAreRefused) {
  for (const char* body : {"de_dot true\nde_dot_separator .\n", "apiVersion v2\n",
                           "tag_to_kubernetes_name_regexp ^(?<pod>.+)$\n", "annotation_match [\"(\"]\n",
                           "cache_size 0\n"}) {
    auto r = factory_.make(PluginKind::Filter, "kubernetes_metadata", body);
    EXPECT_FALSE(r) << body;
  }
}

}  // namespace
}  // namespace sluice::plugins::filter_kubernetes_metadata
