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

#include <simdjson.h>
#include <snappy.h>

#include "buffer/buffer.h"
#include "core/label_text.h"
#include "loki_push.pb.h"
#include "plugins/out_loki/loki_output.h"
#include "plugins/out_loki/loki_push.h"
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

// A label value with U+FFFD (what the JSON parser makes of an invalid byte) or an invalid byte
// (from a tag) is sent as \ufffd: Loki's lexer refuses a raw U+FFFD ("invalid UTF-8 rune").
// The JSON push cannot carry one at all (Loki quotes the map back raw), so there it is '?'.
TEST_F(LokiOutputTest, LabelValuesThatAreNotCleanUtf8AreEscapedAsLokiReadsThem) {
  for (const std::string encoding : {"protobuf", "json"}) {
    LokiStandIn loki;  // one per encoding: each stores its own streams
    loki.setSampleAgeLimits(0, 0);
    ASSERT_TRUE(loki.start());
    auto out = factory_.mustMake<LokiOutput>(PluginKind::Output, "loki",
                                             "url " + loki.url() + "\nencoding " + encoding + "\n<label>\n  app\n</label>\n");
    ASSERT_TRUE(out->start().isOk());
    Batch b;
    b.add("t", kT0, *parseJson("{\"app\":\"caf\xC3\xA9-\xFF-\xEF\xBF\xBD\",\"msg\":\"x\"}", b.arena()));
    WriteResult r = send(*out, b);
    ASSERT_EQ(r.kind, WriteResult::Kind::Ok) << encoding << ": " << r.reason;
    std::vector<std::pair<std::string, std::string>> pairs;
    ASSERT_EQ(loki.streams().size(), 1u) << encoding;
    ASSERT_TRUE(parseLabelSet(loki.streams().begin()->first, pairs)) << loki.streams().begin()->first;
    ASSERT_EQ(pairs.size(), 1u);
    // Protobuf carries U+FFFD (escaped); the JSON push cannot (Loki re-quotes it raw): '?'.
    EXPECT_EQ(pairs[0].second, encoding == "protobuf" ? "caf\xC3\xA9-\xEF\xBF\xBD-\xEF\xBF\xBD" : "caf\xC3\xA9-?-?")
        << encoding;
  }
  std::string text;
  appendLokiLabelValue(text, "a\"b\\c\nd\xED\xA0\x80\xF0\x9F\x98\x80");
  EXPECT_EQ(text, "a\\\"b\\\\c\\nd\\ufffd\\ufffd\\ufffd\xF0\x9F\x98\x80");  // a surrogate's three bytes, an emoji kept
}

