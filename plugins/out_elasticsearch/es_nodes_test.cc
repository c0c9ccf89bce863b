// SPDX-License-Identifier: Apache-2.0
// Node discovery of the elasticsearch output (reload_connections, reload_on_failure,
// reload_after, sniffer_class_name) against stand-ins that list each other in GET _nodes/http.

#include <gtest/gtest.h>

#include "plugins/out_elasticsearch/es_nodes.h"
#include "plugins/out_elasticsearch/es_output.h"
#include "standins/elasticsearch.h"
#include "support/test_support.h"

namespace sluice::plugins::out_elasticsearch {
namespace {

using testing::ElasticsearchStandIn;
using testing::PluginFactory;

constexpr int64_t kNov22 = 1795309323LL * kNanosPerSecond;

WriteResult::Kind writeOne(EsOutput& out, int n) {
  Batch b;
  b.add("test", kNov22, *parseJson("{\"n\":" + std::to_string(n) + "}", b.arena()));
  FormattedEvents bytes;
  out.format(b, bytes);
  return out.write(ChunkView(bytes.bytes, bytes.ends, nullptr)).kind;
}

TEST(EsNodesTest, ParsesPublishAddressesAsTheRubyClientDoes) {
  auto nodes = parseNodesHttp(
      R"({"_nodes":{"total":4},"cluster_name":"c","nodes":{)"
      R"("a":{"http":{"publish_address":"10.0.0.5:9200"}},)"
      R"("b":{"http":{"publish_address":"es-1.es.svc/10.0.0.6:9201"}},)"
      R"("c":{"http":{"publish_address":"[::1]:9202"}},)"
      R"("d":{"name":"no http"}}})");
  ASSERT_TRUE(nodes.has_value());
  EXPECT_EQ(*nodes, (std::vector<std::string>{"10.0.0.5:9200", "es-1.es.svc:9201", "[::1]:9202"}));
  EXPECT_FALSE(parseNodesHttp("{}").has_value());
  EXPECT_FALSE(parseNodesHttp("not json").has_value());
}

TEST(EsNodesTest, ReloadConnectionsSendsToTheDiscoveredNodes) {
  ElasticsearchStandIn seed, a, b;
  ASSERT_TRUE(seed.start());
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());
  // The seed node answers for the cluster: the data nodes are a and b.
  seed.setNodes({"127.0.0.1:" + std::to_string(a.port()), "localhost/127.0.0.1:" + std::to_string(b.port())});
  PluginFactory f;
  auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch",
                                  "host 127.0.0.1\nport " + std::to_string(seed.port()) + "\nreload_connections true\n");
  ASSERT_TRUE(out->start().isOk());
  EXPECT_EQ(seed.nodesRequests(), 1);
  auto hosts = out->currentHosts();
  ASSERT_EQ(hosts->size(), 2u);
  EXPECT_EQ((*hosts)[1]->base_url, "http://localhost:" + std::to_string(b.port()));
  for (int i = 0; i < 4; ++i) ASSERT_EQ(writeOne(*out, i), WriteResult::Kind::Ok);
  EXPECT_EQ(seed.documentCount(), 0u);
  EXPECT_EQ(a.documentCount(), 2u);  // round-robin over the discovered nodes
  EXPECT_EQ(b.documentCount(), 2u);
}

TEST(EsNodesTest, ReloadAfterDiscoversAgainAfterThatManyRequests) {
  ElasticsearchStandIn seed, a;
  ASSERT_TRUE(seed.start());
  ASSERT_TRUE(a.start());
  PluginFactory f;
  // The seed lists itself at first.
  auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch",
                                  "host 127.0.0.1\nport " + std::to_string(seed.port()) +
                                      "\nreload_connections true\nreload_after 3\n");
  ASSERT_TRUE(out->start().isOk());
  seed.setNodes({"127.0.0.1:" + std::to_string(a.port())});
  for (int i = 0; i < 6; ++i) ASSERT_EQ(writeOne(*out, i), WriteResult::Kind::Ok);
  // Requests 1-3 went to the seed; the third one's count discovered a; 4-6 went to a.
  EXPECT_EQ(seed.documentCount(), 3u);
  EXPECT_EQ(a.documentCount(), 3u);
  // Asked at start and after request 3 (the seed was the list), after request 6 (a was).
  EXPECT_EQ(seed.nodesRequests(), 2);
  EXPECT_EQ(a.nodesRequests(), 1);
}

TEST(EsNodesTest, ReloadOnFailureFindsTheNodesThatAreLeft) {
  ElasticsearchStandIn seed, gone, a;
  ASSERT_TRUE(seed.start());
  ASSERT_TRUE(gone.start());
  ASSERT_TRUE(a.start());
  seed.setNodes({"127.0.0.1:" + std::to_string(gone.port())});
  PluginFactory f;
  auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch",
                                  "host 127.0.0.1\nport " + std::to_string(seed.port()) +
                                      "\nreload_connections true\nreload_on_failure true\nrequest_timeout 2s\n");
  ASSERT_TRUE(out->start().isOk());
  ASSERT_EQ(writeOne(*out, 0), WriteResult::Kind::Ok);
  EXPECT_EQ(gone.documentCount(), 1u);
  gone.stop();
  seed.setNodes({"127.0.0.1:" + std::to_string(a.port())});
  // Every node of the list fails: discovered again (through the configured seed), sent to a.
  ASSERT_EQ(writeOne(*out, 1), WriteResult::Kind::Ok);
  EXPECT_EQ(a.documentCount(), 1u);
}

TEST(EsNodesTest, OffByDefaultAndWithTheSimpleSniffer) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  PluginFactory f;
  const std::string base = "host 127.0.0.1\nport " + std::to_string(es.port()) + "\n";
  for (const std::string& config :
       {base, base + "reload_connections true\nsniffer_class_name Fluent::Plugin::ElasticsearchSimpleSniffer\n"}) {
    auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch", config);
    ASSERT_TRUE(out->start().isOk());
    ASSERT_EQ(writeOne(*out, 0), WriteResult::Kind::Ok);
  }
  EXPECT_EQ(es.nodesRequests(), 0);
  EXPECT_FALSE(f.make(PluginKind::Output, "elasticsearch", base + "reload_after 0").isOk());
}

TEST(EsNodesTest, AFailedDiscoveryKeepsTheConfiguredHosts) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  es.setNodes({});  // itself
  es.requireBasicAuth("elastic", "pw");
  PluginFactory f;
  // Wrong credentials for discovery are also wrong for bulk; the point is the list is kept.
  auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch",
                                  "host 127.0.0.1\nport " + std::to_string(es.port()) +
                                      "\nreload_connections true\nuser elastic\npassword wrong\n");
  ASSERT_TRUE(out->start().isOk());
  EXPECT_EQ(es.nodesRequests(), 1);
  ASSERT_EQ(out->currentHosts()->size(), 1u);
  EXPECT_EQ((*out->currentHosts())[0]->base_url, "http://127.0.0.1:" + std::to_string(es.port()));
}

}  // namespace
}  // namespace sluice::plugins::out_elasticsearch
