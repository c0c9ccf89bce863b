// SPDX-License-Identifier: Apache-2.0
// The elasticsearch output through a file buffer that keeps a pod's metadata once per chunk
// (splices): the Elasticsearch stand-in (a real HTTP server on 127.0.0.1) stores every document
// exactly as the record serialises, whether its metadata was spliced, changed by a filter, or
// absent.

#include <gtest/gtest.h>

#include <simdjson.h>

#include "plugins/out_elasticsearch/es_output.h"
#include "plugins/out_elasticsearch/es_test_support.h"
#include "support/buffer_support.h"
#include "support/test_support.h"

namespace sluice::plugins::out_elasticsearch {
namespace {

using testing::PluginFactory;
using testing::TempDir;
using testing::waitFor;

TEST(EsSpliceTest, AFileBufferDeliversSplicedDocumentsWhole) {
  testing::ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  TempDir dir;
  PluginFactory f;
  auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch", hostPort(es) + "index_name pods\n");
  ASSERT_TRUE(out->start().isOk());
  BufferConfig c = testing::testBufferConfig("file");
  c.path = dir.file("buf");
  c.chunk_limit_size.bytes = 64 << 10;  // many chunks: each stores the texts it uses again
  testing::OutputBuffer buf(c, *out, "es", dir.file("dead"));
  ASSERT_TRUE(buf.started());

  Arena meta;
  std::vector<Value> pods;
  std::vector<std::string> pod_json;
  for (int p = 0; p < 3; ++p) {
    pods.push_back(*parseJson(R"({"pod_name":"web-)" + std::to_string(p) +
                                  R"(","labels":{"app":"web","tier":"t)" + std::to_string(p) + R"("}})",
                              meta));
  }
  for (const Value& v : pods) pod_json.push_back(toJson(v));
  std::vector<JsonTemplate> templates;
  for (size_t p = 0; p < pods.size(); ++p) templates.push_back(JsonTemplate{&pods[p], pod_json[p]});

  constexpr int kEvents = 1200;
  std::map<int64_t, std::string> expected;
  for (int from = 0; from < kEvents; from += 100) {
    Batch b;
    for (int i = from; i < from + 100; ++i) {
      Value r = *parseJson("{\"n\":" + std::to_string(i) + ",\"msg\":\"line " + std::to_string(i) + "\"}", b.arena());
      if (i % 10 != 9) {  // one in ten has no metadata
        Value k8s = Value::copyOfTemplate(templates[i % 3], b.arena());
        if (i % 7 == 0) k8s.find("labels")->setMember("changed", Value::integer(i), b.arena());  // a filter's edit
        r.setMember("kubernetes", k8s, b.arena());
      }
      r.setMember("after", Value::boolean(true), b.arena());
      expected[i] = toJson(r);
      b.add("app", kNov22 + i, r, lineOrigin(3, 4, uint64_t(i) * 100));
    }
    ASSERT_TRUE(buf->append(b).isOk());
  }
  auto deadLetters = [&] { return deadLetterCount(dir.file("dead/es.jsonl")); };
  ASSERT_TRUE(waitFor([&] { return es.documentCount() + deadLetters() == kEvents && buf->queuedChunks() == 0; },
                      std::chrono::seconds(60)))
      << es.documentCount() << " stored";
  EXPECT_EQ(deadLetters(), 0u) << testing::readFile(dir.file("dead/es.jsonl")).substr(0, 500);
  buf->stop();
  simdjson::dom::parser parser;
  size_t checked = 0;
  for (const auto& doc : es.documents("pods")) {
    int64_t n = -1;
    ASSERT_EQ(parser.parse(doc.source).at_key("n").get_int64().get(n), simdjson::SUCCESS) << doc.source;
    EXPECT_EQ(doc.source, expected[n]) << "document " << n;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<size_t>(kEvents));
}

}  // namespace
}  // namespace sluice::plugins::out_elasticsearch