// line_format, encoding and compress are enums bound at config time: a bad value names the
// allowed ones (their effects: key_value and json lines, both encodings, gzip in the tests
// around this one).
TEST_F(LokiOutputTest, ABadChoiceNamesTheAllowedValues) {
  for (auto [key, allowed] : {std::pair<std::string, std::string>{"line_format", "json,key_value"},
                              {"encoding", "protobuf,json"},
                              {"compress", "none,gzip"}}) {
    auto bad = factory_.make(PluginKind::Output, "loki", "url " + loki_.url() + "\n" + key + " snappy\n");
    ASSERT_FALSE(bad.isOk()) << key;
    EXPECT_NE(bad.status().message().find("parameter '" + key + "': valid options are " + allowed + " but got 'snappy'"),
              std::string::npos)
        << bad.status().message();
  }
  // JSON lines with a JSON body, key=value lines in protobuf.
  auto json = make("encoding json\nline_format json\n");
  Batch b;
  b.add("t", kT0, *parseJson(R"({"msg":"a b","n":1})", b.arena()));
  ASSERT_EQ(send(*json, b).kind, WriteResult::Kind::Ok);
  auto kv = make("tenant kv\nencoding protobuf\nline_format key_value\n");
  ASSERT_EQ(send(*kv, b).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(loki_.streams().at(R"({job="sluice"})").at(0).line, R"({"msg":"a b","n":1})");
  EXPECT_EQ(loki_.streams("kv").at(R"({job="sluice"})").at(0).line, R"(msg="a b" n=1)");
  EXPECT_EQ(loki_.contentTypes(), (std::vector<std::string>{"application/json", "application/x-protobuf"}));
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

// A tenant taken from log data (here the tag) that is no Loki tenant ID — a header injection,
// a path, an empty value — fails its events (to <secondary>/dead letters) and is never sent.
TEST_F(LokiOutputTest, TenantsFromLogDataMustBeTenantIds) {
  loki_.requireTenant(true);
  auto out = make("tenant ${tag}\n");
  Batch b;
  b.add("x", kT0, *parseJson(R"({"msg":"hi"})", b.arena()));
  for (std::string bad : {std::string("evil\r\nX-Injected: 1"), std::string("../other"), std::string(""),
                          std::string("."), std::string(151, 'a'), std::string("t\xff")}) {
    ChunkKey key;
    key.tag = bad;
    WriteResult r = send(*out, b, &key);
    EXPECT_EQ(r.kind, WriteResult::Kind::Fail) << bad;
    EXPECT_NE(r.reason.find("is not a valid Loki tenant ID"), std::string::npos) << r.reason;
    EXPECT_EQ(r.reason.find('\n'), std::string::npos);  // the reason is safe to log
  }
  EXPECT_EQ(loki_.pushRequests(), 0);
  ChunkKey good;
  good.tag = "team_a.prod-1";
  EXPECT_EQ(send(*out, b, &good).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(loki_.streams("team_a.prod-1").size(), 1u);
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

  // A value admitted before the drop, in events one after the other (the label set of the event
  // before is reused when the pairs are the same): the label stays gone.
  Batch again;
  for (int i = 0; i < 3; ++i) {
    again.add("t", kT0 + 20 + i, *parseJson(R"({"app":"api","user":"u0","msg":"again"})", again.arena()));
  }
  ASSERT_EQ(send(*out, again).kind, WriteResult::Kind::Ok);
  streams = loki_.streams();
  EXPECT_EQ(streams.size(), 4u);
  EXPECT_EQ(streams.at(R"({app="api"})").size(), 10u);
  EXPECT_EQ(streams.at(R"({app="api", user="u0"})").size(), 1u);
}

TEST_F(LokiOutputTest, ParsesItsOwnEntriesBack) {
  using Views = std::vector<std::pair<std::string_view, std::string_view>>;
  std::vector<std::pair<std::string, std::string>> owned;
  Views pairs;
  LokiEntry e;
  ASSERT_TRUE(parseEntry(R"(123 {a="x} y\"", b="2"} [t=7:1] "x y z=0:] line with } and {)", e));
  EXPECT_EQ(e.time_ns, 123);
  EXPECT_EQ(e.labels, R"({a="x} y\"", b="2"})");
  EXPECT_EQ(e.metadata, R"([t=7:1] "x y z=0:])");
  EXPECT_EQ(e.line, "line with } and {");
  ASSERT_TRUE(metadataPairs(e.metadata, pairs, owned));
  EXPECT_EQ(pairs, (Views{{"t", "1] \"x y"}, {"z", ""}}));
  EXPECT_TRUE(owned.empty());  // views of the chunk
  // A chunk written before the length-prefixed form: label text.
  ASSERT_TRUE(parseEntry(R"(5 {a="1"} {t="1\"2"} line)", e));
  ASSERT_TRUE(metadataPairs(e.metadata, pairs, owned));
  EXPECT_EQ(pairs, (Views{{"t", "1\"2"}}));
  ASSERT_TRUE(parseEntry("5 {a=\"1\"} {} line", e));
  ASSERT_TRUE(metadataPairs(e.metadata, pairs, owned));
  EXPECT_TRUE(pairs.empty());
  EXPECT_FALSE(parseEntry("x {a=\"1\"} {} l", e));
  EXPECT_FALSE(parseEntry("1 {a=\"1\" {} l", e));
  EXPECT_FALSE(parseEntry("1 {a=\"1\"} [t=9:1] l", e));  // the length runs past the entry
  EXPECT_FALSE(parseEntry("1 {a=\"1\"} [t=1:12] l", e));  // no ' ' or ']' after the value
  EXPECT_FALSE(parseEntry("1 {a=\"1\"} [=1:1] l", e));
}

