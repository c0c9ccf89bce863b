// SPDX-License-Identifier: Apache-2.0
// The syslog input on real sockets (127.0.0.1, a port the system chose): datagrams and TCP
// streams written by the test, util-linux's `logger` where it is installed, a TLS client over
// OpenSSL, and a real buffer that cannot deliver for backpressure.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "plugins/in_syslog/syslog_frames.h"
#include "plugins/in_syslog/syslog_input.h"
#include "support/buffer_support.h"
#include "support/gate_output.h"
#include "support/http_server.h"
#include "support/input_runner.h"
#include "support/test_support.h"

namespace sluice::plugins::in_syslog {
namespace {

using Collector = testing::EventCollector;

// A syslog input tagged `sys` on 127.0.0.1 and a port the system chose.
class Running : public testing::RunningInput<SyslogInput> {
 public:
  Running(std::string_view body, EventSink& sink)
      : RunningInput("syslog", "port 0\nbind 127.0.0.1\ntag sys\n" + std::string(body), sink) {}
};

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void sendUdp(int port, std::string_view datagram) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a = loopback(port);
  ASSERT_EQ(::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)),
            static_cast<ssize_t>(datagram.size()));
  ::close(fd);
}

// A TCP client; closes at destruction.
class Tcp {
 public:
  explicit Tcp(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a = loopback(port);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~Tcp() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }
  // True once the server closed the connection (read returns 0 or an error).
  bool closedByPeer() {
    return testing::waitFor([&] {
      char c;
      ssize_t n = ::recv(fd_, &c, 1, MSG_DONTWAIT);
      return n == 0 || (n < 0 && errno != EAGAIN);
    });
  }

 private:
  int fd_;
  bool connected_ = false;
};

std::string octets(std::string_view msg) { return std::to_string(msg.size()) + " " + std::string(msg); }

TEST(SyslogInputTest, UdpMessagesInBothFormatsAreTaggedByFacilityAndSeverity) {
  Collector sink;
  Running in("message_format auto\nseverity_key severity\nfacility_key facility\nsource_address_key addr", sink);
  sendUdp(in.port(), "<30>Nov 27 21:00:00 web1 nginx[42]: started\n");
  ASSERT_TRUE(sink.waitCount(1));
  sendUdp(in.port(), "<165>1 2026-11-27T21:00:01.5Z mymachine.example.com evntslog - ID47 "
                     "[exampleSDID@32473 iut=\"3\"] An application event");
  ASSERT_TRUE(sink.waitCount(2));
  auto got = sink.lines();
  EXPECT_EQ(got[0], R"(sys.daemon.info {"host":"web1","ident":"nginx","pid":"42","message":"started",)"
                    R"("severity":"info","facility":"daemon","addr":"127.0.0.1"})");
  EXPECT_EQ(got[1], R"(sys.local4.notice {"host":"mymachine.example.com","ident":"evntslog","pid":"-","msgid":"ID47",)"
                    R"("extradata":"[exampleSDID@32473 iut=\"3\"]","message":"An application event",)"
                    R"("severity":"notice","facility":"local4","addr":"127.0.0.1"})");
  EXPECT_EQ(sink.times()[1], 1795813201'500000000);
}

TEST(SyslogInputTest, UdpOversizedAndMalformedDatagramsAreCountedAndSkipped) {
  Collector sink;
  Running in("message_length_limit 100", sink);
  sendUdp(in.port(), "<13>Nov 27 21:00:00 h a: " + std::string(200, 'x'));
  sendUdp(in.port(), "no priority here");
  sendUdp(in.port(), "<999>Nov 27 21:00:00 h a: pri out of range");
  sendUdp(in.port(), "<13>Nov 27 21:00:00 h a: fits");
  ASSERT_TRUE(sink.waitCount(1));
  ASSERT_TRUE(testing::waitFor([&] { return in.metric("sluice_input_errors_total", "parse") == 2; }));
  EXPECT_EQ(in.metric("sluice_input_errors_total", "oversized"), 1u);
  EXPECT_EQ(sink.lines(), std::vector<std::string>{R"(sys.user.notice {"host":"h","ident":"a","message":"fits"})"});
}

TEST(SyslogInputTest, TcpNewlineFramingAcrossWritesSkipsOversizedMessagesAndKeepsTheConnection) {
  Collector sink;
  Running in("<transport tcp>\n</transport>\nmessage_length_limit 64", sink);
  auto c = std::make_unique<Tcp>(in.port());
  ASSERT_TRUE(c->connected());
  c->send("<13>Nov 27 21:00:00 h a: one\n<13>Nov 27 21:00:00 h a: tw");
  c->send("o\r\n\n<13>Nov 27 21:00:00 h a: " + std::string(100, 'x'));
  c->send(std::string(100, 'y') + "\n<13>Nov 27 21:00:00 h a: three\n<13>Nov 27 21:00:00 h a: last without newline");
  ASSERT_TRUE(sink.waitCount(3));
  c.reset();  // the connection ends: its unterminated last line is a message too
  ASSERT_TRUE(sink.waitCount(4));
  auto got = sink.lines();
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], R"(sys.user.notice {"host":"h","ident":"a","message":"one"})");
  EXPECT_EQ(got[1], R"(sys.user.notice {"host":"h","ident":"a","message":"two"})");
  EXPECT_EQ(got[2], R"(sys.user.notice {"host":"h","ident":"a","message":"three"})");
  EXPECT_EQ(got[3], R"(sys.user.notice {"host":"h","ident":"a","message":"last without newline"})");
  EXPECT_EQ(in.metric("sluice_input_errors_total", "oversized"), 1u);
}

