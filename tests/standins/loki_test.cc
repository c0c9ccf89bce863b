// SPDX-License-Identifier: Apache-2.0
// The Loki stand-in decodes both encodings and applies Loki's rules: checked through the real
// HTTP client with requests built by the protobuf and snappy libraries.
#include "standins/loki.h"

#include <gtest/gtest.h>
#include <snappy.h>

#include <chrono>

#include "codec/codec.h"
#include "core/label_text.h"
#include "loki_push.pb.h"
#include "net/http_client.h"
#include "support/test_support.h"

namespace sluice::testing {
namespace {

constexpr int64_t kT0 = 1'763'800'000'123'456'789;  // 2025-11-22, with nanoseconds

// Several streams in one snappy-compressed protobuf push (each entry with a trace_id in its
// structured metadata when asked).
std::string multiPush(const std::vector<std::pair<std::string, std::vector<std::pair<int64_t, std::string>>>>& streams,
                      bool with_metadata = false) {
  sluice::loki::PushRequest request;
  for (const auto& [labels, entries] : streams) {
    auto* stream = request.add_streams();
    stream->set_labels(labels);
    for (const auto& [ns, line] : entries) {
      auto* e = stream->add_entries();
      e->mutable_timestamp()->set_seconds(ns / 1'000'000'000);
      e->mutable_timestamp()->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
      e->set_line(line);
      if (with_metadata) {
        auto* m = e->add_structured_metadata();
        m->set_name("trace_id");
        m->set_value("abc123");
      }
    }
  }
  std::string raw, packed;
  request.SerializeToString(&raw);
  snappy::Compress(raw.data(), raw.size(), &packed);
  return packed;
}

class LokiStandInTest : public ::testing::Test {
 protected:
  void SetUp() override {
    loki_.setSampleAgeLimits(0, 0);  // kT0 is a fixed date, long past: SampleAgeLimits tests the checks
    ASSERT_TRUE(loki_.start());
  }

  net::HttpResponse post(std::string_view body, std::vector<std::string> headers) {
    return httpPost(client_, loki_.url("/loki/api/v1/push"), body, std::move(headers));
  }

  // One stream as snappy-compressed protobuf.
  static std::string protobufPush(const std::string& labels, const std::vector<std::pair<int64_t, std::string>>& entries,
                                  bool with_metadata = false) {
    return multiPush({{labels, entries}}, with_metadata);
  }

  LokiStandIn loki_;
  net::HttpClient client_;
};

const std::vector<std::string> kProto = {"Content-Type: application/x-protobuf"};
const std::vector<std::string> kJson = {"Content-Type: application/json"};

TEST_F(LokiStandInTest, ProtobufPushKeepsStreamsNanosecondsAndStructuredMetadata) {
  net::HttpResponse res = post(protobufPush("{namespace=\"prod\",app=\"api\"}", {{kT0, "one"}, {kT0 + 1, "two"}}, true), kProto);
  EXPECT_EQ(res.status, 204) << res.body;
  auto streams = loki_.streams();
  ASSERT_EQ(streams.size(), 1u);
  const auto& [labels, entries] = *streams.begin();
  EXPECT_EQ(labels, "{app=\"api\", namespace=\"prod\"}");  // Loki's sorted form
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].time_ns, kT0);
  EXPECT_EQ(entries[1].time_ns, kT0 + 1);
  EXPECT_EQ(entries[1].line, "two");
  ASSERT_EQ(entries[0].structured_metadata.size(), 1u);
  EXPECT_EQ(entries[0].structured_metadata[0], (std::pair<std::string, std::string>{"trace_id", "abc123"}));
}

TEST_F(LokiStandInTest, JsonPushPlainAndGzip) {
  std::string body = R"({"streams":[{"stream":{"job":"a"},"values":[[")" + std::to_string(kT0) +
                     R"(","plain line"],[")" + std::to_string(kT0 + 5) + R"(","with meta",{"user":"u1"}]]}]})";
  EXPECT_EQ(post(body, kJson).status, 204);
  std::string body2 = R"({"streams":[{"stream":{"job":"a"},"values":[[")" + std::to_string(kT0 + 9) + R"(","gzipped"]]}]})";
  auto gz = codec::compress(codec::Compression::Gzip, body2);
  ASSERT_TRUE(gz.isOk());
  EXPECT_EQ(post(*gz, {"Content-Type: application/json", "Content-Encoding: gzip"}).status, 204);
  auto entries = loki_.streams().at("{job=\"a\"}");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[1].structured_metadata[0].second, "u1");
  EXPECT_EQ(entries[2].line, "gzipped");
  EXPECT_EQ(post(R"({"streams":[{"stream":{"job":"a"},"values":[["12x","bad ts"]]}]})", kJson).status, 400);
  EXPECT_EQ(post("not json", kJson).status, 400);
  EXPECT_EQ(post("x", {"Content-Type: text/plain"}).status, 415);
}

