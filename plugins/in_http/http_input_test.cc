// SPDX-License-Identifier: Apache-2.0
// The http input on a real socket (127.0.0.1, a port the system chose), driven by a real HTTP
// client (libcurl through net::HttpClient), and for backpressure by a real buffer that cannot
// deliver.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "codec/codec.h"
#include "plugins/in_http/http_input.h"
#include "support/buffer_support.h"
#include "support/gate_output.h"
#include "support/http_server.h"
#include "support/input_runner.h"
#include "support/test_support.h"

namespace sluice::plugins::in_http {
namespace {

using testing::httpPost;

using Collector = testing::EventCollector;

// An http input on 127.0.0.1 and a port the system chose.
class Running : public testing::RunningInput<HttpInput> {
 public:
  Running(std::string_view body, EventSink& sink)
      : RunningInput("http", "port 0\nbind 127.0.0.1\n" + std::string(body), sink) {}
  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + std::string(path);
  }
};

constexpr int64_t kSecond = 1'000'000'000;

TEST(HttpInputTest, EveryBodyFormatArrivesOnceWithItsTag) {
  Collector sink;
  Running in("", sink);
  net::HttpClient client;
  const std::string packed = "\x81\xa2mp\x01";                               // {"mp":1}
  const std::string packed_array = "\x92\x81\xa1" "a\xa1x\x81\xa1" "a\xa1y";  // [{"a":"x"},{"a":"y"}]
  std::string form_msgpack = "msgpack=" + net::percentEncode(packed);

  EXPECT_EQ(httpPost(client, in.url("/app.log"), R"({"k":"object"})", {"Content-Type: application/json"}).status, 200);
  EXPECT_EQ(httpPost(client, in.url("/app/log"), R"([{"k":1},{"k":2}])", {"Content-Type: application/json; charset=utf-8"}).status, 200);
  EXPECT_EQ(httpPost(client, in.url("/nd"), "{\"n\":1}\n\n{\"n\":2}\r\n[{\"n\":3}]\n", {"Content-Type: application/x-ndjson"}).status, 200);
  EXPECT_EQ(httpPost(client, in.url("/mp"), packed, {"Content-Type: application/msgpack"}).status, 200);
  EXPECT_EQ(httpPost(client, in.url("/mpa"), packed_array, {"Content-Type: application/msgpack"}).status, 200);
  EXPECT_EQ(httpPost(client, in.url("/form"), "json=%7B%22f%22%3A%22a+b%22%7D", {"Content-Type: application/x-www-form-urlencoded"}).status, 200);
  EXPECT_EQ(httpPost(client, in.url("/form.nd"), "ndjson=" + net::percentEncode("{\"a\":1}\n{\"a\":2}"), {"Content-Type: application/x-www-form-urlencoded"}).status, 200);
  EXPECT_EQ(httpPost(client, in.url("/form.mp"), form_msgpack, {"Content-Type: application/x-www-form-urlencoded"}).status, 200);
  std::string multipart =
      "--XyZ\r\nContent-Disposition: form-data; name=\"json\"\r\n\r\n{\"m\":\"foo+bar\"}\r\n--XyZ--\r\n";
  EXPECT_EQ(httpPost(client, in.url("/multi"), multipart, {"Content-Type: multipart/form-data; boundary=XyZ"}).status, 200);

  std::vector<std::string> got = sink.lines();
  ASSERT_EQ(got.size(), 14u);
  std::vector<std::string> expected = {
      R"(app.log {"k":"object"})", R"(app.log {"k":1})", R"(app.log {"k":2})", R"(nd {"n":1})",
      R"(nd {"n":2})", R"(nd {"n":3})", R"(mp {"mp":1})", R"(mpa {"a":"x"})", R"(mpa {"a":"y"})",
      R"(form {"f":"a b"})", R"(form.nd {"a":1})", R"(form.nd {"a":2})", R"(form.mp {"mp":1})", R"(multi {"m":"foo+bar"})"};
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]);
  EXPECT_EQ(in.metric("sluice_input_http_accepted_requests_total"), 9u);
}