TEST(SyslogInputTest, TcpOctetCountingClosesTheConnectionOnABadOrOversizedFrame) {
  Collector sink;
  Running in("<transport tcp>\n</transport>\nframe_type octet_count\nmessage_length_limit 200\n"
             "<parse>\n message_format rfc5424\n</parse>",
             sink);
  const std::string m1 = "<34>1 2026-11-27T21:00:00Z host app 1 - - first\nwith a newline inside";
  const std::string m2 = "<34>1 2026-11-27T21:00:01Z host app 1 - - second";
  {
    Tcp c(in.port());
    std::string frames = octets(m1) + octets(m2);
    c.send(frames.substr(0, 10));
    c.send(frames.substr(10));
    ASSERT_TRUE(sink.waitCount(2));
    c.send("999 " + std::string(999, 'z'));  // over message_length_limit
    EXPECT_TRUE(c.closedByPeer());
  }
  {
    Tcp c(in.port());
    c.send("abc <34>1 - - - - - x");  // not a length
    EXPECT_TRUE(c.closedByPeer());
  }
  {
    Tcp c(in.port());
    c.send(octets(m2));
    ASSERT_TRUE(sink.waitCount(3));
  }
  auto got = sink.lines();
  EXPECT_EQ(got[0], R"(sys.auth.crit {"host":"host","ident":"app","pid":"1","msgid":"-","extradata":"-","message":"first\nwith a newline inside"})");
  EXPECT_EQ(in.metric("sluice_input_errors_total", "oversized"), 1u);
  EXPECT_EQ(in.metric("sluice_input_errors_total", "malformed_frame"), 1u);
  EXPECT_EQ(sink.count(), 3u);
}

