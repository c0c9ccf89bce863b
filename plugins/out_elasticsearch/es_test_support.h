// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the elasticsearch output's tests share (es_output_test.cc, es_bulk_request_test.cc):
// events formatted by an output, the stand-in's address, the documents it stored. Test thread.

#include <gtest/gtest.h>

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include "plugins/out_elasticsearch/es_output.h"
#include "standins/elasticsearch.h"
#include "support/test_support.h"

namespace sluice::plugins::out_elasticsearch {

inline constexpr int64_t kNov22 = 1795309323LL * kNanosPerSecond;  // 2026-11-22T01:02:03Z

inline std::string hostPort(const testing::ElasticsearchStandIn& es) {
  return "host 127.0.0.1\nport " + std::to_string(es.port()) + "\n";
}

// The set-up most tests here share: an Elasticsearch stand-in and an elasticsearch output sent
// to it (`config` added to its host and port), both started. A part that does not start is a
// test failure and leaves `out` empty. Tests name the parts:
//   EsSetUp setup("index_name x");
//   ASSERT_TRUE(setup.ok());
//   auto& [es, f, out] = setup;
struct EsSetUp {
  explicit EsSetUp(const std::string& config = "",
                   testing::ElasticsearchStandIn::Flavor flavor = testing::ElasticsearchStandIn::Flavor::Es8)
      : es(flavor) {
    if (!es.start()) {
      ADD_FAILURE() << "the Elasticsearch stand-in did not start";
      return;
    }
    auto made = f.make(PluginKind::Output, "elasticsearch", hostPort(es) + config);
    if (!made) {
      ADD_FAILURE() << "elasticsearch config: " << made.status().message();
      return;
    }
    out.reset(static_cast<EsOutput*>(made->release()));
    if (Status started = out->start(); !started.isOk()) {
      ADD_FAILURE() << "elasticsearch start: " << started.message();
      out.reset();
    }
  }
  bool ok() const { return out != nullptr; }

  testing::ElasticsearchStandIn es;
  testing::PluginFactory f;
  std::unique_ptr<EsOutput> out;
};

struct Sent {
  FormattedEvents bytes;
  ChunkView view() const { return ChunkView(bytes.bytes, bytes.ends, nullptr); }
};

// Formats events {"n":from..to-1} with `tag` at `time_ns` (+1 ms each).
inline Sent formatRange(Output& out, int from, int to, std::string_view tag = "kubernetes.agentarea.api",
                        int64_t time_ns = kNov22) {
  Batch b;
  for (int i = from; i < to; ++i) {
    b.add(tag, time_ns + int64_t(i) * 1000000, *parseJson("{\"n\":" + std::to_string(i) + ",\"msg\":\"hello\"}", b.arena()));
  }
  Sent s;
  out.format(b, s.bytes);
  return s;
}

// The values of field `n` over every stored document, with how often each appears.
// Lines in a dead-letter file (0 while it does not exist).
inline size_t deadLetterCount(const std::string& path) {
  std::string text = testing::readFile(path);
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

inline std::map<int64_t, int> storedNumbers(const testing::ElasticsearchStandIn& es) {
  std::map<int64_t, int> seen;
  simdjson::dom::parser parser;
  for (const std::string& index : es.indices()) {
    for (const auto& doc : es.documents(index)) {
      int64_t n = -1;
      EXPECT_EQ(parser.parse(doc.source).at_key("n").get_int64().get(n), simdjson::SUCCESS) << doc.source;
      ++seen[n];
    }
  }
  return seen;
}

}  // namespace sluice::plugins::out_elasticsearch
