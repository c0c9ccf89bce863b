// SPDX-License-Identifier: Apache-2.0
// Fluentd's syslog input (syslog_input.h): the parameter table, create() and start() on the
// engine's thread (sockets bound, <transport tls> set up through syslog_tls.cc), and the input's
// own thread: the poll loop of run(), UDP datagrams (recvmmsg), TCP and TLS connections read
// through their FrameReader (syslog_frames.cc), and the batch of each turn parsed and emitted.
// Why one file of ~610 lines: the read path and the per-turn batch share the private
// Connection, Pending and Metrics types defined here; a split needs an internal header for
// them. The seam if it grows: the connection handling (acceptConnections() to
// closeConnection(), ~170 lines) into syslog_tcp.cc, those types into syslog_internal.h.
#include "plugins/in_syslog/syslog_input.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <openssl/err.h>

#include "plugins/in_syslog/syslog_tls.h"

namespace sluice::plugins::in_syslog {
namespace {

using C = SyslogInputConfig;
const std::array<Param<C>, 20> kParams = {{
    {"tag", &C::tag, nullptr, "The tag prefix: events are tagged `<tag>.<facility>.<severity>` (e.g. `system.daemon.info`).", {}, kRequired},
    {"port", &C::port, "5140", "The port to listen to (0: the system chooses; the log says which)."},
    {"bind", &C::bind, "0.0.0.0", "The address to listen on."},
    {"protocol_type", enumMember<&C::protocol_type, kProtocolTypes>(), nullptr, "Deprecated (Fluentd 1.5): use `<transport udp|tcp|tls>`."},
    {"message_length_limit", &C::message_length_limit, "2048", "Longer messages are skipped and counted (UDP, delimited TCP); with octet counting the connection is closed."},
    {"frame_type", enumMember<&C::frame_type, kFrameTypes>(), "traditional", "TCP framing: a delimiter after each message, or RFC 6587 octet counting (`LEN SP MSG`)."},
    {"delimiter", &C::delimiter, "\n", "What ends a message with frame_type traditional (a plain string; CR before it is dropped)."},
    {"message_format", &C::message_format, nullptr, "The default parser's message_format (rfc3164, rfc5424, auto) when there is no <parse>; Fluentd's place for it is inside <parse>.", "rfc3164|rfc5424|auto"},
    {"source_address_key", &C::source_address_key, nullptr, "Add the sender's address under this key."},
    {"source_hostname_key", &C::source_hostname_key, nullptr, "Add the sender's host name (reverse DNS, else its address) under this key."},
    {"severity_key", &C::severity_key, nullptr, "Add the severity name (`info` for <6>) under this key.", {}, 0, "priority_key"},
    {"facility_key", &C::facility_key, nullptr, "Add the facility name (`kern` for <6>) under this key."},
    {"include_source_host", &C::include_source_host, "false", "Deprecated: add the sender's address under source_host_key (use source_address_key)."},
    {"source_host_key", &C::source_host_key, "source_host", "The key of include_source_host."},
    {"emit_unmatched_lines", &C::emit_unmatched_lines, "false", "Emit messages the parser rejects as `{\"unmatched_line\": ...}` tagged `<tag>.unmatched`."},
    {"send_keepalive_packet", &C::send_keepalive_packet, "false", "Enable TCP keepalive on accepted connections."},
    {"max_connections", &C::max_connections, "1024", "TCP connections open at once; more are accepted and closed at once (counted). sluice only."},
    {"resolve_hostname", {}, nullptr, "Host names are resolved when source_hostname_key is set.", {}, kIgnored},
    {"blocking_timeout", {}, nullptr, "Fluentd's event-loop timeout; sluice polls its sockets.", {}, kIgnored},
    {"format", {}, nullptr, "Deprecated in Fluentd: use <parse>.", {}, kIgnored},
}};

using T = SyslogTlsConfig;
const std::array<Param<T>, 9> kTlsParams = {{
    {"cert_path", &T::cert_path, nullptr, "The server certificate chain (PEM).", {}, kRequired},
    {"private_key_path", &T::private_key_path, nullptr, "Its private key (PEM).", {}, kRequired},
    {"private_key_passphrase", &T::private_key_passphrase, nullptr, "The key's passphrase.", {}, kSecret},
    {"ca_path", &T::ca_path, nullptr, "CA certificates (PEM) that client certificates must chain to, with client_cert_auth."},
    {"client_cert_auth", &T::client_cert_auth, "false", "Require a client certificate signed by ca_path."},
    {"min_version", enumMember<&T::min_version, kTlsMinVersions>(), "TLS1_2", "The oldest TLS version accepted."},
    {"ciphers", &T::ciphers, nullptr, "OpenSSL cipher list for TLS 1.2 (default: OpenSSL's)."},
    {"version", {}, nullptr, "Use min_version.", {}, kIgnored},
    {"linger_timeout", {}, nullptr, "Connections close normally.", {}, kIgnored},
}};

constexpr size_t kMaxBatch = 1024;       // messages parsed and emitted together at most
constexpr size_t kTcpReadSize = 64 * 1024;
constexpr size_t kUdpBufferBytes = 4 << 20;

std::string addressText(const sockaddr_storage& sa) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (sa.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(sa).sin_addr, buf, sizeof(buf));
  } else if (sa.ss_family == AF_INET6) {
    const auto& a6 = reinterpret_cast<const sockaddr_in6&>(sa);
    if (IN6_IS_ADDR_V4MAPPED(&a6.sin6_addr)) {
      inet_ntop(AF_INET, &a6.sin6_addr.s6_addr[12], buf, sizeof(buf));
    } else {
      inet_ntop(AF_INET6, &a6.sin6_addr, buf, sizeof(buf));
    }
  }
  return buf;
}