TEST(HttpInputTest, TimeComesFromTheQueryOrTheRecordElseNow) {
  Collector sink;
  Running in("", sink);
  net::HttpClient client;
  const int64_t before = nowNs();
  ASSERT_EQ(httpPost(client, in.url("/t?time=1518756037.5"), R"({"a":1,"time":5})", {"Content-Type: application/json"}).status, 200);
  ASSERT_EQ(httpPost(client, in.url("/t"), R"([{"a":2,"time":1700000000},{"a":3,"time":"1700000001.25"},{"a":4}])", {"Content-Type: application/json"}).status, 200);
  ASSERT_EQ(httpPost(client, in.url("/t"), "json=%7B%22a%22%3A5%7D&time=1600000000", {"Content-Type: application/x-www-form-urlencoded"}).status, 200);
  auto got = sink.lines();
  auto times = sink.times();
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got, (std::vector<std::string>{R"(t {"a":1})", R"(t {"a":2})", R"(t {"a":3})", R"(t {"a":4})", R"(t {"a":5})"}));
  EXPECT_EQ(times[0], 1518756037 * kSecond + kSecond / 2);
  EXPECT_EQ(times[1], 1700000000 * kSecond);
  EXPECT_EQ(times[2], 1700000001 * kSecond + kSecond / 4);
  EXPECT_GE(times[3], before);
  EXPECT_LE(times[3], nowNs());
  EXPECT_EQ(times[4], 1600000000 * kSecond);
  // A time that is not a number refuses the request.
  auto r = httpPost(client, in.url("/t?time=yesterday"), R"({"a":6})", {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("time parameter"), std::string::npos) << r.body;
  EXPECT_EQ(sink.count(), 5u);
}

TEST(HttpInputTest, AddsHeadersRemoteAddressAndQueryParameters) {
  Collector sink;
  Running in("add_http_headers true\nadd_remote_addr true\nadd_query_params true", sink);
  net::HttpClient client;
  ASSERT_EQ(httpPost(client, in.url("/h?src=web&x=1"), R"({"a":1})", {"Content-Type: application/json", "X-Request-Id: abc"}).status, 200);
  ASSERT_EQ(httpPost(client, in.url("/h"), R"({"a":2})",
                     {"Content-Type: application/json", "X-Forwarded-For: 10.0.0.7, 10.0.0.8"}).status, 200);
  auto got = sink.lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].find(R"("HTTP_X_REQUEST_ID":"abc")"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find(R"("HTTP_CONTENT_TYPE":"application/json")"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find(R"("QUERY_src":"web","QUERY_x":"1")"), std::string::npos) << got[0];
  EXPECT_NE(got[0].find(R"("REMOTE_ADDR":"127.0.0.1")"), std::string::npos) << got[0];
  EXPECT_EQ(got[0].find("HTTP_REMOTE_ADDR"), std::string::npos) << got[0];  // cpp-httplib's own
  EXPECT_NE(got[1].find(R"("REMOTE_ADDR":"10.0.0.7")"), std::string::npos) << got[1];
}