// The push body is written without the protobuf library's message classes: it reads back
// with them (the stand-in's copy of Loki's messages), field for field, and is byte for byte
// what the library serialises for that message.
TEST(LokiPushEncoderTest, WritesWhatTheProtobufLibraryWrites) {
  const std::string long_line(300, 'x');  // a length of two varint bytes
  std::vector<LokiEntry> entries = {
      {kT0 + 5, R"({app="a"})", "{}", "first"},
      {kT0, R"({app="a"})", "[trace=3:abc empty=0:]", long_line},
      {-1'500'000'000, R"({app="b"})", R"({old="1\"2"})", ""},  // before 1970, empty line
      {kT0, R"({app="b"})", "{}", "same second"},
      {0, "", "{}", "epoch"},
  };
  const std::vector<uint32_t> ids = {1, 0, 2, 3, 4};
  const std::vector<uint32_t> stream_of = {0, 0, 1, 1, 2};
  PushEncoder encoder;
  std::string_view raw;
  ASSERT_TRUE(encoder.encode(entries, ids, stream_of, raw));
  sluice::loki::PushRequest req;
  ASSERT_TRUE(req.ParseFromArray(raw.data(), static_cast<int>(raw.size())));
  ASSERT_EQ(req.streams_size(), 3);
  EXPECT_EQ(req.streams(0).labels(), R"({app="a"})");
  ASSERT_EQ(req.streams(0).entries_size(), 2);
  EXPECT_EQ(req.streams(0).entries(0).line(), long_line);
  EXPECT_EQ(req.streams(0).entries(0).timestamp().seconds(), kT0 / kNanosPerSecond);
  ASSERT_EQ(req.streams(0).entries(0).structured_metadata_size(), 2);
  EXPECT_EQ(req.streams(0).entries(0).structured_metadata(0).name(), "trace");
  EXPECT_EQ(req.streams(0).entries(0).structured_metadata(0).value(), "abc");
  EXPECT_EQ(req.streams(0).entries(0).structured_metadata(1).value(), "");
  EXPECT_EQ(req.streams(0).entries(1).timestamp().nanos(), 5);
  EXPECT_EQ(req.streams(1).entries(0).timestamp().seconds(), -1);
  EXPECT_EQ(req.streams(1).entries(0).timestamp().nanos(), -500'000'000);
  EXPECT_EQ(req.streams(1).entries(0).structured_metadata(0).value(), "1\"2");
  EXPECT_EQ(req.streams(2).labels(), "");
  EXPECT_EQ(req.streams(2).entries(0).line(), "epoch");
  std::string library;
  ASSERT_TRUE(req.SerializeToString(&library));
  EXPECT_EQ(raw, library);

  std::string_view compressed;
  ASSERT_TRUE(encoder.encodeCompressed(entries, ids, stream_of, compressed));
  std::string back;
  ASSERT_TRUE(snappy::Uncompress(compressed.data(), compressed.size(), &back));
  EXPECT_EQ(back, library);
}

// Structured metadata whose values hold what the label text escapes (quotes, backslashes,
// newlines) and what the length-prefixed form could trip on (']', ' ', '=', digits and ':')
// reaches Loki as it was in the record, in both encodings.
TEST_F(LokiOutputTest, StructuredMetadataValuesArriveAsTheyWere) {
  const std::string odd = "a \"quoted\" \\ back\nslash] [x=3:y";
  for (const char* encoding : {"protobuf", "json"}) {
    SCOPED_TRACE(encoding);
    auto out = make(std::string("tenant ") + encoding + "\nencoding " + encoding +
                    "\nline_format json\n<label>\n  app\n</label>\n<structured_metadata>\n  trace_id $.trace\n"
                    "  user $.user\n</structured_metadata>\n");
    Batch b;
    Value rec = Value::emptyObject();
    rec.setMember("app", Value::string("api"), b.arena());
    rec.setMember("trace", Value::string(odd), b.arena());
    rec.setMember("user", Value::integer(42), b.arena());
    rec.setMember("msg", Value::string("hi"), b.arena());
    b.add("a", kT0, rec);
    ASSERT_EQ(send(*out, b).kind, WriteResult::Kind::Ok);
    const auto streams = loki_.streams(encoding);
    const auto& e = streams.at(R"({app="api"})").at(0);
    EXPECT_EQ(e.line, R"({"msg":"hi"})");
    EXPECT_EQ(e.structured_metadata, (std::vector<std::pair<std::string, std::string>>{{"trace_id", odd}, {"user", "42"}}));
  }
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

// Loki refuses a push bigger than the tenant's ingestion burst (6 MB by default) with 429
// however often it is sent: a 7 MB chunk goes in pushes of at most max_request_size (1 MiB), and
// those the rate limit (4 MB/s) turns away are retried until all are in.
TEST_F(LokiOutputTest, ChunksLargerThanLokisBurstAreSplitAndDelivered) {
  auto out = make("line_format json\n<label>\n  app\n</label>\n");
  TempDir dir;
  BufferConfig c = testing::testBufferConfig("memory");
  c.retry_forever = true;
  c.retry_wait.seconds = 0.05;
  c.retry_max_interval.seconds = 0.2;
  testing::OutputBuffer buf(c, *out, "loki", dir.file("dead"));
  ASSERT_TRUE(buf.started());
  const std::string pad(1900, 'x');
  Batch b;
  constexpr int kEntries = 3700;  // 7.2 MB of lines: over the 6 MB burst, under the 8 MB chunk
  for (int i = 0; i < kEntries; ++i) {
    b.add("t", kT0 + i, *parseJson("{\"app\":\"api\",\"n\":" + std::to_string(i) + ",\"pad\":\"" + pad + "\"}", b.arena()));
  }
  ASSERT_TRUE(buf->append(b).isOk());
  ASSERT_TRUE(waitFor([&] { return loki_.entryCount() == kEntries && buf->queuedChunks() == 0; },
                      std::chrono::seconds(30)))
      << loki_.entryCount() << " of " << kEntries << " after " << loki_.pushRequests() << " pushes";
  buf->stop();
  std::vector<size_t> sizes = loki_.pushBytes();
  ASSERT_FALSE(sizes.empty());
  EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()), size_t{1} << 20);
  EXPECT_GE(sizes.size(), 7u);  // 7.4 MB in equal parts of at most 1 MiB
  EXPECT_TRUE(testing::readFile(dir.file("dead/loki.jsonl")).empty());
  EXPECT_EQ(metric("sluice_output_loki_entries_total"), kEntries);

  // max_request_entries caps the count as well.
  LokiStandIn small;
  small.setSampleAgeLimits(0, 0);
  ASSERT_TRUE(small.start());
  auto capped = factory_.mustMake<LokiOutput>(PluginKind::Output, "loki", "url " + small.url() + "\nmax_request_entries 7\n");
  Batch few;
  for (int i = 0; i < 20; ++i) few.add("t", kT0 + i, *parseJson(R"({"m":"a"})", few.arena()));
  ASSERT_EQ(send(*capped, few).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(small.pushRequests(), 3);
  EXPECT_EQ(small.entryCount(), 20u);
}

// A pod with more labels than Loki's max_label_names_per_series (15): the stream keeps the
// first 15 (extra_labels, <label>, then the pod's labels) and is stored, not refused.
TEST_F(LokiOutputTest, LabelCountIsKeptUnderLokisLimit) {
  auto out = make("extract_kubernetes_labels true\nextra_labels {\"cluster\":\"c1\"}\n<label>\n  pod $.kubernetes.pod_name\n</label>\n");
  std::string labels;
  for (int i = 0; i < 20; ++i) labels += (i ? "," : "") + std::string("\"l") + (i < 10 ? "0" : "") + std::to_string(i) + "\":\"v\"";
  Batch b;
  b.add("t", kT0, *parseJson(R"({"msg":"m","kubernetes":{"pod_name":"p","labels":{)" + labels + "}}}", b.arena()));
  b.add("t", kT0 + 1, *parseJson(R"({"msg":"n","kubernetes":{"pod_name":"p","labels":{)" + labels + "}}}", b.arena()));
  ASSERT_EQ(send(*out, b).kind, WriteResult::Kind::Ok);
  auto streams = loki_.streams();
  ASSERT_EQ(streams.size(), 1u);
  std::vector<std::pair<std::string, std::string>> pairs;
  ASSERT_TRUE(parseLabelSet(streams.begin()->first, pairs));
  EXPECT_EQ(pairs.size(), 15u);
  EXPECT_EQ(pairs.front(), (std::pair<std::string, std::string>{"cluster", "c1"}));
  EXPECT_TRUE(std::count(pairs.begin(), pairs.end(), std::pair<std::string, std::string>{"pod", "p"}));
  EXPECT_TRUE(std::count(pairs.begin(), pairs.end(), std::pair<std::string, std::string>{"l12", "v"}));
  EXPECT_FALSE(std::count(pairs.begin(), pairs.end(), std::pair<std::string, std::string>{"l13", "v"}));
  EXPECT_EQ(metric("sluice_output_loki_label_names_dropped_total"), 14);  // 7 per event
}

// Loki's real 400s: several streams refused for different reasons in one push. Only the refused
// entries fail; whatever the answer does not name is pushed again (Loki 2 returns only the last
// error, the ingester only the last failing stream's, and at most 10 of its entries), never
// counted as delivered unseen nor dead-lettered with the refused ones.
class LokiRefusalTest : public LokiOutputTest, public ::testing::WithParamInterface<bool> {};

TEST_P(LokiRefusalTest, OnlyRefusedEntriesFailTheRestIsDelivered) {
  loki_.setGroupedErrors(GetParam());
  loki_.setMaxLineSize(100);
  auto out = make("max_label_names 0\nextract_kubernetes_labels true\nline_format json\n<label>\n  app\n</label>\n");
  // The stream "behind" first gets a newer entry, so that older ones are too far behind.
  Batch first;
  first.add("t", kT0 + 7200 * kNanosPerSecond, *parseJson(R"({"app":"behind","n":"newest"})", first.arena()));
  ASSERT_EQ(send(*out, first).kind, WriteResult::Kind::Ok);

  std::string many;
  for (int i = 0; i < 16; ++i) many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  Batch b;
  std::set<size_t> refused;
  auto add = [&](const std::string& json, int64_t t, bool bad) {
    if (bad) refused.insert(b.size());
    b.add("t", t, *parseJson(json, b.arena()));
  };
  add(R"({"app":"labels","n":1,"kubernetes":{"labels":{)" + many + "}}}", kT0, true);
  add(R"({"app":"labels","n":2,"kubernetes":{"labels":{)" + many + "}}}", kT0 + 1, true);
  for (int i = 0; i < 3; ++i) add("{\"app\":\"good\",\"n\":" + std::to_string(i) + "}", kT0 + i, false);
  for (int i = 0; i < 14; ++i) add("{\"app\":\"behind\",\"n\":" + std::to_string(i) + "}", kT0 + i, true);
  add(R"({"app":"behind","n":"recent"})", kT0 + 7000 * kNanosPerSecond, false);
  add(R"({"app":"long","n":")" + std::string(200, 'y') + "\"}", kT0, true);
  add(R"({"app":"long","n":"short"})", kT0 + 1, false);
  WriteResult r = send(*out, b);
  ASSERT_EQ(r.kind, WriteResult::Kind::Partial) << r.reason;
  EXPECT_TRUE(r.retry_events.empty());
  std::set<size_t> failed;
  for (const auto& [i, why] : r.failed_events) {
    failed.insert(i);
    EXPECT_NE(why.find("Loki refused the entry: "), std::string::npos) << why;
  }
  EXPECT_EQ(failed, refused);
  auto streams = loki_.streams();
  EXPECT_EQ(streams.count(R"({app="labels"})"), 0u);
  EXPECT_EQ(streams.at(R"({app="good"})").size(), 3u);
  EXPECT_EQ(streams.at(R"({app="behind"})").size(), 2u);
  EXPECT_EQ(streams.at(R"({app="long"})").size(), 1u);
  EXPECT_EQ(metric("sluice_output_loki_entries_total"), 1 + 3 + 1 + 1);
  EXPECT_EQ(metric("sluice_output_loki_refused_entries_total", {{"reason", "entry too far behind"}}), 14);
  EXPECT_EQ(metric("sluice_output_loki_refused_entries_total", {{"reason", "max entry size"}}), 1);
  EXPECT_GE(metric("sluice_output_loki_resent_entries_total"), 1);
}