TEST_F(LokiStandInTest, EntriesTooFarBehindAreRefusedTheRestIsKept) {
  loki_.setReorderWindow(3600LL * 1'000'000'000);
  ASSERT_EQ(post(protobufPush("{job=\"a\"}", {{kT0, "newest"}}), kProto).status, 204);
  int64_t old = kT0 - 2 * 3600LL * 1'000'000'000;
  net::HttpResponse res = post(protobufPush("{job=\"a\"}", {{old, "too old"}, {kT0 - 60'000'000'000, "late but fine"}}), kProto);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.content_type, "text/plain; charset=utf-8");
  // The ingester's text: one line per refused entry, then the summary for the stream.
  EXPECT_EQ(res.body,
            "entry with timestamp 2025-11-22 06:26:40.123456789 +0000 UTC ignored, reason: 'entry too far behind, "
            "entry timestamp is: 2025-11-22T06:26:40Z, oldest acceptable timestamp is: 2025-11-22T07:26:40Z',\n"
            "user 'fake', total ignored: 1 out of 2 for stream: {job=\"a\"}\n");
  EXPECT_EQ(loki_.streams().at("{job=\"a\"}").size(), 2u);
}

TEST_F(LokiStandInTest, TenantsLimitsAndInjectedFailures) {
  loki_.requireTenant(true);
  std::string body = protobufPush("{job=\"t\"}", {{kT0, "x"}});
  net::HttpResponse res = post(body, kProto);
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(res.body, "no org id\n");
  EXPECT_EQ(post(body, {"Content-Type: application/x-protobuf", "X-Scope-OrgID: team-a"}).status, 204);
  EXPECT_EQ(loki_.streams("team-a").size(), 1u);
  EXPECT_TRUE(loki_.streams().empty());

  loki_.failNextPushes(1, 429, 2);
  res = post(body, {"Content-Type: application/x-protobuf", "X-Scope-OrgID: team-a"});
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(res.retry_after_ns, 2'000'000'000);
  EXPECT_NE(res.body.find("ingestion rate limit exceeded for user team-a"), std::string::npos) << res.body;

  loki_.setMaxLineSize(4);
  res = post(protobufPush("{job=\"t\"}", {{kT0 + 1, "too long"}, {kT0 + 2, "ok"}}),
             {"Content-Type: application/x-protobuf", "X-Scope-OrgID: team-a"});
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, "max entry size '4' bytes exceeded for stream '{job=\"t\"}' while adding an entry with length '8' bytes\n");
  EXPECT_EQ(loki_.streams("team-a").at("{job=\"t\"}").size(), 2u);  // "x" and "ok"
}

TEST_F(LokiStandInTest, IdenticalEntriesAreStoredOnceAndBadLabelsRefused) {
  std::string body = protobufPush("{job=\"d\"}", {{kT0, "same"}});
  EXPECT_EQ(post(body, kProto).status, 204);
  EXPECT_EQ(post(body, kProto).status, 204);  // a retried push is not an error
  EXPECT_EQ(loki_.entryCount(), 1u);
  EXPECT_EQ(post(protobufPush("job=d", {{kT0, "x"}}), kProto).status, 400);
  EXPECT_EQ(post(protobufPush("{}", {{kT0, "x"}}), kProto).status, 400);
  EXPECT_EQ(post("\xff\xff not snappy", kProto).status, 400);
  EXPECT_EQ(httpGet(client_, loki_.url("/ready")).status, 200);
  EXPECT_EQ(loki_.pushRequests(), 5);
}

TEST_F(LokiStandInTest, SampleAgeLimitsFollowTheWallClock) {
  loki_.setSampleAgeLimits(7 * 24 * 3600LL * 1'000'000'000, 600LL * 1'000'000'000);  // Loki's defaults
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  int64_t hour = 3600LL * 1'000'000'000;
  net::HttpResponse res = post(
      protobufPush("{job=\"w\"}", {{now - 8 * 24 * hour, "last week"}, {now - hour, "fine"}, {now + 2 * hour, "future"}}), kProto);
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("entry for stream '{job=\"w\"}' has timestamp too old: "), std::string::npos) << res.body;
  EXPECT_NE(res.body.find(", oldest acceptable timestamp is: "), std::string::npos) << res.body;
  EXPECT_NE(res.body.find("entry for stream '{job=\"w\"}' has timestamp too new: "), std::string::npos) << res.body;
  auto entries = loki_.streams().at("{job=\"w\"}");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].line, "fine");
}

// ---- Loki's limits and answers, as its push path has them --------------------------------

// ingestion_rate_mb 4 and ingestion_burst_size_mb 6 by default: a push over the burst is refused
// every time; under it, pushes pass until the bucket is empty.
TEST_F(LokiStandInTest, TheTenantsBurstRefusesLargerPushesEveryTime) {
  const std::string line(200000, 'x');  // under the 256 KB line limit
  std::vector<std::pair<int64_t, std::string>> big, small;
  for (int i = 0; i < 36; ++i) big.emplace_back(kT0 + i, line);  // 7.2 MB
  for (int i = 0; i < 10; ++i) small.emplace_back(kT0 + 100 + i, line);  // 2 MB
  for (int attempt = 0; attempt < 3; ++attempt) {
    net::HttpResponse res = post(protobufPush("{job=\"big\"}", big), kProto);
    EXPECT_EQ(res.status, 429);
    EXPECT_NE(res.body.find("ingestion rate limit exceeded for user fake (limit: 4194304 bytes/sec) while attempting to "
                            "ingest '36' lines totaling '7200000' bytes"),
              std::string::npos)
        << res.body;
  }
  EXPECT_EQ(loki_.entryCount(), 0u);
  EXPECT_EQ(post(protobufPush("{job=\"big\"}", small), kProto).status, 204);
  loki_.setIngestionLimits(0, 0);
  EXPECT_EQ(post(protobufPush("{job=\"big\"}", big), kProto).status, 204);
}

// max_line_size 256 KB is on by default.
TEST_F(LokiStandInTest, LinesOver256KbAreRefusedByDefault) {
  net::HttpResponse res = post(protobufPush("{job=\"l\"}", {{kT0, std::string(256 * 1024 + 1, 'y')}, {kT0 + 1, "short"}}), kProto);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body, "max entry size '262144' bytes exceeded for stream '{job=\"l\"}' while adding an entry with length "
                      "'262145' bytes\n");
  EXPECT_EQ(loki_.streams().at("{job=\"l\"}").size(), 1u);
}

// Labels: at most 15 names, names of at most 1024 and values of at most 2048 bytes, no
// duplicates; the stream is refused, the others kept; Loki 3 groups the messages.
TEST_F(LokiStandInTest, LabelRulesRefuseTheStreamAndGroupTheirMessages) {
  std::string many = "{";
  for (int i = 0; i < 16; ++i) many += (i ? ", l" : "l") + std::to_string(i) + "=\"v\"";
  many += "}";
  const std::string long_value = "{job=\"" + std::string(2049, 'v') + "\"}";
  net::HttpResponse res = post(multiPush({{many, {{kT0, "a"}}},
                                          {long_value, {{kT0, "b"}}},
                                          {"{job=\"dup\", job=\"dup\"}", {{kT0, "c"}}},
                                          {"{job=\"ok\"}", {{kT0, "kept"}}},
                                          {"{job=\"l\"}", {{kT0, std::string(300000, 'z')}, {kT0 + 1, std::string(300000, 'z')}}}}),
                           kProto);
  EXPECT_EQ(res.status, 400);
  const std::string sorted_many = lokiLabels([] {
    std::vector<std::pair<std::string, std::string>> p;
    for (int i = 0; i < 16; ++i) p.emplace_back("l" + std::to_string(i), "v");
    return p;
  }());
  EXPECT_EQ(res.body, "1 errors like: entry for stream '" + sorted_many + "' has 16 label names; limit 15; "
                      "1 errors like: stream '" + long_value + "' has label value too long: '" + std::string(2049, 'v') + "'; "
                      "1 errors like: stream '{job=\"dup\", job=\"dup\"}' has duplicate label name: 'job'; "
                      "2 errors like: max entry size '262144' bytes exceeded for stream '{job=\"l\"}' while adding an entry "
                      "with length '300000' bytes\n");
  EXPECT_EQ(loki_.streams().size(), 1u);
  EXPECT_EQ(loki_.streams().count("{job=\"ok\"}"), 1u);
  // Loki 2 returned the last error only.
  loki_.setGroupedErrors(false);
  res = post(multiPush({{many, {{kT0, "a"}}}, {"{job=\"l\"}", {{kT0 + 2, std::string(300000, 'z')}}}}), kProto);
  EXPECT_EQ(res.body, "max entry size '262144' bytes exceeded for stream '{job=\"l\"}' while adding an entry with length "
                      "'300000' bytes\n");
}

// The ingester lists at most 10 refused entries of a stream, and only the last failing
// stream's error is answered: it replaces the distributor's validation errors.
TEST_F(LokiStandInTest, IngesterErrorsAreCappedAndOnlyTheLastStreamsIsAnswered) {
  ASSERT_EQ(post(multiPush({{"{job=\"a\"}", {{kT0, "newest a"}}}, {"{job=\"b\"}", {{kT0, "newest b"}}}}), kProto).status, 204);
  const int64_t behind = kT0 - 2 * 3600LL * 1'000'000'000;
  std::vector<std::pair<int64_t, std::string>> late;
  for (int i = 0; i < 12; ++i) late.emplace_back(behind + i, "late " + std::to_string(i));
  net::HttpResponse res = post(multiPush({{"{job=\"a\"}", late}, {"{job=\"b\"}", late},
                                          {"{job=\"c\"}", {{kT0, std::string(300000, 'z')}}}}),
                               kProto);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(std::count(res.body.begin(), res.body.end(), '\n'), 11) << res.body;  // 10 entries and the summary
  EXPECT_NE(res.body.find("user 'fake', total ignored: 12 out of 12 for stream: {job=\"b\"}"), std::string::npos) << res.body;
  EXPECT_EQ(res.body.find("{job=\"a\"}"), std::string::npos) << res.body;
  EXPECT_EQ(res.body.find("max entry size"), std::string::npos) << res.body;
}

// per_stream_rate_limit 3 MB (burst 15 MB): one stream over it is refused with 429, the
// other streams of the push are kept.
TEST_F(LokiStandInTest, PerStreamRateLimitRefusesThatStreamWith429) {
  loki_.setIngestionLimits(0, 0);
  loki_.setPerStreamLimits(1 << 20, 2 << 20);
  const std::string line(200000, 'x');
  std::vector<std::pair<int64_t, std::string>> hot, fits;
  for (int i = 0; i < 15; ++i) hot.emplace_back(kT0 + i, line);  // 3 MB
  for (int i = 0; i < 10; ++i) fits.emplace_back(kT0 + i, line);  // 2 MB
  net::HttpResponse res = post(multiPush({{"{job=\"ok\"}", {{kT0, "small"}}}, {"{job=\"hot\"}", hot}}), kProto);
  EXPECT_EQ(res.status, 429);
  EXPECT_NE(res.body.find("Per stream rate limit exceeded (limit: 1 MB/sec) while attempting to ingest for stream "
                          "'{job=\"hot\"}' totaling 3000000B"),
            std::string::npos)
      << res.body;
  EXPECT_EQ(loki_.streams().count("{job=\"ok\"}"), 1u);
  EXPECT_EQ(loki_.streams().count("{job=\"hot\"}"), 0u);
  EXPECT_EQ(post(protobufPush("{job=\"hot\"}", fits), kProto).status, 204);
}

// The stand-in's messages are Loki's format strings, as quoted in the fixtures.
TEST(LokiStandInFixtureTest, MessagesAreLokisFormats) {
  if (!sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures absent";
  std::string formats = readFile(sharedDir() + "/fixtures/loki/error-message-formats.txt");
  for (const char* format : {
           "\"entry with timestamp %s ignored, reason: '%s',\\n\"",
           "\"entry too far behind, entry timestamp is: %s, oldest acceptable timestamp is: %s\"",
           "\"user '%s', total ignored: %d out of %d for stream: %s\"",
           "\"max entry size '%d' bytes exceeded for stream '%s' while adding an entry with length '%d' bytes\"",
           "\"ingestion rate limit exceeded for user %s (limit: %d bytes/sec) while attempting to ingest '%d' lines "
           "totaling '%d' bytes, reduce log volume or contact your Loki administrator to see if the limit can be "
           "increased\"",
           "\"error parsing labels '%s' with error: %s\"",
           "\"entry for stream '%s' has timestamp too old: %v, oldest acceptable timestamp is: %v\"",
           "\"entry for stream '%s' has timestamp too new: %v\"",
       }) {
    EXPECT_NE(formats.find(format), std::string::npos) << format;
  }
}

// Loki decodes pushes with gogo protobuf, which takes a string field's bytes as they are: a
// line that is not UTF-8 is stored, and labels that are not UTF-8 reach the label parser, which
// refuses that stream alone.
TEST_F(LokiStandInTest, BytesThatAreNotUtf8AreTakenAsLokiTakesThem) {
  net::HttpResponse res = post(multiPush({{"{job=\"a\"}", {{kT0, "bad \xff byte"}}}}), kProto);
  EXPECT_EQ(res.status, 204) << res.body;
  ASSERT_EQ(loki_.streams().count("{job=\"a\"}"), 1u);
  EXPECT_EQ(loki_.streams().at("{job=\"a\"}").at(0).line, "bad \xff byte");
  res = post(multiPush({{"{job=\"b\"}", {{kT0, "kept"}}}, {"{job=\"\xff\"}", {{kT0, "refused"}}}}), kProto);
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("with error: 1:7: parse error: invalid UTF-8 rune"), std::string::npos) << res.body;
  EXPECT_EQ(loki_.streams().count("{job=\"b\"}"), 1u);
}

// The stand-in writes label sets as Loki does (Prometheus's Labels.String(), Go's quoting).
TEST(LokiLabelsTest, Format) {
  EXPECT_EQ(lokiLabels({{"b", "2"}, {"a", "say \"hi\"\n"}}), "{a=\"say \\\"hi\\\"\\n\", b=\"2\"}");
  EXPECT_EQ(lokiLabels({{"a", "t\tb\\s\x01\x7f\xff caf\xc3\xa9 \xc2\x85"}}),
            "{a=\"t\\tb\\\\s\\x01\\x7f\\xff caf\xc3\xa9 \\u0085\"}");
}

// What Loki takes as a stream's labels (Prometheus's ParseMetric, then empty values dropped),
// read by the stand-in's own parser.
TEST(LokiLabelsTest, ReadsWhatLokiReads) {
  LabelPairs pairs;
  auto read = [&](std::string_view text) {
    std::string error = parseLokiLabels(text, pairs);
    EXPECT_EQ(error, "") << text;
    return pairs;
  };
  const LabelPairs ab = {{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(read(R"({b="2",a="1"})"), ab);  // sorted by name
  EXPECT_EQ(read(" {\n a = \"1\" ,\r\n\tb='2', # a comment\n} "), ab);
  EXPECT_EQ(read(R"({a="1", b="2",})"), ab);  // a comma after the last pair
  EXPECT_EQ(read(R"({a="1", b="2", c=""})"), ab);  // an empty value is no label
  EXPECT_EQ(read("{a=`x\\ny\n\"z\"`}"), (LabelPairs{{"a", "x\\ny\n\"z\""}}));  // raw: no escapes
  EXPECT_EQ(read(R"({a="\a\b\f\n\r\t\v\\\"", b='\'"'})"), (LabelPairs{{"a", "\a\b\f\n\r\t\v\\\""}, {"b", "'\""}}));
  EXPECT_EQ(read(R"({a="\x41\101\u00e9\U0001F600\xff"})"), (LabelPairs{{"a", "AA\xc3\xa9\xf0\x9f\x98\x80\xff"}}));
  EXPECT_EQ(read("{a=\"tab\there\"}"), (LabelPairs{{"a", "tab\there"}}));  // a raw tab is fine
  EXPECT_EQ(read("{}"), LabelPairs{});
  EXPECT_EQ(read(R"({_a1="x"})"), (LabelPairs{{"_a1", "x"}}));
}