TEST(HttpInputTest, CorsAllowsListedOriginsAndRefusesOthers) {
  Collector sink;
  Running in(R"(cors_allow_origins ["https://app.example.com", "http://*.example.org"])", sink);
  net::HttpClient client;
  auto ok = httpPost(client, in.url("/c"), R"({"a":1})", {"Content-Type: application/json", "Origin: https://app.example.com"});
  EXPECT_EQ(ok.status, 200);
  auto wild = httpPost(client, in.url("/c"), R"({"a":2})", {"Content-Type: application/json", "Origin: http://x.example.org"});
  EXPECT_EQ(wild.status, 200);
  auto no_origin = httpPost(client, in.url("/c"), R"({"a":3})", {"Content-Type: application/json"});
  EXPECT_EQ(no_origin.status, 200);  // not a browser's cross-origin request (Fluentd 1.19)
  net::HttpClient other;
  auto denied = httpPost(other, in.url("/c"), R"({"a":4})", {"Content-Type: application/json", "Origin: https://evil.example.net"});
  EXPECT_EQ(denied.status, 403);
  // Preflight.
  net::HttpClient pre;
  net::HttpResponse r;
  const std::string url = in.url("/c");
  pre.send(net::HttpRequest{.method = "OPTIONS", .url = url,
                            .headers = {"Origin: https://app.example.com", "Access-Control-Request-Method: POST",
                                        "Access-Control-Request-Headers: content-type"}},
           r);
  EXPECT_EQ(r.status, 200) << r.body;
  net::HttpClient pre2;
  pre2.send(net::HttpRequest{.method = "OPTIONS", .url = url,
                             .headers = {"Origin: https://evil.example.net", "Access-Control-Request-Method: POST"}},
            r);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(sink.count(), 3u);
  EXPECT_EQ(in.metric("sluice_input_errors_total", "error_type=\"cors\""), 2u);
}

TEST(HttpInputTest, BodyOverTheLimitGets413AndNothingIsEmitted) {
  Collector sink;
  Running in("body_size_limit 1k", sink);
  std::string big = "[";
  while (big.size() < 4000) big += R"({"filler":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},)";
  big += R"({"last":1}])";
  net::HttpClient client;
  auto r = httpPost(client, in.url("/big"), big, {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("exceeds body_size_limit (1024 bytes)"), std::string::npos) << r.body;
  // Chunked (no Content-Length): cut off by the server at the limit.
  net::HttpClient chunked;
  auto c = httpPost(chunked, in.url("/big"), big, {"Content-Type: application/json", "Transfer-Encoding: chunked"});
  EXPECT_EQ(c.status, 413) << c.body << c.error;
  // A gzip body small on the wire but over the limit once decoded.
  auto packed = codec::compress(codec::Compression::Gzip, big);
  ASSERT_TRUE(packed.isOk());
  ASSERT_LT(packed->size(), 1024u);
  net::HttpClient gz;
  auto g = httpPost(gz, in.url("/big"), *packed, {"Content-Type: application/json", "Content-Encoding: gzip"});
  EXPECT_EQ(g.status, 413) << g.body;
  EXPECT_EQ(sink.count(), 0u);
  // The server goes on serving.
  net::HttpClient again;
  EXPECT_EQ(httpPost(again, in.url("/small"), R"({"a":1})", {"Content-Type: application/json"}).status, 200);
  EXPECT_EQ(sink.count(), 1u);
  EXPECT_EQ(in.metric("sluice_input_errors_total", "error_type=\"too_large\""), 3u);
}

TEST(HttpInputTest, ABodyOfMegabytesWithinTheLimitArrivesWhole) {
  Collector sink;
  Running in("body_size_limit 4m", sink);
  std::string body;
  constexpr int kRecords = 30000;  // ~1.6 MB: libcurl asks with Expect: 100-continue first
  for (int i = 0; i < kRecords; ++i) body += "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(30, 'p') + "\"}\n";
  ASSERT_GT(body.size(), 1u << 20);
  net::HttpClient client;
  auto r = httpPost(client, in.url("/big"), body, {"Content-Type: application/x-ndjson"});
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  auto got = sink.lines();
  ASSERT_EQ(got.size(), size_t{kRecords});
  EXPECT_EQ(got.back(), "big {\"n\":" + std::to_string(kRecords - 1) + ",\"pad\":\"" + std::string(30, 'p') + "\"}");
}

TEST(HttpInputTest, GzipBodiesAreDecoded) {
  Collector sink;
  Running in("", sink);
  auto packed = codec::compress(codec::Compression::Gzip, R"([{"z":1},{"z":2}])");
  ASSERT_TRUE(packed.isOk());
  net::HttpClient client;
  EXPECT_EQ(httpPost(client, in.url("/gz"), *packed, {"Content-Type: application/json", "Content-Encoding: gzip"}).status, 200);
  EXPECT_EQ(sink.count(), 2u);
}

TEST(HttpInputTest, MalformedRequestsGet400AndNothingOfThemIsEmitted) {
  Collector sink;
  Running in("", sink);
  net::HttpClient client;
  struct Case {
    std::string path, body, type, says;
  };
  const std::vector<Case> cases = {
      {"/x", R"({"a":)", "application/json", "json"},
      {"/x", R"([{"a":1},2])", "application/json", "not an object"},
      {"/x", R"("text")", "application/json", "neither an object"},
      {"/x", "{\"a\":1}\n{oops\n", "application/x-ndjson", "ndjson line 2"},
      {"/x", "\x81\xa1", "application/msgpack", "msgpack"},
      {"/x", "\xc1", "application/msgpack", "msgpack"},
      {"/x", "\x93\x01\x02\x03", "application/msgpack", "not an object"},
      {"/x", "nothing=here", "application/x-www-form-urlencoded", "'json', 'ndjson' or 'msgpack'"},
      {"/x", R"([{"a":1},{"a":2,"time":"noon"}])", "application/json", "time field"},
      {"/", R"({"a":1})", "application/json", "tag"},
  };
  for (const Case& c : cases) {
    auto r = httpPost(client, in.url(c.path), c.body, {"Content-Type: " + c.type});
    EXPECT_EQ(r.status, 400) << c.body;
    EXPECT_NE(r.body.find(c.says), std::string::npos) << c.body << " -> " << r.body;
  }
  // Nested 100,000 deep: refused, not a crash.
  std::string deep(100000, '\x91');
  auto r = httpPost(client, in.url("/x"), deep, {"Content-Type: application/msgpack"});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(sink.count(), 0u);
  EXPECT_EQ(in.metric("sluice_input_errors_total", "error_type=\"bad_request\""), cases.size() + 1);
  EXPECT_EQ(httpPost(client, in.url("/x"), R"({"a":1})", {"Content-Type: application/json"}).status, 200);
}

TEST(HttpInputTest, ParseSectionParsesTheRawBodyLineByLine) {
  Collector sink;
  Running in("<parse>\n @type regexp\n expression /^(?<field1>\\d+):(?<field2>\\w+)$/\n</parse>", sink);
  net::HttpClient client;
  EXPECT_EQ(httpPost(client, in.url("/re"), "123456:awesome\n7:x\n", {}).status, 200);
  auto got = sink.lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].find(R"({"field1":"123456","field2":"awesome"})"), std::string::npos) << got[0];
  auto r = httpPost(client, in.url("/re"), "1:ok\nnot matching\n", {});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("Line 2"), std::string::npos) << r.body;
  EXPECT_EQ(sink.count(), 2u);
}