INSTANTIATE_TEST_SUITE_P(Styles, LokiRefusalTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Loki3Grouped" : "Loki2LastOnly"; });

// Every 400 form, as Loki writes it (fixtures: quoted real answers).
TEST(LokiRefusalParseTest, ReadsEveryForm) {
  auto r = parseRefusals(
      "2 errors like: max entry size '100' bytes exceeded for stream '{app=\"a; b\"}' while adding an entry with length "
      "'200' bytes; entry for stream '{app=\"c\"}' has 16 label names; limit 15; entry for stream '{app=\"d\"}' has "
      "timestamp too old: 2021-07-17 06:34:49.020024184 +0000 UTC, oldest acceptable timestamp is: 2021-07-20 "
      "06:34:49 +0000 UTC\n");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].kind, LokiRefusal::Kind::Length);
  EXPECT_EQ(r[0].labels, "{app=\"a; b\"}");
  EXPECT_EQ(r[0].count, 2u);
  EXPECT_EQ(r[0].length, 200u);
  EXPECT_EQ(r[1].kind, LokiRefusal::Kind::Stream);
  EXPECT_EQ(r[1].labels, "{app=\"c\"}");
  EXPECT_EQ(r[2].kind, LokiRefusal::Kind::Time);
  EXPECT_EQ(r[2].time_ns, 1626503689020024184);
  r = parseRefusals("entry with timestamp 2021-07-17 06:34:49.5 +0000 UTC ignored, reason: 'entry too far behind, entry "
                    "timestamp is: 2021-07-17T06:34:49Z, oldest acceptable timestamp is: 2021-07-17T07:00:00Z',\n"
                    "user 'fake', total ignored: 1 out of 3 for stream: {job=\"x\"}\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].labels, "{job=\"x\"}");
  EXPECT_EQ(r[0].time_ns, 1626503689500000000);
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures absent";
  // The quoted Loki 2 answers (out of order, too far behind): each line names its stream.
  std::string fixtures = testing::readFile(testing::sharedDir() + "/fixtures/loki/error-responses.json");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(fixtures).get(doc), simdjson::SUCCESS);
  size_t complete = 0;
  for (simdjson::dom::element resp : doc["responses"].get_array()) {
    int64_t status = 0;
    bool whole = false;
    std::string_view body;
    if (resp["http_status"].get_int64().get(status) || status != 400 || resp["body"].get_string().get(body) ||
        resp["body_complete"].get_bool().get(whole) || !whole) {
      continue;
    }
    ++complete;
    auto claims = parseRefusals(body);
    EXPECT_FALSE(claims.empty()) << body;
    for (const auto& c : claims) EXPECT_TRUE(c.labels.starts_with("{") && c.labels.ends_with("}")) << c.labels;
  }
  EXPECT_EQ(complete, 2u);
}

// An answer cut inside the stream's label set (a proxy's size limit) names no entry: the
// ingester lines waiting for their stream are dropped, not claimed for an empty label set
// (found by loki_errors_fuzz).
TEST(LokiRefusalParseTest, AnswerCutInTheStreamLabelsNamesNothing) {
  const std::string lines =
      "entry with timestamp 2024-03-04 05:06:08 +0000 UTC ignored, reason: 'entry out of order',\n"
      "user 'fake', total ignored: 1 out of 5 for stream: {job=\"varlogs\", host=\"n1\"}\n";
  ASSERT_EQ(parseRefusals(lines).size(), 1u);
  for (size_t cut : {lines.find("{job"), lines.find("{job") + 5, lines.size() - 3}) {
    EXPECT_TRUE(parseRefusals(lines.substr(0, cut)).empty()) << lines.substr(0, cut);
  }
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