TEST(SyslogInputTest, UnparsableMessagesAreCountedOrEmittedAsUnmatched) {
  Collector sink;
  Running in("<transport tcp>\n</transport>\nemit_unmatched_lines true\nsource_hostname_key host_of", sink);
  Tcp c(in.port());
  c.send("<13>not a syslog line at all\n<13>Nov 27 21:00:00 h a: fine\n");
  ASSERT_TRUE(sink.waitCount(2));
  auto got = sink.lines();
  EXPECT_TRUE(got[0].starts_with(R"(sys.unmatched {"unmatched_line":"<13>not a syslog line at all","host_of":")")) << got[0];
  EXPECT_TRUE(got[1].starts_with(R"(sys.user.notice {"host":"h","ident":"a","message":"fine","host_of":")")) << got[1];
  EXPECT_EQ(in.metric("sluice_input_errors_total", "parse"), 1u);
}

TEST(SyslogInputTest, AnotherParserGetsTheMessageAfterItsPriority) {
  Collector sink;
  Running in("<parse>\n @type none\n</parse>", sink);
  sendUdp(in.port(), "<11>free text, any format");
  ASSERT_TRUE(sink.waitCount(1));
  EXPECT_EQ(sink.lines()[0], R"(sys.user.err {"message":"free text, any format"})");
}

// util-linux's logger, the client most systems have: RFC 5424 over UDP, RFC 3164 over UDP,
// RFC 5424 with octet counting over TCP.
TEST(SyslogInputTest, LoggerSendsRfc5424AndRfc3164OverUdpAndTcp) {
  if (::access("/usr/bin/logger", X_OK) != 0) GTEST_SKIP() << "logger (bsdutils) is not installed";
  Collector udp_sink, tcp_sink;
  Running udp("message_format auto", udp_sink);
  Running tcp("<transport tcp>\n</transport>\nframe_type octet_count\nmessage_format rfc5424", tcp_sink);
  auto run = [](const std::string& args) { return std::system(("/usr/bin/logger " + args + " 2>&1").c_str()); };
  const std::string u = " -n 127.0.0.1 -P " + std::to_string(udp.port());
  ASSERT_EQ(run("-d --rfc5424 -p local3.warning -t myapp" + u + " 'hello 5424'"), 0);
  ASSERT_TRUE(udp_sink.waitCount(1));
  ASSERT_EQ(run("-d --rfc3164 -p mail.err -t oldapp" + u + " 'hello 3164'"), 0);
  ASSERT_TRUE(udp_sink.waitCount(2));
  ASSERT_EQ(run("-T --octet-count --rfc5424 -p user.debug -t tcpapp --msgid M1 -n 127.0.0.1 -P " +
                std::to_string(tcp.port()) + " 'hello tcp'"),
            0);
  ASSERT_TRUE(tcp_sink.waitCount(1));
  auto u_got = udp_sink.lines();
  EXPECT_TRUE(u_got[0].starts_with("sys.local3.warn ")) << u_got[0];
  EXPECT_NE(u_got[0].find(R"("ident":"myapp")"), std::string::npos) << u_got[0];
  EXPECT_NE(u_got[0].find(R"("message":"hello 5424")"), std::string::npos) << u_got[0];
  EXPECT_TRUE(u_got[1].starts_with("sys.mail.err ")) << u_got[1];
  EXPECT_NE(u_got[1].find(R"("ident":"oldapp")"), std::string::npos) << u_got[1];
  EXPECT_NE(u_got[1].find(R"("message":"hello 3164")"), std::string::npos) << u_got[1];
  auto t_got = tcp_sink.lines();
  EXPECT_TRUE(t_got[0].starts_with("sys.user.debug ")) << t_got[0];
  EXPECT_NE(t_got[0].find(R"("msgid":"M1")"), std::string::npos) << t_got[0];
  EXPECT_NE(t_got[0].find(R"("message":"hello tcp")"), std::string::npos) << t_got[0];
  EXPECT_EQ(udp_sink.count(), 2u);
  EXPECT_EQ(tcp_sink.count(), 1u);
}

TEST(SyslogInputTest, TlsTransportReceivesFramesAndDropsClientsThatDoNotSpeakTls) {
  testing::TempDir dir;
  testing::TestCa ca(dir.path());
  if (!ca.ok()) GTEST_SKIP() << ca.error();
  Collector sink;
  Running in("<transport tls>\n cert_path " + ca.serverCert() + "\n private_key_path " + ca.serverKey() +
                 "\n</transport>\nframe_type octet_count",
             sink);
  // A plain-text client on the TLS port: the handshake fails, the connection is closed.
  {
    Tcp plain(in.port());
    plain.send(octets("<13>Nov 27 21:00:00 h a: plain") + std::string(600, '\n'));
    EXPECT_TRUE(plain.closedByPeer());
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_EQ(SSL_CTX_load_verify_locations(ctx, ca.caCert().c_str(), nullptr), 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(in.port());
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  ASSERT_EQ(SSL_connect(ssl), 1) << ERR_error_string(ERR_get_error(), nullptr);
  std::string frames;
  for (int i = 0; i < 100; ++i) frames += octets("<14>Nov 27 21:00:00 h a: secure " + std::to_string(i));
  ASSERT_EQ(SSL_write(ssl, frames.data(), static_cast<int>(frames.size())), static_cast<int>(frames.size()));
  ASSERT_TRUE(sink.waitCount(100));
  SSL_shutdown(ssl);
  SSL_free(ssl);
  ::close(fd);
  SSL_CTX_free(ctx);
  auto got = sink.lines();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(got[static_cast<size_t>(i)], "sys.user.info {\"host\":\"h\",\"ident\":\"a\",\"message\":\"secure " + std::to_string(i) + "\"}");
  }
  EXPECT_EQ(in.metric("sluice_input_errors_total", "error_type=\"tls\""), 1u);
}

// While the buffer ahead is full, the input stops reading: the sender is held back by TCP, and
// every message arrives once when the buffer drains.
TEST(SyslogInputTest, TcpSenderIsHeldBackByAFullBufferAndNothingIsLost) {
  testing::GatedBuffer gated(4096, 16384);
  ASSERT_TRUE(gated.buffer.started());
  testing::GateOutput& out = gated.out;
  Running in("<transport tcp>\n</transport>", gated.sink);
  constexpr int kMessages = 400000;  // ~16 MB: more than the sockets hold
  std::atomic<int> sent{0};
  std::thread sender([&] {
    Tcp c(in.port());
    std::string chunk;
    for (int i = 0; i < kMessages; ++i) {
      chunk += "<13>Nov 27 21:00:00 h a: message " + std::to_string(i) + "\n";
      if (chunk.size() > 32768 || i + 1 == kMessages) {
        c.send(chunk);
        chunk.clear();
        sent = i + 1;
      }
    }
  });
  // Held back: the buffer fills up to its limit and the sender cannot finish (16 MB do not fit
  // in the buffer's 16 KiB, and the loopback socket buffers are not what lets it through: the
  // input reads nothing while its emit() blocks).
  ASSERT_TRUE(testing::waitFor([&] { return gated.buffer->storedBytes() + 200 >= 16384; },
                               std::chrono::seconds(30)));
  EXPECT_EQ(out.deliveredCount(), 0u);
  EXPECT_LT(sent.load(), kMessages);
  out.open = true;
  sender.join();
  ASSERT_TRUE(testing::waitFor([&] { return out.deliveredCount() >= kMessages; }, std::chrono::seconds(60)))
      << out.deliveredCount();
  std::lock_guard<std::mutex> lock(out.mu);
  std::vector<int> seen(kMessages, 0);
  for (const std::string& d : out.delivered) {
    size_t at = d.find("message ");
    ASSERT_NE(at, std::string::npos);
    ++seen[static_cast<size_t>(std::stoi(d.substr(at + 8)))];
  }
  for (int i = 0; i < kMessages; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], 1) << i;
}

TEST(SyslogInputTest, ConfigErrors) {
  testing::PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Input, "syslog", "port 1").isOk());  // tag is required
  // The enums name their allowed values.
  for (auto [body, expected] : {std::pair<std::string, std::string>{"tag t\nframe_type lines", "parameter 'frame_type': valid options are traditional,octet_count but got 'lines'"},
                                {"tag t\nprotocol_type sctp", "parameter 'protocol_type': valid options are udp,tcp but got 'sctp'"},
                                {"tag t\n<transport tls>\n cert_path /c\n private_key_path /k\n min_version TLS1_0\n</transport>",
                                 "parameter 'min_version': valid options are TLS1_1,TLS1_2,TLS1_3 but got 'TLS1_0'"}}) {
    auto bad = f.make(PluginKind::Input, "syslog", body);
    ASSERT_FALSE(bad.isOk()) << body;
    EXPECT_NE(bad.status().message().find(expected), std::string::npos) << bad.status().message();
  }
  EXPECT_FALSE(f.make(PluginKind::Input, "syslog", "tag t\n<transport quic>\n</transport>").isOk());
  EXPECT_FALSE(f.make(PluginKind::Input, "syslog", "tag t\nmessage_length_limit 100k").isOk());  // UDP
  EXPECT_TRUE(f.make(PluginKind::Input, "syslog", "tag t\nmessage_length_limit 100k\n<transport tcp>\n</transport>").isOk());
  EXPECT_TRUE(f.make(PluginKind::Input, "syslog", "tag t\npriority_key sev").isOk());  // Fluentd's old name
  auto tls = f.mustMake<SyslogInput>(PluginKind::Input, "syslog",
                                     "tag t\nport 0\n<transport tls>\n cert_path /nonexistent.crt\n private_key_path /x.key\n</transport>");
  Status s = tls->start();
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("/nonexistent.crt"), std::string::npos) << s.message();
}