TEST(HttpInputTest, ResponsesFollowUse204AndEmptyImage) {
  Collector sink;
  Running a("use_204_response true", sink);
  Running b("respond_with_empty_img true", sink);
  net::HttpClient client;
  EXPECT_EQ(httpPost(client, a.url("/r"), R"({"a":1})", {"Content-Type: application/json"}).status, 204);
  auto img = httpPost(client, b.url("/r"), R"({"a":1})", {"Content-Type: application/json"});
  EXPECT_EQ(img.status, 200);
  EXPECT_EQ(img.content_type, "image/gif");
  EXPECT_TRUE(img.body.starts_with("GIF89a"));
}

TEST(HttpInputTest, ServesHttpsWithTransportTls) {
  testing::TempDir dir;
  testing::TestCa ca(dir.path());
  if (!ca.ok()) GTEST_SKIP() << ca.error();
  Collector sink;
  Running in("<transport tls>\n cert_path " + ca.serverCert() + "\n private_key_path " + ca.serverKey() +
                 "\n</transport>",
             sink);
  net::HttpClient client(net::TlsOptions{.verify = true, .ca_file = ca.caCert()});
  std::string url = "https://127.0.0.1:" + std::to_string(in.port()) + "/secure";
  auto r = httpPost(client, url, R"({"s":1})", {"Content-Type: application/json"});
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(sink.count(), 1u);
}

