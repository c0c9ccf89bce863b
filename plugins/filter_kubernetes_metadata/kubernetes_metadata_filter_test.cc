// SPDX-License-Identifier: Apache-2.0
// The kubernetes_metadata filter against the Kubernetes API stand-in (a real HTTP(S) server on
// 127.0.0.1): the Fluentd plugin's own expected records (../shared/fixtures/k8s), the cache
// (one request per pod, shared misses, LRU bound, negative entries), the watch (label change,
// 410 Gone → new list), token rotation, an API that is down, slow or refusing, the kubelet,
// exclusion, and tags that name no container.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <fstream>
#include <thread>

#include <simdjson.h>

#include "plugins/filter_kubernetes_metadata/kubernetes_metadata_filter.h"
#include "standins/kubernetes.h"
#include "support/http_server.h"
#include "support/test_support.h"

namespace sluice::plugins::filter_kubernetes_metadata {
namespace {

using testing::KubernetesStandIn;
using testing::PluginFactory;
using testing::TempDir;
using testing::waitFor;

constexpr std::string_view kDockerId = "49095a2894da899d3b327c5fde1e056a81376cc9a8f8b09a195f2a92bceed459";

std::string tagFor(const std::string& ns, const std::string& pod, const std::string& container = "app") {
  return "kubernetes.var.log.containers." + pod + "_" + ns + "_" + container + "-" + std::string(kDockerId) + ".log";
}

std::string podJson(const std::string& ns, const std::string& name, const std::string& labels = R"({"app":"web"})",
                    const std::string& annotations = "{}", const std::string& node = "node-a") {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name + R"(","namespace":")" + ns +
         R"(","uid":"uid-)" + name + R"(","labels":)" + labels + R"(,"annotations":)" + annotations +
         R"(},"spec":{"nodeName":")" + node +
         R"(","containers":[{"name":"app","image":"registry/app:1"}]},"status":{"podIP":"10.1.2.3","containerStatuses":[{"name":"app","image":"registry/app:1","imageID":"registry/app@sha256:abc","containerID":"containerd://)" +
         std::string(kDockerId) + R"("}]}})";
}

std::string nsJson(const std::string& name, const std::string& labels = R"({"team":"core"})") {
  return R"({"kind":"Namespace","apiVersion":"v1","metadata":{"name":")" + name + R"(","uid":"ns-uid-)" + name +
         R"(","labels":)" + labels + "}}";
}

class KubeMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(api_.start()); }

  std::unique_ptr<KubernetesMetadataFilter> make(const std::string& body, bool with_url = true) {
    std::string conf = "secret_dir " + dir_.file("no-secrets") + "\nstats_interval 0\n";
    if (with_url) conf += "kubernetes_url " + api_.url() + "\n";
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
};

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
  // The API answers again: after the back-off the metadata arrives.
  api_.failRequests(0, 0);
  ASSERT_TRUE(waitFor([&] { return labelOf(*f, tagFor("shop", "web-1")) == "web"; }));
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

TEST_F(KubeMetadataTest, WatchKeepsTheCacheFreshAndListsAgainOnGone) {
  api_.putPod(podJson("shop", "web-1", R"({"app":"v1"})"));
  api_.putPod(podJson("shop", "elsewhere", R"({"app":"v1"})", "{}", "node-b"));
  api_.putNamespace(nsJson("shop"));
  auto f = make("watch true\nnode_name node-a\n");
  ASSERT_TRUE(waitFor([&] { return api_.openWatches() == 1; }));
  EXPECT_NE(api_.lastPodsQuery().find("fieldSelector=spec.nodeName=node-a"), std::string::npos) << api_.lastPodsQuery();
  // The list filled the cache: no GET for this node's pod.
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-1")), "v1");
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/shop/pods/"), 0);

  api_.putPod(podJson("shop", "web-1", R"({"app":"v2"})"));
  ASSERT_TRUE(waitFor([&] { return labelOf(*f, tagFor("shop", "web-1")) == "v2"; }));
  EXPECT_EQ(api_.requestCount("/api/v1/namespaces/shop/pods/"), 0);

  // History compacted: the watch ends, its version is gone (410), the filter lists again.
  EXPECT_EQ(metric("sluice_filter_kubernetes_metadata_relists_total"), 1);
  api_.compactHistory();
  ASSERT_TRUE(waitFor([&] { return metric("sluice_filter_kubernetes_metadata_relists_total") == 2; }));
  ASSERT_TRUE(waitFor([&] { return api_.openWatches() == 1; }));
  api_.putPod(podJson("shop", "web-1", R"({"app":"v3"})"));
  ASSERT_TRUE(waitFor([&] { return labelOf(*f, tagFor("shop", "web-1")) == "v3"; }));

  // The API server restarts (streams cut): the watch resumes from the last version.
  api_.closeWatches();
  // (The reconnection waits out watch_retry_interval; a busy machine took over 10 s once.)
  ASSERT_TRUE(waitFor([&] { return api_.requestCount("/api/v1/pods?watch") >= 4; }, std::chrono::seconds(30)));
  api_.putPod(podJson("shop", "web-1", R"({"app":"v4"})"));
  ASSERT_TRUE(waitFor([&] { return labelOf(*f, tagFor("shop", "web-1")) == "v4"; }));
  EXPECT_EQ(metric("sluice_filter_kubernetes_metadata_relists_total"), 2);
  f->stop();
  EXPECT_TRUE(waitFor([&] { return api_.openWatches() == 0; }));
}