int portOf(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return -1;
  if (sa.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in&>(sa).sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6&>(sa).sin6_port);
}

}  // namespace

struct Connection {
  Connection(int f, std::string addr, FrameType type, const std::string& delimiter, size_t limit)
      : fd(f), address(std::move(addr)), reader(type, delimiter, limit) {}
  ~Connection() {
    if (ssl) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }
  int fd;
  SSL* ssl = nullptr;
  std::string address;
  std::string host;  // resolved once, with source_hostname_key
  FrameReader reader;
  bool want_write = false;  // TLS: OpenSSL waits to write (a handshake)
  bool closing = false;
  std::string close_reason;
};

// The messages of one turn of the loop, parsed and emitted together. Views point into the UDP
// buffer, the connections' readers or the batch's arena until process() clears them.
struct SyslogInput::Pending {
  std::vector<std::string_view> lines;    // what the parser reads
  std::vector<int> pri;                   // -1: the parser reads <PRI>
  std::vector<std::string_view> raw;      // the whole message
  std::vector<std::string_view> address;  // the sender
  std::vector<std::string_view> host;
  std::vector<FrameReader*> touched;      // compacted after the batch is emitted
  std::vector<ParsedRecord> parsed;
  Batch batch;
  // recvmmsg's arrays and datagram buffer, reused from turn to turn.
  std::vector<char> udp_buffer;
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iov;
  std::vector<sockaddr_storage> from;
  void clear() {
    lines.clear();
    pri.clear();
    raw.clear();
    address.clear();
    host.clear();
    batch.clear();
  }
};

