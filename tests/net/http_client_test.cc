// SPDX-License-Identifier: Apache-2.0
#include "net/http_client.h"

#include <gtest/gtest.h>

#include <ctime>
#include <future>
#include <mutex>
#include <set>

#include "support/http_server.h"
#include "support/test_support.h"

namespace sluice::net {
namespace {

using testing::HttpServer;

HttpRequest request(std::string_view method, std::string_view url, std::string_view body = {},
                    int64_t timeout_ms = 60'000) {
  HttpRequest r;
  r.method = method;
  r.url = url;
  r.body = body;
  r.timeout_ms = timeout_ms;
  return r;
}

TEST(HttpClientTest, PostsBodyAndHeadersAndReadsTheAnswer) {
  HttpServer http;
  std::string got_body, got_type, got_custom;
  http.server().Post("/_bulk", [&](const httplib::Request& req, httplib::Response& res) {
    got_body = req.body;
    got_type = req.get_header_value("Content-Type");
    got_custom = req.get_header_value("X-Scope-OrgID");
    res.set_content(R"({"took":3,"errors":false,"items":[]})", "application/json");
  });
  ASSERT_TRUE(http.start());
  HttpClient client;
  HttpRequest req;
  req.method = "POST";
  std::string url = http.url("/_bulk");
  req.url = url;
  req.headers = {"Content-Type: application/x-ndjson", "X-Scope-OrgID: team-a"};
  req.body = "{\"create\":{}}\n{\"a\":1}\n";
  HttpResponse res;
  client.send(req, res);
  EXPECT_EQ(res.status, 200);
  EXPECT_FALSE(res.transportFailed());
  EXPECT_EQ(res.body, R"({"took":3,"errors":false,"items":[]})");
  EXPECT_EQ(res.content_type, "application/json");
  EXPECT_EQ(res.retry_after_ns, -1);
  EXPECT_EQ(got_body, "{\"create\":{}}\n{\"a\":1}\n");
  EXPECT_EQ(got_type, "application/x-ndjson");
  EXPECT_EQ(got_custom, "team-a");
}

TEST(HttpClientTest, PutAndDeleteCarryTheirMethod) {
  HttpServer http;
  std::vector<std::string> seen;
  http.server().Put("/x", [&](const httplib::Request& req, httplib::Response& res) {
    seen.push_back("PUT " + req.body);
  });
  http.server().Delete("/x", [&](const httplib::Request& req, httplib::Response& res) {
    seen.push_back("DELETE");
    res.status = 404;
  });
  ASSERT_TRUE(http.start());
  HttpClient client;
  std::string url = http.url("/x");
  HttpResponse res;
  client.send(request("PUT", url, "v"), res);
  EXPECT_EQ(res.status, 200);
  client.send(request("DELETE", url), res);
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(seen, (std::vector<std::string>{"PUT v", "DELETE"}));
}

TEST(HttpClientTest, KeepsTheConnectionAliveBetweenRequests) {
  HttpServer http;
  std::mutex mu;
  std::set<int> client_ports;
  http.server().Get("/", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    client_ports.insert(req.remote_port);
    res.set_content("{}", "application/json");
  });
  ASSERT_TRUE(http.start());
  HttpClient client;
  std::string url = http.url("/");
  HttpResponse res;
  for (int i = 0; i < 5; ++i) {
    client.send(request("GET", url), res);
    ASSERT_EQ(res.status, 200) << res.error;
  }
  EXPECT_EQ(client_ports.size(), 1u);  // one TCP connection served all five
}

TEST(HttpClientTest, RetryAfterInSecondsAndAsADate) {
  HttpServer http;
  http.server().Post("/seconds", [](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "7");
  });
  http.server().Post("/date", [](const httplib::Request&, httplib::Response& res) {
    char date[64];
    std::time_t at = std::time(nullptr) + 30;
    std::tm tm;
    gmtime_r(&at, &tm);
    std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    res.status = 503;
    res.set_header("Retry-After", date);
  });
  ASSERT_TRUE(http.start());
  HttpClient client;
  HttpResponse res;
  std::string seconds = http.url("/seconds"), date = http.url("/date");
  client.send(request("POST", seconds, "x"), res);
  EXPECT_EQ(res.status, 429);
  EXPECT_EQ(res.retry_after_ns, 7'000'000'000);
  client.send(request("POST", date, "x"), res);
  EXPECT_EQ(res.status, 503);
  EXPECT_GE(res.retry_after_ns, 28'000'000'000);
  EXPECT_LE(res.retry_after_ns, 30'000'000'000);
}

TEST(HttpClientTest, ConnectionRefusedIsATransportErrorWithoutCredentials) {
  int port;
  {
    HttpServer http;
    ASSERT_TRUE(http.start());
    port = http.port();
  }  // stopped: nothing listens there now
  HttpClient client;
  HttpResponse res;
  std::string url = "http://elastic:s3cret@127.0.0.1:" + std::to_string(port) + "/_bulk";
  client.send(request("POST", url, "x"), res);
  EXPECT_TRUE(res.transportFailed());
  EXPECT_EQ(res.status, 0);
  EXPECT_NE(res.error.find("127.0.0.1"), std::string::npos) << res.error;
  EXPECT_EQ(res.error.find("s3cret"), std::string::npos) << res.error;
}

TEST(HttpClientTest, SlowServerTimesOut) {
  HttpServer http;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  // The handler holds its own copy of the future: it may still be waking when the test ends.
  http.server().Get("/slow", [released](const httplib::Request&, httplib::Response& res) {
    released.wait();  // answers only once the test has seen the client give up
    res.set_content("late", "text/plain");
  });
  ASSERT_TRUE(http.start());
  HttpClient client;
  HttpResponse res;
  std::string url = http.url("/slow");
  auto started = std::chrono::steady_clock::now();
  client.send(request("GET", url, {}, 200), res);
  auto took = std::chrono::steady_clock::now() - started;
  release.set_value();
  EXPECT_TRUE(res.transportFailed());
  EXPECT_NE(res.error.find("timed out"), std::string::npos) << res.error;
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(HttpClientTest, RedactUrlRemovesUserInfoOnly) {
  EXPECT_EQ(redactUrl("https://elastic:pw@es.example:9200/_bulk"), "https://***@es.example:9200/_bulk");
  EXPECT_EQ(redactUrl("http://user@h/"), "http://***@h/");
  EXPECT_EQ(redactUrl("http://h:9200/a@b"), "http://h:9200/a@b");  // an @ in the path is not userinfo
  EXPECT_EQ(redactUrl("http://h:9200"), "http://h:9200");
  EXPECT_EQ(redactUrl("u:p@h:1"), "***@h:1");
}

TEST(HttpClientTest, ParseRetryAfter) {
  EXPECT_EQ(parseRetryAfter("120", 0), 120'000'000'000);
  EXPECT_EQ(parseRetryAfter(" 5 \r\n", 0), 5'000'000'000);
  EXPECT_EQ(parseRetryAfter("0", 0), 0);
  EXPECT_EQ(parseRetryAfter("-3", 0), -1);
  EXPECT_EQ(parseRetryAfter("soon", 0), -1);
  EXPECT_EQ(parseRetryAfter("", 0), -1);
  // RFC 9110's example date is 1445412480 seconds after the epoch.
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 10), 10'000'000'000);
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 99), 0);  // already past
}

}  // namespace
}  // namespace sluice::net

namespace sluice::net {
namespace {

class HttpsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!ca_.ok()) GTEST_SKIP() << "no test CA: " << ca_.error();
    https_ = std::make_unique<testing::HttpServer>(ca_.serverCert(), ca_.serverKey());
    https_->server().Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"tagline":"You Know, for Search"})", "application/json");
    });
    ASSERT_TRUE(https_->start());
    url_ = https_->url("/");
  }

  testing::TempDir dir_;
  testing::TestCa ca_{dir_.path()};
  std::unique_ptr<testing::HttpServer> https_;
  std::string url_;
};