// What Loki refuses, with the position of the error as Prometheus's parser gives it.
TEST(LokiLabelsTest, RefusesWhatLokiRefuses) {
  LabelPairs pairs;
  for (std::string_view text : {
           "", "a=\"1\"", "{a=\"1\"", "{a=1}", "{1a=\"x\"}", "{a-b=\"x\"}", "{a:b=\"x\"}", "{a.b=\"x\"}",
           "{\"a\"=\"x\"}", "{a!=\"x\"}", "{a=~\"x\"}", "{a==\"x\"}", "{,}", "{a=\"1\",,}", "{a=\"1\" b=\"2\"}",
           "{a=\"1\"} tail", "{a=\"1\"}}", "metric{a=\"1\"}", "{{a=\"1\"}}",
           "{a=\"line\nbreak\"}",              // a raw newline in a quoted string
           "{a=\"\\q\"}", "{a=\"\\'\"}",          // unknown escapes (\' only in single quotes)
           "{a='\\\"'}",                       // and \" only in double quotes
           "{a=\"\\x4\"}", "{a=\"\\400\"}", "{a=\"\\8\"}", "{a=\"\\uD800\"}", "{a=\"\\U00110000\"}",
           "{a=\"\\u12\"}", "{a=\"x\\", "{a=`x}",
           "{a=\"\xff\"}", "{a=\"\xc3\"}", "{a=\"\xed\xa0\x80\"}",  // not UTF-8
           "{a=\"\xef\xbf\xbd\"}",                               // U+FFFD, refused by the lexer too
       }) {
    std::string error = parseLokiLabels(text, pairs);
    EXPECT_NE(error, "") << "accepted: " << text;
    EXPECT_NE(error.find(": parse error: "), std::string::npos) << error;
  }
  EXPECT_EQ(parseLokiLabels("{a=1}", pairs), "1:4: parse error: unexpected character in label set, expected a string");
  EXPECT_EQ(parseLokiLabels("{a=\"x\",\n b=\"\\q\"}", pairs), "2:6: parse error: unknown escape sequence U+0071");
}

// A push whose labels Loki cannot read is refused with Loki's message; the other streams go on.
TEST_F(LokiStandInTest, AStreamWhoseLabelsLokiCannotReadIsRefused) {
  net::HttpResponse res = post(multiPush({{"{job=\"ok\"}", {{kT0, "kept"}}}, {"{job=\"\\q\"}", {{kT0, "refused"}}}}), kProto);
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("error parsing labels '{job=\"\\q\"}' with error: 1:8: parse error: unknown escape sequence U+0071"),
            std::string::npos)
      << res.body;
  EXPECT_EQ(loki_.entryCount(), 1u);
  EXPECT_EQ(post(protobufPush("{job=\"a\", empty=\"\"}", {{kT0, "x"}}), kProto).status, 204);
  EXPECT_EQ(loki_.streams().count("{job=\"a\"}"), 1u) << "the empty label is dropped";
}

}  // namespace
}  // namespace sluice::testing