struct SyslogInput::Metrics {
  explicit Metrics(PluginMetrics& m)
      : oversized(m.counter("errors_total", "Messages over message_length_limit (skipped, or the connection closed).",
                            {{"error_type", "oversized"}, {"stage", "read"}})),
        bad_frame(m.counter("errors_total", "Connections closed for a malformed frame (octet counting).",
                            {{"error_type", "malformed_frame"}, {"stage", "read"}})),
        unparsed(m.counter("errors_total", "Messages the parser rejected (or without a valid <PRI>).",
                           {{"error_type", "parse"}, {"stage", "parse"}})),
        tls(m.counter("errors_total", "TLS connections closed for a handshake or record error.",
                      {{"error_type", "tls"}, {"stage", "read"}})),
        refused_connections(m.counter("errors_total", "Connections closed at once: max_connections were open.",
                                      {{"error_type", "too_many_connections"}, {"stage", "read"}})),
        not_accepted(m.counter("discarded_records_total", "Events the next stage refused (a full buffer that does not block).",
                               {{"intentional", "false"}})),
        connections(m.pluginCounter("accepted_connections_total", "TCP and TLS connections accepted.")) {}
  Counter& oversized;
  Counter& bad_frame;
  Counter& unparsed;
  Counter& tls;
  Counter& refused_connections;
  Counter& not_accepted;
  Counter& connections;
};

Result<std::unique_ptr<SyslogInput>> SyslogInput::create(const SyslogInputConfig& config, PluginContext& ctx) {
  if (config.port < 0 || config.port > 65535) return Status::invalidConfig("port must be 0-65535");
  if (config.message_length_limit.bytes == 0 || config.message_length_limit.bytes > (64u << 20)) {
    return Status::invalidConfig("message_length_limit must be between 1 byte and 64m");
  }
  if (config.delimiter.empty()) return Status::invalidConfig("delimiter must not be empty");
  if (config.max_connections < 1) return Status::invalidConfig("max_connections must be at least 1");
  Transport transport = config.protocol_type == ProtocolType::Tcp ? Transport::Tcp : Transport::Udp;
  std::optional<SyslogTlsConfig> tls;
  auto transports = ctx.element().children("transport");
  if (transports.size() > 1) return Status::invalidConfig("one <transport> section at most");
  if (!transports.empty()) {
    const config::Element& t = *transports.front();
    if (t.arg == "udp" || t.arg.empty()) {
      transport = Transport::Udp;
    } else if (t.arg == "tcp") {
      transport = Transport::Tcp;
    } else if (t.arg == "tls") {
      transport = Transport::Tls;
      SyslogTlsConfig c;
      if (Status s = ctx.bind(std::span<const Param<T>>(kTlsParams), t, c); !s) return s;
      tls = c;
    } else {
      return Status::invalidConfig("<transport " + t.arg + ">: syslog listens over udp, tcp or tls");
    }
  }
  if (transport == Transport::Udp && config.message_length_limit.bytes > 65535) {
    return Status::invalidConfig("message_length_limit over 65535 bytes cannot apply to UDP datagrams");
  }

  // The parser: <parse> (its @type defaults to syslog, as Fluentd's), else the syslog parser
  // with message_format. The syslog parser with with_priority (its default) reads <PRI>
  // itself; any other parser gets the message after it.
  auto sections = ctx.element().children("parse");
  auto section = std::make_unique<config::Element>();
  if (sections.empty()) {
    section->name = "parse";
    section->where = ctx.element().where;
    section->set("@type", "syslog");
    if (config.message_format) section->set("message_format", *config.message_format);
  } else {
    *section = *sections.front();
    if (!section->get("@type")) section->set("@type", "syslog");
    if (config.message_format && !section->get("message_format") && section->get("@type") == std::optional<std::string>("syslog")) {
      section->set("message_format", *config.message_format);
    }
  }
  const bool reads_priority = section->get("@type") == std::optional<std::string>("syslog") &&
                              section->get("with_priority") != std::optional<std::string>("false");
  auto parser = ctx.createParser(*section);
  if (!parser) return parser.takeStatus();
  return std::unique_ptr<SyslogInput>(new SyslogInput(config, ctx, transport, std::move(tls), std::move(section),
                                                      std::move(*parser), reads_priority));
}

