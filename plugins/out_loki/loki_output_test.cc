// SPDX-License-Identifier: Apache-2.0
// The loki output against the Loki stand-in (a real HTTP server on 127.0.0.1): labels and
// streams, Kubernetes labels, sorting, both encodings, tenants, structured metadata, the
// cardinality guard, and through a real buffer: retries that deliver every entry once and
// refused entries that land in the dead letters with Loki's message.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <mutex>
#include <set>

#include "buffer/buffer.h"
#include "plugins/out_loki/loki_output.h"
#include "standins/loki.h"
#include "support/buffer_support.h"
#include "support/test_support.h"

namespace sluice::plugins::out_loki {
namespace {

using testing::LokiStandIn;
using testing::PluginFactory;
using testing::TempDir;
using testing::waitFor;

constexpr int64_t kT0 = 1795309323LL * kNanosPerSecond;

class LokiOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loki_.setSampleAgeLimits(0, 0);  // fixed dates in the past
    ASSERT_TRUE(loki_.start());
  }
  std::unique_ptr<LokiOutput> make(const std::string& body) {
    auto out = factory_.mustMake<LokiOutput>(PluginKind::Output, "loki", "url " + loki_.url() + "\n" + body);
    EXPECT_TRUE(out->start().isOk());
    return out;
  }
  WriteResult send(LokiOutput& out, Batch& b, const ChunkKey* key = nullptr) {
    FormattedEvents f;
    out.format(b, f);
    return out.write(ChunkView(f.bytes, f.ends, key));
  }
  double metric(std::string_view name, const Labels& labels = {}) { return factory_.metrics().valueForTest(name, labels); }

  LokiStandIn loki_;
  PluginFactory factory_;
};

TEST_F(LokiOutputTest, LabelsStreamsLinesAndNanosecondSorting) {
  auto out = make("extra_labels {\"env\":\"prod\"}\nline_format json\nremove_keys secret\n"
                  "<label>\n  namespace $.kubernetes.namespace_name\n  stream\n</label>\n");
  Batch b;
  b.add("t", kT0 + 30, *parseJson(R"({"stream":"stdout","msg":"third","secret":"x","kubernetes":{"namespace_name":"web"}})", b.arena()));
  b.add("t", kT0 + 10, *parseJson(R"({"stream":"stdout","msg":"first","kubernetes":{"namespace_name":"web"}})", b.arena()));
  b.add("t", kT0 + 20, *parseJson(R"({"stream":"stderr","msg":"other","kubernetes":{"namespace_name":"web"}})", b.arena()));
  b.add("t", kT0 + 15, *parseJson(R"({"stream":"stdout","msg":"second","kubernetes":{"namespace_name":"web"}})", b.arena()));
  ASSERT_EQ(send(*out, b).kind, WriteResult::Kind::Ok);
  auto streams = loki_.streams();
  ASSERT_EQ(streams.size(), 2u);
  const auto& out_stream = streams.at(R"({env="prod", namespace="web", stream="stdout"})");
  ASSERT_EQ(out_stream.size(), 3u);
  EXPECT_EQ(out_stream[0].time_ns, kT0 + 10);
  EXPECT_EQ(out_stream[1].time_ns, kT0 + 15);
  EXPECT_EQ(out_stream[2].time_ns, kT0 + 30);
  // The label field `stream` and remove_keys are left out of the line; nested label fields stay.
  EXPECT_EQ(out_stream[2].line, R"({"msg":"third","kubernetes":{"namespace_name":"web"}})");
  EXPECT_EQ(streams.at(R"({env="prod", namespace="web", stream="stderr"})").size(), 1u);
  EXPECT_EQ(loki_.contentTypes(), (std::vector<std::string>{"application/x-protobuf"}));
  EXPECT_EQ(metric("sluice_output_loki_entries_total"), 4);
}

TEST_F(LokiOutputTest, KubernetesLabelsKeyValueLinesAndSingleKeys) {
  auto out = make("extract_kubernetes_labels true\n<label>\n  pod $.kubernetes.pod_name\n</label>\n");
  Batch b;
  b.add("t", kT0, *parseJson(R"({"log":"GET /x 200","level":"info","kubernetes":{"pod_name":"api-1","labels":{"app":"api","app.kubernetes.io/name":"agent-area"}}})", b.arena()));
  ASSERT_EQ(send(*out, b).kind, WriteResult::Kind::Ok);
  auto streams = loki_.streams();
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(streams.begin()->first, R"({app="api", app_kubernetes_io_name="agent-area", pod="api-1"})");
  // key_value (the plugin's default): values with spaces or = quoted, quotes and backslashes
  // escaped, objects as JSON.
  EXPECT_EQ(streams.begin()->second[0].line,
            R"(log="GET /x 200" level=info kubernetes={\"pod_name\":\"api-1\",\"labels\":{\"app\":\"api\",\"app.kubernetes.io/name\":\"agent-area\"}})");

  auto single = make("drop_single_key true\nremove_keys stream\n");
  Batch s;
  s.add("t", kT0 + 1, *parseJson(R"({"log":"just the line","stream":"stdout"})", s.arena()));
  ASSERT_EQ(send(*single, s).kind, WriteResult::Kind::Ok);
  auto plain = loki_.streams().at(R"({job="sluice"})");
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].line, "just the line");
}

