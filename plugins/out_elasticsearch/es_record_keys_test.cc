// SPDX-License-Identifier: Apache-2.0
// target_index_key, target_type_key and routing_key of the elasticsearch output, after
// fluent-plugin-elasticsearch's test_out_elasticsearch.rb cases (test_writes_to_target_index_key*,
// test_writes_to_target_type_key*, test_adds_routing_key_*), against the stand-in.

#include <gtest/gtest.h>

#include "plugins/out_elasticsearch/es_output.h"
#include "standins/elasticsearch.h"
#include "support/test_support.h"

namespace sluice::plugins::out_elasticsearch {
namespace {

using testing::ElasticsearchStandIn;
using testing::PluginFactory;

constexpr int64_t kNov22 = 1795309323LL * kNanosPerSecond;  // 2026-11-22T01:02:03Z

struct Written {
  std::string bytes;
  WriteResult::Kind result;
};

Written writeRecords(ElasticsearchStandIn& es, const std::string& config, const std::vector<std::string>& records) {
  PluginFactory f;
  auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch",
                                  "host 127.0.0.1\nport " + std::to_string(es.port()) + "\n" + config);
  EXPECT_TRUE(out->start().isOk());
  Batch b;
  for (const std::string& r : records) b.add("test", kNov22, *parseJson(r, b.arena()));
  FormattedEvents bytes;
  out->format(b, bytes);
  return {bytes.bytes, out->write(ChunkView(bytes.bytes, bytes.ends, nullptr)).kind};
}

TEST(EsRecordKeysTest, TargetIndexKeyPicksTheIndexAndLeavesTheDocument) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  Written w = writeRecords(es, "target_index_key @target_index\nindex_name fallback\n",
                           {R"({"@target_index":"Local-Override","age":26})", R"({"age":27})",
                            R"({"@target_index":null,"age":28})"});
  ASSERT_EQ(w.result, WriteResult::Kind::Ok) << w.bytes;
  auto docs = es.documents("local-override");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].source, R"({"age":26})");
  // Without the field (or with null, which the plugin neither uses nor removes) index_name.
  auto rest = es.documents("fallback");
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[1].source, R"({"@target_index":null,"age":28})");
}

TEST(EsRecordKeysTest, NestedTargetIndexKeyAndLogstashFormat) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  Written w = writeRecords(es, "target_index_key kubernetes.labels.index\nlogstash_format true\n",
                           {R"({"kubernetes":{"labels":{"index":"k8s","app":"web"}},"n":1})", R"({"n":2})"});
  ASSERT_EQ(w.result, WriteResult::Kind::Ok) << w.bytes;
  auto docs = es.documents("k8s");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].source.find("\"index\":\"k8s\""), std::string::npos) << docs[0].source;
  EXPECT_NE(docs[0].source.find("\"app\":\"web\""), std::string::npos) << docs[0].source;
  EXPECT_EQ(es.documents("logstash-2026.11.22").size(), 1u);
}

TEST(EsRecordKeysTest, TargetTypeKeyLeavesTheDocumentAndTheTypeStaysDoc) {
  ElasticsearchStandIn es(ElasticsearchStandIn::Flavor::Es7);
  ASSERT_TRUE(es.start());
  Written w = writeRecords(es, "target_type_key @target_type\n", {R"({"@target_type":"local-override","age":26})"});
  ASSERT_EQ(w.result, WriteResult::Kind::Ok) << w.bytes;
  EXPECT_NE(w.bytes.find("\"_type\":\"_doc\""), std::string::npos) << w.bytes;
  auto docs = es.documents("fluentd");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].source, R"({"age":26})");
}

TEST(EsRecordKeysTest, RoutingKeyGoesInTheActionLine) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  Written w = writeRecords(es, "routing_key routing_id\n", {R"({"routing_id":"routing","age":26})", R"({"age":1})"});
  ASSERT_EQ(w.result, WriteResult::Kind::Ok) << w.bytes;
  const std::string first = w.bytes.substr(0, w.bytes.find('\n'));
  EXPECT_NE(first.find("\"routing\":\"routing\""), std::string::npos) << first;
  // The field stays in the document (remove_keys takes it out), and a record without it has none.
  EXPECT_EQ(es.documents("fluentd")[0].source, R"({"routing_id":"routing","age":26})");
  EXPECT_EQ(w.bytes.find("routing", w.bytes.find('\n', w.bytes.find('\n') + 1)), std::string::npos) << w.bytes;
  // Nested, and numbers as text.
  w = writeRecords(es, "routing_key a.b\n", {R"({"a":{"b":42}})"});
  EXPECT_NE(w.bytes.find("\"routing\":\"42\""), std::string::npos) << w.bytes;
}

TEST(EsRecordKeysTest, BadPathsAreConfigErrors) {
  PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Output, "elasticsearch", "target_index_key $[").isOk());
}

}  // namespace
}  // namespace sluice::plugins::out_elasticsearch