SyslogInput::SyslogInput(const SyslogInputConfig& config, PluginContext& ctx, Transport transport,
                         std::optional<SyslogTlsConfig> tls, std::unique_ptr<config::Element> parse_section,
                         ParserPtr parser, bool parser_reads_priority)
    : config_(config),
      transport_(transport),
      frame_type_(config.frame_type),
      tls_config_(std::move(tls)),
      parse_section_(std::move(parse_section)),
      parser_(std::move(parser)),
      parser_reads_priority_(parser_reads_priority),
      address_key_(config.source_address_key ? config.source_address_key
                   : config.include_source_host ? std::optional<std::string>(config.source_host_key)
                                                : std::nullopt),
      log_(ctx.log()),
      malformed_(log_),
      metrics_(std::make_unique<Metrics>(ctx.metrics())),
      unmatched_tag_(config.tag + ".unmatched") {
  for (int pri = 0; pri < 192; ++pri) {
    tags_[static_cast<size_t>(pri)] =
        config.tag + "." + std::string(facilityName(pri)) + "." + std::string(severityName(pri));
  }
}

SyslogInput::~SyslogInput() {
  connections_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

Status SyslogInput::start() {
  if (transport_ == Transport::Tls) {
    auto tls = TlsServer::create(*tls_config_);
    if (!tls) return tls.takeStatus();
    tls_ = std::move(*tls);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = transport_ == Transport::Udp ? SOCK_DGRAM : SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(config_.port);
  if (int rc = getaddrinfo(config_.bind.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return Status::invalidConfig("bind " + config_.bind + ": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* a = res; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int yes = 1;
    if (transport_ != Transport::Udp) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 ||
        (transport_ != Transport::Udp && ::listen(fd, SOMAXCONN) != 0)) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    listen_fd_ = fd;
  }
  freeaddrinfo(res);
  if (listen_fd_ < 0) return Status::ioError("cannot listen on " + config_.bind + ":" + port + ": " + last_error);
  bound_port_ = portOf(listen_fd_);
  static constexpr const char* kNames[] = {"udp", "tcp", "tls"};
  log_.info("Listening on " + config_.bind + ":" + std::to_string(bound_port_) + " (" +
            kNames[static_cast<int>(transport_)] + ")");
  return Status::ok();
}

std::string_view SyslogInput::hostnameOf(const std::string& address) {
  for (const auto& [addr, name] : hostnames_) {
    if (addr == address) return name;
  }
  sockaddr_storage sa{};
  socklen_t len = 0;
  if (inet_pton(AF_INET, address.c_str(), &reinterpret_cast<sockaddr_in&>(sa).sin_addr) == 1) {
    sa.ss_family = AF_INET;
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &reinterpret_cast<sockaddr_in6&>(sa).sin6_addr) == 1) {
    sa.ss_family = AF_INET6;
    len = sizeof(sockaddr_in6);
  }
  char host[NI_MAXHOST] = {0};
  std::string name = address;
  if (len != 0 && getnameinfo(reinterpret_cast<sockaddr*>(&sa), len, host, sizeof(host), nullptr, 0, NI_NAMEREQD) == 0) {
    name = host;
  }
  if (hostnames_.size() >= 256) hostnames_.erase(hostnames_.begin());
  hostnames_.emplace_back(address, std::move(name));
  return hostnames_.back().second;
}

void SyslogInput::addMessage(Pending& p, std::string_view message, std::string_view address, std::string_view host) {
  p.raw.push_back(message);
  p.address.push_back(address);
  p.host.push_back(host);
  if (parser_reads_priority_) {
    p.lines.push_back(message);
    p.pri.push_back(-1);
    return;
  }
  auto split = splitPriority(message);
  p.lines.push_back(split ? split->rest : message);
  p.pri.push_back(split ? split->pri : -2);  // -2: no valid <PRI>
}

void SyslogInput::readUdp(Pending& p) {
  const size_t slot = config_.message_length_limit.bytes + 1;  // one more: a longer datagram shows
  const size_t slots = std::max<size_t>(1, std::min<size_t>(256, kUdpBufferBytes / slot));
  if (p.udp_buffer.size() != slot * slots) p.udp_buffer.resize(slot * slots);
  std::vector<mmsghdr>& msgs = p.msgs;
  std::vector<iovec>& iov = p.iov;
  std::vector<sockaddr_storage>& from = p.from;
  msgs.resize(slots);
  iov.resize(slots);
  from.resize(slots);
  for (size_t i = 0; i < slots; ++i) {
    iov[i] = {p.udp_buffer.data() + i * slot, slot};
    msgs[i].msg_hdr = msghdr{};
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = ::recvmmsg(listen_fd_, msgs.data(), static_cast<unsigned>(slots), MSG_DONTWAIT, nullptr);
  if (n <= 0) return;
  Arena& arena = p.batch.arena();
  const sockaddr_storage* last = nullptr;  // the previous datagram's sender
  std::string_view addr_view, host_view;
  for (int i = 0; i < n; ++i) {
    const size_t len = msgs[static_cast<size_t>(i)].msg_len;
    if ((msgs[static_cast<size_t>(i)].msg_hdr.msg_flags & MSG_TRUNC) || len > config_.message_length_limit.bytes) {
      metrics_->oversized.add();
      log_.warn("Skipped a UDP datagram over message_length_limit (" +
                std::to_string(config_.message_length_limit.bytes) + " bytes).");
      continue;
    }
    std::string_view message = chompMessage(std::string_view(p.udp_buffer.data() + static_cast<size_t>(i) * slot, len));
    if (message.empty()) continue;
    if (address_key_ || config_.source_hostname_key) {
      const sockaddr_storage& sa = from[static_cast<size_t>(i)];
      if (last == nullptr || std::memcmp(last, &sa, sizeof(sa)) != 0) {
        last = &sa;
        std::string a = addressText(sa);
        addr_view = arena.copy(a);
        host_view = config_.source_hostname_key ? arena.copy(hostnameOf(a)) : std::string_view();
      }
    }
    addMessage(p, message, addr_view, host_view);
  }
}

void SyslogInput::acceptConnections() {
  for (;;) {
    sockaddr_storage sa{};
    socklen_t len = sizeof(sa);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error: poll says when to try again
    if (connections_.size() >= static_cast<size_t>(config_.max_connections)) {
      metrics_->refused_connections.add();
      log_.warn("Closed a new connection: max_connections (" + std::to_string(config_.max_connections) +
                ") are open.");
      ::close(fd);
      continue;
    }
    if (config_.send_keepalive_packet) {
      int yes = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof(yes));
    }
    auto c = std::make_unique<Connection>(fd, addressText(sa), frame_type_, config_.delimiter,
                                          config_.message_length_limit.bytes);
    if (config_.source_hostname_key) c->host = std::string(hostnameOf(c->address));
    if (tls_) {
      c->ssl = tls_->wrap(fd);
      if (c->ssl == nullptr) {
        metrics_->tls.add();
        log_.warn("Closed a TLS connection from " + c->address + ": " + takeSslErrors("SSL_new failed"));
        continue;
      }
    }
    metrics_->connections.add();
    connections_.push_back(std::move(c));
  }
}

bool SyslogInput::readConnection(Connection& c, Pending& p) {
  if (c.ssl == nullptr) {
    char* space = c.reader.writeSpace(kTcpReadSize);
    ssize_t n = ::read(c.fd, space, kTcpReadSize);
    c.reader.commit(n > 0 ? static_cast<size_t>(n) : 0);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return true;
      c.close_reason = std::string("read: ") + std::strerror(errno);
      return false;
    }
    takeMessages(c, p, false);
    return !c.closing;
  }
  // TLS: read until OpenSSL has nothing buffered (poll cannot see what it holds).
  c.want_write = false;
  for (size_t total = 0; total < 4 * kTcpReadSize;) {
    ERR_clear_error();
    char* space = c.reader.writeSpace(16 * 1024);
    int n = SSL_read(c.ssl, space, 16 * 1024);
    c.reader.commit(n > 0 ? static_cast<size_t>(n) : 0);
    if (n > 0) {
      total += static_cast<size_t>(n);
      continue;
    }
    int err = SSL_get_error(c.ssl, n);
    if (err == SSL_ERROR_WANT_READ) break;
    if (err == SSL_ERROR_WANT_WRITE) {
      c.want_write = true;
      break;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      takeMessages(c, p, false);
      return false;
    }
    metrics_->tls.add();
    c.close_reason = "TLS: " + takeSslErrors(err == SSL_ERROR_SYSCALL ? "connection reset" : "protocol error");
    takeMessages(c, p, false);
    return false;
  }
  takeMessages(c, p, false);
  return !c.closing;
}

void SyslogInput::takeMessages(Connection& c, Pending& p, bool at_end) {
  std::string_view msg;
  std::string error;
  bool took = false;
  for (;;) {
    FrameReader::Result r = at_end ? c.reader.finish(msg, error) : c.reader.next(msg, error);
    if (r == FrameReader::Result::NeedMore) break;
    if (r == FrameReader::Result::Skipped) {
      metrics_->oversized.add();
      log_.warn("Connection from " + c.address + ": " + error + ".");
      if (at_end) break;
      continue;
    }
    if (r == FrameReader::Result::Fatal) {
      if (error.find("message_length_limit") != std::string::npos) {
        metrics_->oversized.add();
      } else {
        metrics_->bad_frame.add();
      }
      c.closing = true;
      c.close_reason = error;
      break;
    }
    took = true;
    addMessage(p, msg, c.address, c.host);
    if (at_end) break;
  }
  if (took || at_end) p.touched.push_back(&c.reader);
}

void SyslogInput::process(Pending& p, EventSink& out) {
  const size_t n = p.lines.size();
  if (n > 0) {
    if (p.parsed.size() < n) p.parsed.resize(n);
    std::fill(p.parsed.begin(), p.parsed.begin() + static_cast<ptrdiff_t>(n), ParsedRecord{});
    Arena& arena = p.batch.arena();
    parser_->parse(LineBatch{p.lines, false, nullptr, 0}, arena, std::span(p.parsed.data(), n));
    const int64_t now = nowNs();
    uint64_t bad = 0;
    for (size_t i = 0; i < n; ++i) {
      ParsedRecord& r = p.parsed[i];
      int pri = p.pri[i];
      std::string_view error = r.error;
      if (pri == -2) {
        error = "no valid <PRI> at the start";
      } else if (r.ok() && pri == -1) {
        Value* v = r.record.find("pri");
        if (v == nullptr || !v->isInt() || v->asInt() < 0 || v->asInt() > 191) {
          error = "<PRI> out of range (0-191)";
        } else {
          pri = static_cast<int>(v->asInt());
          r.record.removeMember("pri");
        }
      } else if (!r.ok() && error.empty()) {
        error = "not a complete message";
      }
      Value record = r.record;
      std::string_view tag;
      bool unmatched = false;
      if (!error.empty() || !r.ok()) {
        ++bad;
        malformed_.report("source=syslog", p.raw[i], error);
        if (!config_.emit_unmatched_lines) continue;
        record = Value::emptyObject();
        record.setMember("unmatched_line", Value::string(p.raw[i]), arena);
        tag = unmatched_tag_;
        unmatched = true;
      } else {
        tag = tags_[static_cast<size_t>(pri)];
        if (config_.severity_key) record.setMember(*config_.severity_key, Value::string(severityName(pri)), arena);
        if (config_.facility_key) record.setMember(*config_.facility_key, Value::string(facilityName(pri)), arena);
      }
      if (address_key_) record.setMember(*address_key_, Value::string(p.address[i]), arena);
      if (config_.source_hostname_key) record.setMember(*config_.source_hostname_key, Value::string(p.host[i]), arena);
      p.batch.add(tag, r.has_time && !unmatched ? r.time_ns : now, record);
    }
    if (bad) metrics_->unparsed.add(bad);
    if (!p.batch.empty()) {
      Status s = out.emit(p.batch);
      if (!s) {
        // overflow_action throw_exception (or a stop): syslog has no way to ask a sender again.
        metrics_->not_accepted.add(p.batch.size());
        log_.error("Events not accepted downstream, dropped: " + s.message());
      }
    }
  }
  p.clear();
  for (FrameReader* r : p.touched) r->compact();
  p.touched.clear();
}

void SyslogInput::closeConnection(size_t index, std::string_view why) {
  Connection& c = *connections_[index];
  if (!why.empty()) log_.warn("Closed the connection from " + c.address + ": " + std::string(why) + ".");
  connections_.erase(connections_.begin() + static_cast<ptrdiff_t>(index));
}

Status SyslogInput::run(EventSink& out, const StopToken& stop) {
  if (listen_fd_ < 0) return Status::internal("run() before start()");
  Pending p;
  std::vector<pollfd> fds;
  bool tls_pending = false;
  while (!stop.stopRequested()) {
    fds.clear();
    fds.push_back({stop.fd(), POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const auto& c : connections_) {
      fds.push_back({c->fd, static_cast<short>(POLLIN | (c->want_write ? POLLOUT : 0)), 0});
    }
    int rc = ::poll(fds.data(), fds.size(), tls_pending ? 0 : 1000);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Status::ioError(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents & POLLIN) break;
    tls_pending = false;
    if (transport_ == Transport::Udp) {
      if (fds[1].revents & POLLIN) readUdp(p);
    } else {
      for (size_t i = 0; i < connections_.size(); ++i) {
        Connection& c = *connections_[i];
        const bool ready = fds[2 + i].revents != 0 || (c.ssl && SSL_pending(c.ssl) > 0);
        if (!ready || c.closing) continue;
        if (!readConnection(c, p)) {
          if (!c.closing) takeMessages(c, p, true);  // the end of the stream ends its last message
          c.closing = true;
        }
        if (c.ssl && !c.closing && SSL_pending(c.ssl) > 0) tls_pending = true;
        if (p.lines.size() >= kMaxBatch) process(p, out);
      }
      process(p, out);  // before closing: the messages point into the connections' buffers
      for (size_t i = connections_.size(); i-- > 0;) {
        if (connections_[i]->closing) {
          if (!connections_[i]->close_reason.empty() && connections_[i]->close_reason != "end") {
            closeConnection(i, connections_[i]->close_reason);
          } else {
            closeConnection(i, "");
          }
        }
      }
      if (fds[1].revents & POLLIN) acceptConnections();
    }
    process(p, out);
  }
  process(p, out);
  connections_.clear();
  ::close(listen_fd_);
  listen_fd_ = -1;
  return Status::ok();
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<SyslogInput>(
      PluginKind::Input, "syslog",
      "Fluentd's in_syslog: RFC 3164 and RFC 5424 messages over UDP, TCP or TLS, tagged "
      "<tag>.<facility>.<severity>.",
      kParams,
      {{"parse", "The parser (default @type syslog; message_format, with_priority and time settings go here). "
                 "A parser other than syslog gets the message after its <PRI>.", {}},
       {"transport", "`<transport udp>` (default), `<transport tcp>` or `<transport tls>` with these parameters.",
        describeParams(std::span<const Param<T>>(kTlsParams))}});
  return kDescriptor;
}

}  // namespace sluice::plugins::in_syslog