TEST_F(LokiOutputTest, JsonEncodingWithGzipTenantsAndStructuredMetadata) {
  loki_.requireTenant(true);
  auto out = make("encoding json\ncompress gzip\ntenant team-${tag}\nline_format json\n"
                  "<label>\n  app\n</label>\n<structured_metadata>\n  trace_id $.trace\n</structured_metadata>\n");
  Batch b;
  b.add("a", kT0, *parseJson(R"({"app":"api","trace":"4bf92f3577b34da6","msg":"hi \"there\"\nnext"})", b.arena()));
  ChunkKey key;
  key.tag = "a";
  ASSERT_EQ(send(*out, b, &key).kind, WriteResult::Kind::Ok);
  auto streams = loki_.streams("team-a");
  ASSERT_EQ(streams.size(), 1u);
  const auto& e = streams.at(R"({app="api"})").at(0);
  EXPECT_EQ(e.line, R"({"msg":"hi \"there\"\nnext"})");
  EXPECT_EQ(e.structured_metadata, (std::vector<std::pair<std::string, std::string>>{{"trace_id", "4bf92f3577b34da6"}}));
  EXPECT_EQ(loki_.contentTypes(), (std::vector<std::string>{"application/json"}));

  auto proto = make("tenant team-b\n<structured_metadata>\n  trace_id $.trace\n</structured_metadata>\n");
  ASSERT_EQ(send(*proto, b).kind, WriteResult::Kind::Ok);
  auto b_streams = loki_.streams("team-b");
  ASSERT_EQ(b_streams.size(), 1u);
  EXPECT_EQ(b_streams.begin()->second.at(0).structured_metadata.at(0).second, "4bf92f3577b34da6");

  // Without a tenant Loki answers 401: a retry, with a clear reason.
  auto none = make("");
  WriteResult r = send(*none, b);
  EXPECT_EQ(r.kind, WriteResult::Kind::Retry);
  EXPECT_NE(r.reason.find("401: no org id"), std::string::npos) << r.reason;
}

TEST_F(LokiOutputTest, CardinalityGuardDropsALabelWithTooManyValues) {
  auto out = make("max_label_values 3\n<label>\n  app\n  user\n</label>\n");
  Batch b;
  for (int i = 0; i < 10; ++i) {
    b.add("t", kT0 + i, *parseJson("{\"app\":\"api\",\"user\":\"u" + std::to_string(i) + "\",\"msg\":\"m\"}", b.arena()));
  }
  ASSERT_EQ(send(*out, b).kind, WriteResult::Kind::Ok);
  auto streams = loki_.streams();
  // u0..u2 made streams of their own; from the fourth value on the label is gone.
  EXPECT_EQ(streams.size(), 4u);
  EXPECT_EQ(streams.at(R"({app="api"})").size(), 7u);
  EXPECT_EQ(metric("sluice_output_loki_labels_dropped_total"), 1);
}

TEST_F(LokiOutputTest, ParsesItsOwnEntriesBack) {
  LokiEntry e;
  ASSERT_TRUE(parseEntry(R"(123 {a="x} y\"", b="2"} {t="1"} line with } and {)", e));
  EXPECT_EQ(e.time_ns, 123);
  EXPECT_EQ(e.labels, R"({a="x} y\"", b="2"})");
  EXPECT_EQ(e.metadata, R"({t="1"})");
  EXPECT_EQ(e.line, "line with } and {");
  EXPECT_FALSE(parseEntry("x {a=\"1\"} {} l", e));
  EXPECT_FALSE(parseEntry("1 {a=\"1\" {} l", e));
  std::vector<std::pair<std::string, std::string>> pairs;
  ASSERT_TRUE(parseLabelSet(R"({a="x} y\"", b="2"})", pairs));
  EXPECT_EQ(pairs, (std::vector<std::pair<std::string, std::string>>{{"a", "x} y\""}, {"b", "2"}}));
}