TEST(SyslogFramesTest, PriorityAndNames) {
  auto p = splitPriority("<165>rest");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pri, 165);
  EXPECT_EQ(p->rest, "rest");
  EXPECT_EQ(facilityName(165), "local4");
  EXPECT_EQ(severityName(165), "notice");
  EXPECT_FALSE(splitPriority("<192>x"));
  EXPECT_FALSE(splitPriority("<1234>x"));
  EXPECT_FALSE(splitPriority("<>x"));
  EXPECT_FALSE(splitPriority("13>x"));
}

TEST(SyslogFramesTest, MultiByteDelimiterSplitAcrossAppends) {
  FrameReader r(FrameType::Traditional, "\r\n\r\n", 100);
  std::string_view m;
  std::string err;
  r.append("a\r\n");
  EXPECT_EQ(r.next(m, err), FrameReader::Result::NeedMore);
  r.append("\r\nb\r");
  ASSERT_EQ(r.next(m, err), FrameReader::Result::Message);
  EXPECT_EQ(m, "a");
  EXPECT_EQ(r.next(m, err), FrameReader::Result::NeedMore);
  r.compact();
  r.append("\n\r\n");
  ASSERT_EQ(r.next(m, err), FrameReader::Result::Message);
  EXPECT_EQ(m, "b");
}

}  // namespace
}  // namespace sluice::plugins::in_syslog