TEST_F(HttpsClientTest, TrustsAServerSignedByTheConfiguredCa) {
  HttpClient client(TlsOptions{.verify = true, .ca_file = ca_.caCert(), .client_cert = {}, .client_key = {}});
  HttpResponse res;
  client.send(request("GET", url_), res);
  EXPECT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(res.body, R"({"tagline":"You Know, for Search"})");
}

// Defaults verify both the chain and the name, against a real TLS server: a client made with
// no options refuses a certificate from an unknown CA; with the CA it refuses the right
// certificate under another name (the certificate names IP 127.0.0.1, not localhost).
TEST_F(HttpsClientTest, VerifiesTlsByDefault) {
  HttpClient defaults;
  HttpResponse res;
  defaults.send(request("GET", url_), res);
  EXPECT_TRUE(res.transportFailed());
  EXPECT_NE(res.error.find("certificate"), std::string::npos) << res.error;

  TlsOptions with_ca;
  with_ca.ca_file = ca_.caCert();
  HttpClient named(with_ca);
  named.send(request("GET", "https://localhost:" + std::to_string(https_->port()) + "/"), res);
  EXPECT_TRUE(res.transportFailed());
  EXPECT_EQ(res.status, 0);
  HttpClient right(with_ca);
  right.send(request("GET", url_), res);  // the control: same CA, the certificate's own name
  EXPECT_EQ(res.status, 200) << res.error;
}

TEST_F(HttpsClientTest, RejectsItWithoutThatCaUnlessVerificationIsOff) {
  HttpClient verifying;  // the system's CA store does not know the test CA
  HttpResponse res;
  verifying.send(request("GET", url_), res);
  EXPECT_TRUE(res.transportFailed());
  EXPECT_NE(res.error.find("certificate"), std::string::npos) << res.error;

  HttpClient trusting(TlsOptions{.verify = false, .ca_file = {}, .client_cert = {}, .client_key = {}});
  trusting.send(request("GET", url_), res);
  EXPECT_EQ(res.status, 200) << res.error;
}

}  // namespace
}  // namespace sluice::net

namespace sluice::net {
namespace {

TEST(HttpHelpersTest, Base64PercentEncodingAndBasicAuth) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("\xfb\xff", true), "-_8");
  EXPECT_EQ(basicAuthHeader("Aladdin", "open sesame"), "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(percentEncode("logs-2026.11/a b?c=d~"), "logs-2026.11%2Fa%20b%3Fc%3Dd~");
}

}  // namespace
}  // namespace sluice::net
