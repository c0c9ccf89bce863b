// SPDX-License-Identifier: Apache-2.0
// The Kubernetes API stand-in answers as the API server does (the client side is sluice's own
// HTTP client, so these also check streaming).
#include "standins/kubernetes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/test_support.h"

namespace sluice::testing {
namespace {

std::string pod(const std::string& ns, const std::string& name, const std::string& node, const std::string& app) {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name + R"(","namespace":")" + ns +
         R"(","uid":"uid-)" + name + R"(","labels":{"app":")" + app + R"("}},"spec":{"nodeName":")" + node +
         R"("},"status":{"podIP":"10.0.0.1"}})";
}

TEST(KubernetesStandInTest, HttpsTokenObjectsAndStatusAnswers) {
  TempDir dir;
  TestCa ca(dir.path());
  ASSERT_TRUE(ca.ok()) << ca.error();
  KubernetesStandIn api(ca.serverCert(), ca.serverKey());
  ASSERT_TRUE(api.start());
  api.requireToken("t0k3n");
  ASSERT_TRUE(api.putPod(pod("default", "web-1", "node-a", "web")));
  ASSERT_TRUE(api.putNamespace(R"({"kind":"Namespace","metadata":{"name":"default","uid":"ns-uid"}})"));
  EXPECT_FALSE(api.putPod(R"({"kind":"Pod","metadata":{"name":"x"}})"));  // no namespace

  net::HttpClient client(net::TlsOptions{true, ca.caCert(), "", ""});
  net::HttpResponse r;
  net::HttpRequest req;
  std::string url = api.url("/api/v1/namespaces/default/pods/web-1");
  req.url = url;
  client.send(req, r);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("\"reason\":\"Unauthorized\""), std::string::npos);

  req.headers = {"Authorization: Bearer t0k3n"};
  client.send(req, r);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"resourceVersion\":\"1001\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"uid\":\"uid-web-1\""), std::string::npos);

  std::string missing = api.url("/api/v1/namespaces/default/pods/gone");
  req.url = missing;
  client.send(req, r);
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("pods \\\"gone\\\" not found"), std::string::npos) << r.body;

  api.failRequests(403, 1);
  req.url = url;
  client.send(req, r);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("cannot get resource \\\"pods\\\" in API group \\\"\\\" in the namespace \\\"default\\\""),
            std::string::npos)
      << r.body;
  client.send(req, r);
  EXPECT_EQ(r.status, 200);  // the fault was for one request

  std::string ns_url = api.url("/api/v1/namespaces/default");
  req.url = ns_url;
  client.send(req, r);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("ns-uid"), std::string::npos);
  EXPECT_EQ(api.requestCount("/api/v1/namespaces/default/pods/"), 5);
}

TEST(KubernetesStandInTest, ListWatchAndGone) {
  KubernetesStandIn api;
  ASSERT_TRUE(api.start());
  api.putPod(pod("default", "a", "node-a", "v1"));
  api.putPod(pod("default", "b", "node-b", "v1"));
  net::HttpClient client;
  net::HttpResponse r;
  net::HttpRequest req;
  std::string list = api.url("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a");
  req.url = list;
  client.send(req, r);
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"name\":\"a\""), std::string::npos);
  EXPECT_EQ(r.body.find("\"name\":\"b\""), std::string::npos);  // another node's pod
  EXPECT_NE(r.body.find("\"resourceVersion\":\"1002\""), std::string::npos) << r.body;

  // A watch from the list's version sees the change of pod a only.
  std::string seen;
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    net::HttpClient c;
    net::HttpResponse wr;
    net::HttpRequest w;
    std::string url = api.url("/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Dnode-a&resourceVersion=1002");
    w.url = url;
    w.on_body = [&](std::string_view data) {
      seen.append(data);
      return seen.find("MODIFIED") == std::string::npos;
    };
    c.send(w, wr);
    done = true;
  });
  ASSERT_TRUE(waitFor([&] { return api.openWatches() == 1; }));
  api.putPod(pod("default", "b", "node-b", "v2"));
  api.putPod(pod("default", "a", "node-a", "v2"));
  ASSERT_TRUE(waitFor([&] { return done.load(); }));
  watcher.join();
  EXPECT_NE(seen.find(R"({"type":"MODIFIED","object":{"kind":"Pod")"), std::string::npos) << seen;
  EXPECT_NE(seen.find(R"("app":"v2")"), std::string::npos);
  EXPECT_EQ(seen.find(R"("name":"b")"), std::string::npos);

  // After compaction an old version is answered with an ERROR event carrying 410.
  api.compactHistory();
  std::string old = api.url("/api/v1/pods?watch=true&resourceVersion=1002");
  req.url = old;
  client.send(req, r);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("type":"ERROR")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("code":410)"), std::string::npos);

  // The kubelet's /pods: this node's pods.
  api.setKubeletNode("node-b");
  std::string kubelet = api.url("/pods");
  req.url = kubelet;
  client.send(req, r);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("name":"b")"), std::string::npos);
  EXPECT_EQ(r.body.find(R"("name":"a")"), std::string::npos);
  EXPECT_EQ(api.requestCount("/api/v1/pods?watch"), 2);
}