// Through a real buffer: 429s and 503s are retried until every entry is in, once; entries Loki
// refuses (too far behind its stream's newest) go to the dead letters with Loki's message and
// the rest of their request is delivered.
TEST_F(LokiOutputTest, RetriesDeliverOnceAndRefusedEntriesLandInTheDeadLetters) {
  auto out = make("line_format json\n<label>\n  app\n</label>\n");
  TempDir dir;
  BufferConfig c = testing::testBufferConfig("memory");
  c.retry_forever = true;
  c.retry_wait.seconds = 0.02;
  c.retry_max_interval.seconds = 0.1;
  testing::OutputBuffer buf(c, *out, "loki", dir.file("dead"));
  ASSERT_TRUE(buf.started());

  loki_.failNextPushes(2, 429, 0);
  Batch first;
  for (int i = 0; i < 500; ++i) {
    first.add("t", kT0 + int64_t(i) * kNanosPerSecond, *parseJson("{\"app\":\"api\",\"n\":" + std::to_string(i) + "}", first.arena()));
  }
  ASSERT_TRUE(buf->append(first).isOk());
  ASSERT_TRUE(waitFor([&] { return loki_.entryCount() == 500; })) << loki_.entryCount();
  loki_.failNextPushes(1, 503);
  // Two hours older than the stream's newest entry: refused (the window is one hour).
  Batch late;
  late.add("t", kT0 - 7200 * kNanosPerSecond, *parseJson(R"({"app":"api","n":-1})", late.arena()));
  late.add("t", kT0 + 600 * kNanosPerSecond, *parseJson(R"({"app":"api","n":600})", late.arena()));
  ASSERT_TRUE(buf->append(late).isOk());
  ASSERT_TRUE(waitFor([&] { return loki_.entryCount() == 501 && buf->queuedChunks() == 0; }));
  ASSERT_TRUE(waitFor([&] { return !testing::readFile(dir.file("dead/loki.jsonl")).empty(); }));
  buf->stop();

  std::set<std::string> lines;
  const auto streams = loki_.streams();
  for (const auto& e : streams.at(R"({app="api"})")) EXPECT_TRUE(lines.insert(e.line).second) << "twice: " << e.line;
  EXPECT_EQ(lines.size(), 501u);
  EXPECT_EQ(lines.count(R"({"n":-1})"), 0u);
  std::string dead = testing::readFile(dir.file("dead/loki.jsonl"));
  EXPECT_EQ(std::count(dead.begin(), dead.end(), '\n'), 1);
  EXPECT_NE(dead.find("entry too far behind"), std::string::npos) << dead;
  EXPECT_NE(dead.find(R"(\"n\":-1)"), std::string::npos) << dead;
  EXPECT_EQ(metric("sluice_output_loki_refused_entries_total", {{"reason", "entry too far behind"}}), 1);
  EXPECT_GE(loki_.pushRequests(), 5);
}

// A rotated service-account token: the file is read again when it changes, and after a 401
// (here the new token keeps the old file time, so only the 401 reveals it).
TEST(LokiAuthTest, BearerTokenFileIsReadAgainAfterA401) {
  TempDir dir;
  const std::string token_file = dir.file("token");
  testing::writeFile(token_file, "token-1\n");
  std::mutex mu;
  std::string expected = "Bearer token-1";
  std::vector<std::string> seen;
  testing::HttpServer server;
  server.server().Post("/loki/api/v1/push", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    seen.push_back(req.get_header_value("Authorization"));
    res.status = seen.back() == expected ? 204 : 401;
  });
  ASSERT_TRUE(server.start());
  PluginFactory f;
  auto out = f.mustMake<LokiOutput>(PluginKind::Output, "loki",
                                    "url " + server.url() + "\nbearer_token_file " + token_file);
  Batch b;
  b.add("t", kT0, *parseJson(R"({"msg":"a"})", b.arena()));
  FormattedEvents fe;
  out->format(b, fe);
  ASSERT_EQ(out->write(ChunkView(fe.bytes, fe.ends, nullptr)).kind, WriteResult::Kind::Ok);
  struct stat before {};
  ASSERT_EQ(::stat(token_file.c_str(), &before), 0);
  testing::writeFile(token_file, "token-2\n");
  timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, token_file.c_str(), times, 0), 0);
  {
    std::lock_guard lock(mu);
    expected = "Bearer token-2";
  }
  ASSERT_EQ(out->write(ChunkView(fe.bytes, fe.ends, nullptr)).kind, WriteResult::Kind::Ok);
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"Bearer token-1", "Bearer token-1", "Bearer token-2"}));
}

TEST_F(LokiOutputTest, BadConfigIsAClearError) {
  EXPECT_FALSE(factory_.make(PluginKind::Output, "loki", "url ftp://x").isOk());
  EXPECT_FALSE(factory_.make(PluginKind::Output, "loki", "<label>\n  bad-name $.a\n</label>").isOk());
  EXPECT_FALSE(factory_.make(PluginKind::Output, "loki", "extra_labels {\"a.b\":\"1\"}").isOk());
}

}  // namespace
}  // namespace sluice::plugins::out_loki