// The watch asks for bookmarks: a BOOKMARK moves its resource version on (the cluster's
// revision advanced through other objects), so after the stream ends it resumes from there,
// and a compaction past the last pod event does not force a new list.
// The watch body arrives in pieces of any size: lines are cut where they end, empty lines
// skipped, a consumer may stop the watch, and a line that never ends stops it at 16 MiB rather
// than growing the buffer without end (the watch-stream fuzz target drives the same class).
TEST(WatchLinesTest, CutsLinesAcrossPiecesAndBoundsAnUnendingOne) {
  WatchLines lines;
  std::vector<std::string> got;
  auto collect = [&](std::string_view line) {
    got.emplace_back(line);
    return true;
  };
  for (std::string_view piece : {"{\"a\"", ":1}\n\n{\"b\":", "2}\n{\"c", ""}) ASSERT_TRUE(lines.feed(piece, collect));
  EXPECT_EQ(got, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
  EXPECT_EQ(lines.buffered(), 3u);  // {"c
  EXPECT_FALSE(lines.feed("\"}\nnext\n", [&](std::string_view line) { return line != "{\"c\"}"; }));
  EXPECT_EQ(lines.buffered(), 0u);
  EXPECT_FALSE(lines.overflow());
  WatchLines endless;
  const std::string mib(1 << 20, 'x');
  bool going = true;
  for (int i = 0; i < 17 && going; ++i) going = endless.feed(mib, collect);
  EXPECT_FALSE(going);
  EXPECT_TRUE(endless.overflow());
  EXPECT_EQ(endless.buffered(), 0u);
}

TEST_F(KubeMetadataTest, WatchResumesFromBookmarks) {
  api_.putPod(podJson("shop", "web-1", R"({"app":"v1"})"));
  auto f = make("watch true\nnode_name node-a\n");
  ASSERT_TRUE(waitFor([&] { return api_.openWatches() == 1; }));
  EXPECT_NE(api_.lastPodsQuery().find("allowWatchBookmarks=true"), std::string::npos) << api_.lastPodsQuery();
  api_.bookmark(500);
  ASSERT_TRUE(waitFor([&] { return api_.bookmarksSent() == 1; }));
  const int watches = api_.requestCount("/api/v1/pods?watch");
  api_.closeWatches();
  ASSERT_TRUE(waitFor([&] { return api_.requestCount("/api/v1/pods?watch") > watches && api_.openWatches() == 1; }));
  // The pod's version was 1001; the bookmark's 1501.
  EXPECT_NE(api_.lastPodsQuery().find("resourceVersion=1501"), std::string::npos) << api_.lastPodsQuery();
  api_.putPod(podJson("shop", "web-1", R"({"app":"v2"})"));
  ASSERT_TRUE(waitFor([&] { return labelOf(*f, tagFor("shop", "web-1")) == "v2"; }));
  EXPECT_EQ(metric("sluice_filter_kubernetes_metadata_relists_total"), 1);
  f->stop();
}

// A 429 from the API server carries Retry-After: lookups wait at least that long, however
// short the filter's own back-off (1 s at first).
TEST_F(KubeMetadataTest, TooManyRequestsWaitsForRetryAfter) {
  api_.putPod(podJson("shop", "web-1"));
  api_.putNamespace(nsJson("shop"));
  auto f = make("watch false\n");
  api_.setRetryAfter(30);
  api_.failRequests(429, 1);
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-1")), "<absent>");
  const int requests = api_.requestCount();
  // Past the filter's own first back-off, still within the server's 30 s.
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(labelOf(*f, tagFor("shop", "web-1")), "<absent>");
  EXPECT_EQ(api_.requestCount(), requests);
}

// A kubelet's own certificate (self-signed unless serverTLSBootstrap) is not signed by the
// cluster CA: with verify_ssl, start-up fails with a clear message rather than every event
// passing without metadata.
TEST_F(KubeMetadataTest, KubeletWithAnUnverifiableCertificateStopsStartUp) {
  testing::TempDir cluster_dir, kubelet_dir;
  testing::TestCa cluster(cluster_dir.path());
  ASSERT_TRUE(cluster.ok()) << cluster.error();
  std::string error;
  auto kubelet = KubernetesStandIn::selfSignedKubelet(kubelet_dir.path(), &error);
  ASSERT_TRUE(kubelet) << error;
  ASSERT_TRUE(kubelet->start());
  kubelet->putPod(podJson("shop", "web-1"));
  const std::string conf = "secret_dir " + dir_.file("no-secrets") + "\nuse_kubelet true\nkubelet_host 127.0.0.1\nkubelet_port " +
                           std::to_string(kubelet->port()) + "\nca_file " + cluster.caCert() + "\n";
  auto f = factory_.mustMake<KubernetesMetadataFilter>(PluginKind::Filter, "kubernetes_metadata", conf);
  Status st = f->start();
  ASSERT_FALSE(st.isOk());
  EXPECT_NE(st.message().find("kubelet's certificate cannot be verified"), std::string::npos) << st.message();
  auto lax = factory_.mustMake<KubernetesMetadataFilter>(PluginKind::Filter, "kubernetes_metadata", conf + "verify_ssl false\n");
  ASSERT_TRUE(lax->start().isOk());
  EXPECT_EQ(labelOf(*lax, tagFor("shop", "web-1")), "web");
}

TEST_F(KubeMetadataTest, KubeletPodsOverHttpsWithToken) {
  testing::TestCa ca(dir_.path());
  ASSERT_TRUE(ca.ok()) << ca.error();
  KubernetesStandIn kubelet(ca.serverCert(), ca.serverKey());
  ASSERT_TRUE(kubelet.start());
  kubelet.requireToken("kubelet-token");
  kubelet.setKubeletNode("node-a");
  for (int i = 0; i < 3; ++i) kubelet.putPod(podJson("shop", "web-" + std::to_string(i)));
  kubelet.putPod(podJson("shop", "remote", R"({"app":"web"})", "{}", "node-b"));
  testing::writeFile(dir_.file("token"), "kubelet-token");
  auto f = make("use_kubelet true\nkubelet_host 127.0.0.1\nkubelet_port " + std::to_string(kubelet.port()) +
                    "\nca_file " + ca.caCert() + "\nbearer_token_file " + dir_.file("token") + "\n",
                false);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(labelOf(*f, tagFor("shop", "web-" + std::to_string(i))), "web");
  EXPECT_EQ(kubelet.requestCount("/pods"), 1);  // one listing answered all three
  EXPECT_EQ(kubelet.requestCount("/api/"), 0);
  Batch b = events(tagFor("shop", "remote"), 1);  // not on this node: the tag's names only
  f->process(b);
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "pod_name"}), "remote");
  EXPECT_EQ(str(b.events()[0], {"kubernetes", "labels"}), "<absent>");
}

TEST_F(KubeMetadataTest, EntriesExpireAfterTheTtlAndDeDotRenamesKeys) {
  api_.putPod(podJson("shop", "web-1", R"({"app.kubernetes.io/name":"v1"})", R"({"team.io/owner":"ann"})"));
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
  // Without a watch, a changed pod is seen once its entry expires: one more request.
  api_.putPod(podJson("shop", "web-1", R"({"app.kubernetes.io/name":"v2"})"));
  ASSERT_TRUE(waitFor([&] { return label() == "v2"; }));
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