// A watch that asks for bookmarks gets a BOOKMARK with the cluster's new revision and nothing
// but the kind and metadata.resourceVersion (the API server's form); one that did not ask
// gets none. A 429 carries Retry-After, as API Priority and Fairness sends it.
TEST(KubernetesStandInTest, BookmarksAndRetryAfter) {
  KubernetesStandIn api;
  ASSERT_TRUE(api.start());
  api.putPod(pod("default", "a", "node-a", "v1"));
  auto watch = [&](const std::string& query, std::string& seen, std::atomic<bool>& done) {
    return std::thread([&, query] {
      net::HttpClient c;
      net::HttpResponse wr;
      net::HttpRequest w;
      std::string url = api.url("/api/v1/pods?watch=true&resourceVersion=1001" + query);
      w.url = url;
      w.timeout_ms = 10000;
      w.on_body = [&](std::string_view data) {
        seen.append(data);
        return seen.find("BOOKMARK") == std::string::npos && seen.find("MODIFIED") == std::string::npos;
      };
      c.send(w, wr);
      done = true;
    });
  };
  std::string with, without;
  std::atomic<bool> with_done{false}, without_done{false};
  std::thread t1 = watch("&allowWatchBookmarks=true", with, with_done);
  std::thread t2 = watch("", without, without_done);
  ASSERT_TRUE(waitFor([&] { return api.openWatches() == 2; }));
  api.bookmark(200);
  ASSERT_TRUE(waitFor([&] { return with_done.load(); }));
  EXPECT_EQ(with, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"1201\"}}}\n");
  api.putPod(pod("default", "a", "node-a", "v2"));  // ends the other watch
  ASSERT_TRUE(waitFor([&] { return without_done.load(); }));
  t1.join();
  t2.join();
  EXPECT_EQ(without.find("BOOKMARK"), std::string::npos) << without;
  EXPECT_NE(without.find("MODIFIED"), std::string::npos) << without;
  EXPECT_EQ(api.bookmarksSent(), 1);

  api.setRetryAfter(3);
  api.failRequests(429, 1);
  net::HttpClient client;
  net::HttpResponse r;
  net::HttpRequest req;
  std::string url = api.url("/api/v1/namespaces/default/pods/a");
  req.url = url;
  client.send(req, r);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.retry_after_ns, 3'000'000'000);
  EXPECT_NE(r.body.find(R"("reason":"TooManyRequests","details":{"retryAfterSeconds":3},"code":429)"), std::string::npos) << r.body;
}

// A kubelet's default certificate is its own, self-signed: a client that verifies refuses it
// (even with a cluster CA), one that does not gets the node's pods.
TEST(KubernetesStandInTest, KubeletServesASelfSignedCertificate) {
  TempDir dir;
  std::string error;
  auto kubelet = KubernetesStandIn::selfSignedKubelet(dir.path(), &error);
  ASSERT_TRUE(kubelet) << error;
  ASSERT_TRUE(kubelet->start());
  kubelet->putPod(pod("default", "a", "node-a", "v1"));
  net::HttpClient verifying;
  net::HttpResponse r;
  net::HttpRequest req;
  std::string url = kubelet->url("/pods");
  ASSERT_EQ(url.rfind("https://", 0), 0u) << url;
  req.url = url;
  verifying.send(req, r);
  EXPECT_TRUE(r.transportFailed());
  EXPECT_NE(r.error.find("self-signed"), std::string::npos) << r.error;
  net::HttpClient trusting(net::TlsOptions{.verify = false, .ca_file = {}, .client_cert = {}, .client_key = {}});
  trusting.send(req, r);
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_NE(r.body.find(R"("name":"a")"), std::string::npos);
}

}  // namespace
}  // namespace sluice::testing
