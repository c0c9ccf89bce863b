// SPDX-License-Identifier: Apache-2.0
// out_forward against sluice's in_forward running in the test process (real TCP on 127.0.0.1,
// real TLS with a throw-away CA), and against raw servers that misbehave.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include "core/json.h"
#include "forward/forward_test_support.h"
#include "plugins/out_forward/forward_output.h"
#include "support/http_server.h"

namespace sluice::plugins::out_forward {
namespace {

using testing::ForwardReceiver;
using testing::PluginFactory;
using testing::TempDir;
using testing::waitFor;

constexpr int64_t kT = 1'795'309'323'123'456'789LL;

std::string server(int port, const std::string& extra = "") {
  return "<server>\n host 127.0.0.1\n port " + std::to_string(port) + "\n" + extra + "</server>\n";
}

// Formats events {"n":from..to-1} with `tag`, one nanosecond apart.
FormattedEvents formatRange(Output& out, int from, int to, std::string_view tag = "app.web") {
  Batch b;
  for (int i = from; i < to; ++i) {
    b.add(tag, kT + i, *parseJson("{\"n\":" + std::to_string(i) + ",\"s\":\"x\",\"a\":[1,2.5,null,true]}", b.arena()));
  }
  FormattedEvents f;
  out.format(b, f);
  return f;
}

// A TCP port nothing listens on.
int deadPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(ForwardOutputTest, SendsEventsWithTagsTimesAndRecordsIntact) {
  ForwardReceiver rx;
  PluginFactory f;
  auto out = f.mustMake<ForwardOutput>(PluginKind::Output, "forward", server(rx.port()));
  ASSERT_TRUE(out->start().isOk());
  FormattedEvents a = formatRange(*out, 0, 3, "app.web");
  FormattedEvents b = formatRange(*out, 3, 5, "app.db");
  a.bytes += b.bytes;
  const uint32_t base = a.ends.back();
  for (uint32_t e : b.ends) a.ends.push_back(base + e);
  EXPECT_EQ(out->write(ChunkView(a.bytes, a.ends, nullptr)).kind, WriteResult::Kind::Ok);
  ASSERT_TRUE(waitFor([&] { return rx.collector.count() == 5; }));
  auto lines = rx.collector.snapshot();
  EXPECT_EQ(lines[0], "app.web " + std::to_string(kT) + " {\"n\":0,\"s\":\"x\",\"a\":[1,2.5,null,true]}");
  EXPECT_EQ(lines[4], "app.db " + std::to_string(kT + 4) + " {\"n\":4,\"s\":\"x\",\"a\":[1,2.5,null,true]}");
  out->stop();
}

TEST(ForwardOutputTest, TimeAsIntegerSendsWholeSeconds) {
  ForwardReceiver rx;
  PluginFactory f;
  auto out = f.mustMake<ForwardOutput>(PluginKind::Output, "forward", "time_as_integer true\n" + server(rx.port()));
  FormattedEvents a = formatRange(*out, 0, 1);
  EXPECT_EQ(out->write(ChunkView(a.bytes, a.ends, nullptr)).kind, WriteResult::Kind::Ok);
  ASSERT_TRUE(waitFor([&] { return rx.collector.count() == 1; }));
  EXPECT_EQ(rx.collector.snapshot()[0].substr(0, 28), "app.web 1795309323000000000 ");
}

TEST(ForwardOutputTest, AcknowledgedChunksAreNotEmittedTwiceWhenSentAgain) {
  ForwardReceiver rx;
  PluginFactory f;
  auto out = f.mustMake<ForwardOutput>(PluginKind::Output, "forward",
                                       "require_ack_response true\nack_response_timeout 5\ncompress gzip\n" + server(rx.port()));
  FormattedEvents a = formatRange(*out, 0, 100);
  const std::vector<size_t> ends = {60, 100};
  const std::vector<std::string> ids = {"chunk-a", "chunk-b"};
  ChunkView view(a.bytes, a.ends, nullptr);
  view.chunk_ends = ends;
  view.chunk_ids = ids;
  EXPECT_EQ(out->write(view).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(f.metrics().valueForTest("sluice_output_forward_acked_chunks_total"), 2);
  // The same chunks again (a retry after a lost ack, or a restart): acknowledged, not emitted.
  EXPECT_EQ(out->write(view).kind, WriteResult::Kind::Ok);
  // Chunk b alone, now the first of its write: the same id, so still not emitted again.
  std::vector<uint32_t> b_ends(a.ends.begin() + 60, a.ends.end());
  for (uint32_t& e : b_ends) e -= a.ends[59];
  const std::vector<size_t> b_chunk_ends = {40};
  const std::vector<std::string> b_ids = {"chunk-b"};
  ChunkView b(std::string_view(a.bytes).substr(a.ends[59]), b_ends, nullptr);
  b.chunk_ends = b_chunk_ends;
  b.chunk_ids = b_ids;
  EXPECT_EQ(out->write(b).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(rx.metric("sluice_input_forward_duplicate_chunks_total"), 3);
  EXPECT_EQ(rx.collector.count(), 100u);
}

TEST(ForwardOutputTest, NoAcknowledgementMeansRetryAndTheNodeRests) {
  // A server that reads everything and never answers.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  std::atomic<bool> done{false};
  std::thread silent([&] {
    int c = ::accept(fd, nullptr, nullptr);
    char buf[4096];
    while (!done && ::recv(c, buf, sizeof(buf), 0) > 0) {
    }
    ::close(c);
  });
  PluginFactory f;
  auto out = f.mustMake<ForwardOutput>(PluginKind::Output, "forward",
                                       "require_ack_response true\nack_response_timeout 0.3\nrecover_wait 60\n" +
                                           server(ntohs(a.sin_port)));
  FormattedEvents ev = formatRange(*out, 0, 10);
  WriteResult r = out->write(ChunkView(ev.bytes, ev.ends, nullptr));
  EXPECT_EQ(r.kind, WriteResult::Kind::Retry);
  EXPECT_NE(r.reason.find("no acknowledgement"), std::string::npos) << r.reason;
  EXPECT_EQ(f.metrics().valueForTest("sluice_output_forward_ack_timeouts_total"), 1);
  // The node rests: the next write does not wait for it again.
  r = out->write(ChunkView(ev.bytes, ev.ends, nullptr));
  EXPECT_EQ(r.kind, WriteResult::Kind::Retry);
  EXPECT_EQ(r.reason, "no nodes are available");
  done = true;
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
  silent.join();
}

TEST(ForwardOutputTest, StandbyServerTakesOverWhileTheOtherIsDown) {
  ForwardReceiver standby;
  PluginFactory f;
  auto out = f.mustMake<ForwardOutput>(PluginKind::Output, "forward",
                                       "connect_timeout 2\n" + server(deadPort()) + server(standby.port(), " standby true\n"));
  FormattedEvents ev = formatRange(*out, 0, 4);
  EXPECT_EQ(out->write(ChunkView(ev.bytes, ev.ends, nullptr)).kind, WriteResult::Kind::Ok);
  ASSERT_TRUE(waitFor([&] { return standby.collector.count() == 4; }));
  EXPECT_EQ(f.metrics().valueForTest("sluice_output_forward_node_failures_total"), 1);
}

TEST(ForwardOutputTest, WeightsSpreadChunksOverServers) {
  ForwardReceiver heavy, light;
  PluginFactory f;
  auto out = f.mustMake<ForwardOutput>(PluginKind::Output, "forward",
                                       server(heavy.port(), " weight 90\n") + server(light.port(), " weight 10\n"));
  FormattedEvents ev = formatRange(*out, 0, 1);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(out->write(ChunkView(ev.bytes, ev.ends, nullptr)).kind, WriteResult::Kind::Ok);
  ASSERT_TRUE(waitFor([&] { return heavy.collector.count() + light.collector.count() == 200; }));
  EXPECT_GT(heavy.collector.count(), 150u);
  EXPECT_GT(light.collector.count(), 5u);
}

TEST(ForwardOutputTest, SharedKeyHandshake) {
  ForwardReceiver rx("<security>\n self_hostname aggregator\n shared_key s3cret\n user_auth true\n"
                     " <user>\n  username node\n  password pw\n </user>\n</security>\n");
  PluginFactory f;
  auto good = f.mustMake<ForwardOutput>(PluginKind::Output, "forward",
                                        "<security>\n self_hostname node-1\n shared_key s3cret\n username node\n password pw\n</security>\n" +
                                            server(rx.port()));
  FormattedEvents ev = formatRange(*good, 0, 2);
  EXPECT_EQ(good->write(ChunkView(ev.bytes, ev.ends, nullptr)).kind, WriteResult::Kind::Ok);
  ASSERT_TRUE(waitFor([&] { return rx.collector.count() == 2; }));

  auto wrong_key = f.mustMake<ForwardOutput>(PluginKind::Output, "forward",
                                             "<security>\n self_hostname node-1\n shared_key nope\n username node\n password pw\n</security>\n" +
                                                 server(rx.port()));
  WriteResult r = wrong_key->write(ChunkView(ev.bytes, ev.ends, nullptr));
  EXPECT_EQ(r.kind, WriteResult::Kind::Retry);
  EXPECT_NE(r.reason.find("shared_key mismatch"), std::string::npos) << r.reason;

  auto wrong_password = f.mustMake<ForwardOutput>(
      PluginKind::Output, "forward",
      "<security>\n self_hostname node-1\n shared_key s3cret\n username node\n password bad\n</security>\n" + server(rx.port()));
  r = wrong_password->write(ChunkView(ev.bytes, ev.ends, nullptr));
  EXPECT_NE(r.reason.find("username/password mismatch"), std::string::npos) << r.reason;

  auto same_name = f.mustMake<ForwardOutput>(PluginKind::Output, "forward",
                                             "<security>\n self_hostname aggregator\n shared_key s3cret\n username node\n password pw\n</security>\n" +
                                                 server(rx.port()));
  r = same_name->write(ChunkView(ev.bytes, ev.ends, nullptr));
  EXPECT_NE(r.reason.find("same hostname"), std::string::npos) << r.reason;
  EXPECT_EQ(rx.collector.count(), 2u);
}

TEST(ForwardOutputTest, TlsIsVerifiedAgainstTheGivenCa) {
  TempDir dir;
  testing::TestCa ca(dir.path());
  if (!ca.ok()) GTEST_SKIP() << ca.error();
  ForwardReceiver rx("<transport tls>\n cert_path " + ca.serverCert() + "\n private_key_path " + ca.serverKey() +
                     "\n</transport>\n");
  PluginFactory f;
  auto out = f.mustMake<ForwardOutput>(PluginKind::Output, "forward",
                                       "transport tls\ntls_cert_path " + ca.caCert() + "\nkeepalive true\n" + server(rx.port()));
  FormattedEvents ev = formatRange(*out, 0, 3);
  EXPECT_EQ(out->write(ChunkView(ev.bytes, ev.ends, nullptr)).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(out->write(ChunkView(ev.bytes, ev.ends, nullptr)).kind, WriteResult::Kind::Ok);  // kept alive
  ASSERT_TRUE(waitFor([&] { return rx.collector.count() == 6; }));
  // Without the CA the server's certificate is not trusted.
  auto untrusting = f.mustMake<ForwardOutput>(PluginKind::Output, "forward", "transport tls\n" + server(rx.port()));
  WriteResult r = untrusting->write(ChunkView(ev.bytes, ev.ends, nullptr));
  EXPECT_EQ(r.kind, WriteResult::Kind::Retry);
  EXPECT_NE(r.reason.find("certificate"), std::string::npos) << r.reason;
}

TEST(ForwardOutputTest, UdpHeartbeatsKeepANodeUpAndSilenceTakesItDown) {
  ForwardReceiver rx;
  PluginFactory f;
  auto out = f.mustMake<ForwardOutput>(PluginKind::Output, "forward",
                                       "heartbeat_type udp\nheartbeat_interval 0.05\nphi_failure_detector false\nhard_timeout 2\n" + server(rx.port()) +
                                           server(deadPort()));
  ASSERT_TRUE(out->start().isOk());
  const auto& nodes = out->nodesForTest();
  // The dead node never answers: hard_timeout takes it down; the live one stays up.
  ASSERT_TRUE(waitFor([&] { return !nodes[1]->available(forward_common::monoNs()); }));
  EXPECT_TRUE(nodes[0]->available(forward_common::monoNs()));
  out->stop();
}

TEST(ForwardOutputTest, ConfigErrors) {
  PluginFactory f;
  auto none = f.make(PluginKind::Output, "forward", "");
  ASSERT_FALSE(none.isOk());
  EXPECT_NE(none.status().message().find("at least one <server>"), std::string::npos);
  auto bad_port = f.make(PluginKind::Output, "forward", "<server>\n host h\n port 70000\n</server>\n");
  ASSERT_FALSE(bad_port.isOk());
  auto no_key = f.make(PluginKind::Output, "forward", "<security>\n self_hostname a\n</security>\n<server>\n host h\n</server>\n");
  ASSERT_FALSE(no_key.isOk());
  EXPECT_NE(no_key.status().message().find("shared_key"), std::string::npos) << no_key.status().message();
  // The enums name their allowed values; each spelling binds.
  for (auto [key, allowed] : {std::pair<std::string, std::string>{"heartbeat_type", "transport,tcp,udp,none"},
                              {"transport", "tcp,tls"},
                              {"compress", "text,gzip"}}) {
    auto bad = f.make(PluginKind::Output, "forward", key + " quic\n<server>\n host h\n</server>\n");
    ASSERT_FALSE(bad.isOk()) << key;
    EXPECT_NE(bad.status().message().find("parameter '" + key + "': valid options are " + allowed + " but got 'quic'"),
              std::string::npos)
        << bad.status().message();
  }
  for (const char* heartbeat : {"transport", "tcp", "udp", "none"}) {
    EXPECT_TRUE(f.make(PluginKind::Output, "forward",
                       std::string("heartbeat_type ") + heartbeat + "\n<server>\n host 127.0.0.1\n port 9\n</server>\n")
                    .isOk())
        << heartbeat;
  }
}

}  // namespace
}  // namespace sluice::plugins::out_forward