TEST(HttpInputTest, StopsPromptlyWhileAClientKeepsItsConnectionOpen) {
  Collector sink;
  net::HttpClient client;  // outlives the input: its keep-alive connection is still open
  Running in("keepalive_timeout 30s", sink);
  ASSERT_EQ(httpPost(client, in.url("/k"), R"({"a":1})", {"Content-Type: application/json"}).status, 200);
  auto t0 = std::chrono::steady_clock::now();
  in.finish();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

TEST(HttpInputTest, ConfigErrors) {
  testing::PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Input, "http", "port 70000").isOk());
  EXPECT_FALSE(f.make(PluginKind::Input, "http", "request_threads 0").isOk());
  EXPECT_FALSE(f.make(PluginKind::Input, "http", "<transport tls>\n cert_path /x\n</transport>").isOk());
  EXPECT_FALSE(f.make(PluginKind::Input, "http", "<transport udp>\n</transport>").isOk());
  EXPECT_TRUE(f.make(PluginKind::Input, "http", "<parse>\n @type in_http\n</parse>").isOk());
  // A port already taken fails at start, with the address in the message.
  auto first = f.mustMake<HttpInput>(PluginKind::Input, "http", "port 0\nbind 127.0.0.1");
  ASSERT_TRUE(first->start().isOk());
  auto second = f.mustMake<HttpInput>(PluginKind::Input, "http", "bind 127.0.0.1\nport " + std::to_string(first->boundPort()));
  Status s = second->start();
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find(std::to_string(first->boundPort())), std::string::npos) << s.message();
}

// ---- Backpressure through a real buffer that cannot deliver ----

TEST(HttpInputTest, FullBufferAnswers503AndEveryEventArrivesOnceAfterRetries) {
  testing::GatedBuffer gated(2048, 4096);
  ASSERT_TRUE(gated.buffer.started());
  testing::GateOutput& out = gated.out;
  Running in("backpressure_timeout 0.3s\nrequest_threads 4", gated.sink);

  // Two clients send numbered records, each request again on 503 (after Retry-After), until
  // each was accepted.
  constexpr int kClients = 2, kRequests = 40, kPerRequest = 5;
  std::atomic<int> refused{0};
  std::atomic<bool> retry_after_seen{false};
  auto client = [&](int c) {
    net::HttpClient http;
    const std::string url = in.url("/bp");
    for (int r = 0; r < kRequests; ++r) {
      std::string body = "[";
      for (int i = 0; i < kPerRequest; ++i) {
        if (i) body += ',';
        body += "{\"n\":" + std::to_string((c * kRequests + r) * kPerRequest + i) + ",\"pad\":\"" + std::string(60, 'p') + "\"}";
      }
      body += "]";
      for (;;) {
        net::HttpRequest req{.method = "POST", .url = url, .headers = {"Content-Type: application/json"},
                             .body = body, .timeout_ms = 120'000};
        net::HttpResponse res;
        http.send(req, res);
        if (res.status == 200) break;
        ASSERT_EQ(res.status, 503) << res.body << res.error;
        if (res.retry_after_ns >= 0) retry_after_seen = true;
        ++refused;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a client's back-off after 503
      }
    }
  };
  std::thread c0(client, 0), c1(client, 1);
  // The buffer fills; requests are refused with 503 while it cannot deliver.
  ASSERT_TRUE(testing::waitFor([&] { return refused.load() >= 3; }, std::chrono::seconds(60)));
  EXPECT_TRUE(retry_after_seen.load());
  out.open = true;  // the sink comes back
  c0.join();
  c1.join();
  ASSERT_TRUE(testing::waitFor([&] {
    std::lock_guard<std::mutex> lock(out.mu);
    return out.delivered.size() >= size_t{kClients * kRequests * kPerRequest};
  }, std::chrono::seconds(60)));
  std::lock_guard<std::mutex> lock(out.mu);
  std::vector<int> seen(kClients * kRequests * kPerRequest, 0);
  for (const std::string& d : out.delivered) {
    size_t at = d.find("\"n\":");
    ASSERT_NE(at, std::string::npos);
    ++seen[static_cast<size_t>(std::stoi(d.substr(at + 4)))];
  }
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "record " << i;
  EXPECT_GE(in.metric("sluice_input_errors_total", "error_type=\"backpressure\""), 3u);
}

}  // namespace
}  // namespace sluice::plugins::in_http
