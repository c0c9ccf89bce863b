// SPDX-License-Identifier: Apache-2.0
// The kubernetes_metadata filter's watch (label changes, 410 Gone → a new list, bookmarks, the
// cutting of watch lines) and its kubelet mode (HTTPS with a token, a kubelet's own certificate
// refused at start), against the Kubernetes API stand-in.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <utime.h>

#include <fstream>
#include <thread>

#include <simdjson.h>

#include "plugins/filter_kubernetes_metadata/kube_test_support.h"

namespace sluice::plugins::filter_kubernetes_metadata {
namespace {

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

// The watch asks for bookmarks: a BOOKMARK moves its resource version on (the cluster's
// revision advanced through other objects), so after the stream ends it resumes from there,
// and a compaction past the last pod event does not force a new list.
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

}  // namespace
}  // namespace sluice::plugins::filter_kubernetes_metadata
