// SPDX-License-Identifier: Apache-2.0
// The shared network option groups (net/net_options.h): the TLS parameters bound from a
// plugin's Fluentd spellings and from the shared names, against a real HTTPS server with a
// throw-away CA; the client pool; Retry-After.

#include "net/net_options.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "config/bind.h"
#include "config/parser.h"
#include "support/http_server.h"
#include "support/test_support.h"

namespace sluice::net {
namespace {

struct ProbeConfig : TlsConfig {
  std::string name;
};
constexpr TlsAliases kAliases{"ssl_verify", "ca_file", "client_cert", "client_key"};
const std::array<Param<ProbeConfig>, 1> kOwn = {{{"name", &ProbeConfig::name, "x", "A key of the plugin's own."}}};
const auto kParams = concatParams(kOwn, tlsParams<ProbeConfig>(kAliases));

Result<ProbeConfig> bind(const std::string& body) {
  auto root = config::parseConfigText("<match **>\n" + body + "</match>\n", "probe.conf", ".", config::EvalEnvironment{});
  if (!root) return root.takeStatus();
  ProbeConfig c;
  Status s = bindParams(std::span<const Param<ProbeConfig>>(kParams), *root->children("match").front(), c);
  if (!s) return s;
  return c;
}

class NetOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ca_.ok()) << ca_.error();
    https_ = std::make_unique<testing::HttpServer>(ca_.serverCert(), ca_.serverKey());
    https_->server().Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok", "text/plain"); });
    ASSERT_TRUE(https_->start());
  }
  long get(const ProbeConfig& c) {
    HttpClient client(c.tlsOptions());
    return testing::httpGet(client, https_->url("/")).status;
  }

  testing::TempDir dir_;
  testing::TestCa ca_{dir_.path()};
  std::unique_ptr<testing::HttpServer> https_;
};

TEST_F(NetOptionsTest, ThePluginsSpellingsAndTheSharedNamesBindAlike) {
  auto defaults = bind("");
  ASSERT_TRUE(defaults.isOk()) << defaults.status().message();
  EXPECT_TRUE(defaults->tls_verify);
  EXPECT_EQ(get(*defaults), 0) << "the throw-away CA is not trusted by default";

  for (const std::string& body : {"ca_file " + ca_.caCert() + "\n", "tls_ca_cert_path " + ca_.caCert() + "\n"}) {
    auto c = bind(body);
    ASSERT_TRUE(c.isOk()) << c.status().message();
    EXPECT_EQ(c->tls_ca_cert_path, ca_.caCert()) << body;
    EXPECT_EQ(get(*c), 200) << body;
  }
  for (const std::string body : {"ssl_verify false\n", "tls_verify false\n"}) {
    auto c = bind(body);
    ASSERT_TRUE(c.isOk()) << c.status().message();
    EXPECT_FALSE(c->tls_verify) << body;
    EXPECT_EQ(get(*c), 200) << body;
  }
  auto pair = bind("client_cert /a.pem\nclient_key /a.key\n");
  ASSERT_TRUE(pair.isOk());
  EXPECT_EQ(pair->tls_client_cert_path, "/a.pem");
  EXPECT_EQ(pair->tls_private_key_path, "/a.key");
  EXPECT_TRUE(pair->validateTls(kAliases).isOk());
}

TEST(NetOptionsGroupTest, TheKeyIsSecretAndACertificateNeedsItsKey) {
  bool key_seen = false;
  for (const ParamInfo& p : describeParams(std::span<const Param<ProbeConfig>>(kParams))) {
    if (p.name == "tls_private_key_path") {
      key_seen = true;
      EXPECT_TRUE(p.flags & kSecret);
      EXPECT_EQ(p.alias, "client_key");
    } else {
      EXPECT_FALSE(p.flags & kSecret) << p.name;
    }
  }
  EXPECT_TRUE(key_seen);
  ProbeConfig c;
  c.tls_client_cert_path = "/a.pem";
  Status s = c.validateTls(kAliases);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("client_cert"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("client_key"), std::string::npos) << s.message();
}

TEST(HttpClientPoolTest, KeepsClientsForTheNextTakerAndGivesEachThreadItsOwn) {
  HttpClientPool pool;
  std::unique_ptr<HttpClient> a = pool.take();
  std::unique_ptr<HttpClient> b = pool.take();
  EXPECT_NE(a.get(), b.get());
  HttpClient* kept = a.get();
  pool.give(std::move(a));
  std::unique_ptr<HttpClient> again = pool.take();
  EXPECT_EQ(again.get(), kept) << "a returned client (its connection) is reused";
  std::unique_ptr<HttpClient> fresh = pool.fresh();
  EXPECT_NE(fresh.get(), kept);
  pool.give(std::move(again));
  pool.give(std::move(b));
  // Many threads at once never share a client.
  std::mutex mu;
  std::set<HttpClient*> in_use;
  bool shared = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto c = pool.take();
        {
          std::lock_guard lock(mu);
          shared |= !in_use.insert(c.get()).second;
        }
        {
          std::lock_guard lock(mu);
          in_use.erase(c.get());
        }
        pool.give(std::move(c));
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(shared);
}

TEST(RetryAfterTest, TheLongestAskIsHonoured) {
  RetryAfter r;
  EXPECT_FALSE(r.given());
  EXPECT_EQ(r.ns(), 0);
  EXPECT_EQ(r.atLeast(5), 5);
  HttpResponse answer;
  r.note(answer);  // no Retry-After
  EXPECT_FALSE(r.given());
  answer.retry_after_ns = 30'000'000'000;
  r.note(answer);
  r.note(1'000'000'000);
  EXPECT_TRUE(r.given());
  EXPECT_EQ(r.ns(), 30'000'000'000);
  EXPECT_EQ(r.atLeast(1'000'000'000), 30'000'000'000);
  EXPECT_EQ(r.atLeast(60'000'000'000), 60'000'000'000);
}

}  // namespace
}  // namespace sluice::net
