// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_forward/forward_input.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::plugins::in_forward {
namespace {

using forward_common::bytesOf;
using forward_common::Conn;
using forward_common::Packer;
using forward_common::sha512Hex;
using forward_common::StringSink;
using C = ForwardInputConfig;

const std::array<Param<C>, 16> kParams = {{
    {"port", &C::port, "24224", "TCP port to listen on (and UDP, for heartbeats); 0 lets the system choose."},
    {"bind", &C::bind, "0.0.0.0", "Address to listen on."},
    {"tag", &C::tag, nullptr, "Replaces the tag of every event received."},
    {"add_tag_prefix", &C::add_tag_prefix, nullptr, "Puts `prefix.` before the tag of every event received."},
    {"linger_timeout", &C::linger_timeout, "0", "SO_LINGER seconds when a connection is closed."},
    {"resolve_hostname", &C::resolve_hostname, nullptr, "Look up the client's host name (default: when source_hostname_key is set)."},
    {"deny_keepalive", &C::deny_keepalive, "false", "Close each connection after its first message (and say so in HELO)."},
    {"send_keepalive_packet", &C::send_keepalive_packet, "false", "Accepted for Fluentd compatibility: TCP keepalive is not set.", {}, kIgnored},
    {"chunk_size_limit", &C::chunk_size_limit, "32m", "Largest message accepted; a larger one is an error and its connection is closed (Fluentd: no limit). CompressedPackedForward entries may decompress to 4 times this."},
    {"chunk_size_warn_limit", &C::chunk_size_warn_limit, nullptr, "Messages larger than this are logged with a warning."},
    {"skip_invalid_event", &C::skip_invalid_event, "true", "Skip events whose time is not an integer or EventTime or whose record is not a map (logged); false: refuse the whole message and close the connection."},
    {"source_address_key", &C::source_address_key, nullptr, "Adds the client's IP address to each record under this key."},
    {"source_hostname_key", &C::source_hostname_key, nullptr, "Adds the client's host name to each record under this key."},
    {"backlog", &C::backlog, "1024", "listen() backlog."},
    {"chunk_id_memory", &C::chunk_id_memory, "65536", "How many recent chunk ids are remembered: a chunk sent again is acknowledged without being emitted twice."},
    {"chunk_id_path", &C::chunk_id_path, nullptr, "File that keeps the remembered chunk ids across restarts (sluice only; recommended with a file buffer)."},
}};

const std::array<Param<TransportConfig>, 8> kTransportParams = {{
    {"cert_path", &TransportConfig::cert_path, nullptr, "Server certificate (PEM).", {}, kRequired},
    {"private_key_path", &TransportConfig::private_key_path, "", "Its key (default: in cert_path)."},
    {"private_key_passphrase", &TransportConfig::private_key_passphrase, "", "Passphrase of the key.", {}, kSecret},
    {"ca_path", &TransportConfig::ca_path, "", "CA of client certificates (client_cert_auth)."},
    {"client_cert_auth", &TransportConfig::client_cert_auth, "false", "Require a client certificate signed by ca_path."},
    {"version", enumMember<&TransportConfig::version, forward_common::kTlsVersions>(), "TLSv1_2", "Lowest TLS version."},
    {"ciphers", &TransportConfig::ciphers, "", "OpenSSL cipher list for TLS 1.2 (empty: OpenSSL's default)."},
    {"insecure", &TransportConfig::insecure, "false", "Accepted for Fluentd compatibility.", {}, kIgnored},
}};

const std::array<Param<SecurityConfig>, 4> kSecurityParams = {{
    {"self_hostname", &SecurityConfig::self_hostname, nullptr, "This server's name in the handshake.", {}, kRequired},
    {"shared_key", &SecurityConfig::shared_key, nullptr, "Key shared with clients.", {}, kRequired | kSecret},
    {"user_auth", &SecurityConfig::user_auth, "false", "Also require a <user>'s name and password."},
    {"allow_anonymous_source", &SecurityConfig::allow_anonymous_source, "true", "Accept clients no <client> section names."},
}};

const std::array<Param<UserConfig>, 2> kUserParams = {{
    {"username", &UserConfig::username, nullptr, "User name.", {}, kRequired},
    {"password", &UserConfig::password, nullptr, "Password.", {}, kRequired | kSecret},
}};

const std::array<Param<ClientConfig>, 4> kClientParams = {{
    {"host", &ClientConfig::host, nullptr, "The client's IP address."},
    {"network", &ClientConfig::network, nullptr, "The client's network (CIDR, IPv4)."},
    {"shared_key", &ClientConfig::shared_key, nullptr, "This client's shared key (default: <security>'s).", {}, kSecret},
    {"users", &ClientConfig::users, "", "Users allowed from this client (default: all)."},
}};

}  // namespace

struct ForwardInput::Client {
  ClientConfig config;
  uint32_t net = 0, mask = 0;  // network, IPv4
  bool has_network = false;
};

struct ForwardInput::Connection {
  enum class State { Tls, WaitPing, Established };
  forward_common::ConnPtr conn;
  std::unique_ptr<StreamDecoder> decoder;
  DecodeOptions options;  // the input's, with this client's address and name
  State state = State::Tls;
  std::string nonce, auth_salt;
  bool close_after_write = false;
};

Result<std::unique_ptr<ForwardInput>> ForwardInput::create(const ForwardInputConfig& config, PluginContext& ctx) {
  if (config.port < 0 || config.port > 65535) return Status::invalidConfig("port must be 0-65535");
  if (config.chunk_id_memory < 0) return Status::invalidConfig("chunk_id_memory must be 0 or more");
  if (config.chunk_size_limit.bytes < 1024) return Status::invalidConfig("chunk_size_limit must be at least 1k");
  auto in = std::unique_ptr<ForwardInput>(new ForwardInput(config, ctx));
  DecodeOptions& d = in->decode_;
  d.tag = config.tag.value_or("");
  d.add_tag_prefix = config.add_tag_prefix.value_or("");
  d.skip_invalid_event = config.skip_invalid_event;
  d.chunk_size_limit = config.chunk_size_limit.bytes;
  d.decompressed_limit = config.chunk_size_limit.bytes * 4;
  d.source_address_key = config.source_address_key.value_or("");
  d.source_hostname_key = config.source_hostname_key.value_or("");
  if (config.chunk_size_warn_limit) {
    auto w = config::parseSize(*config.chunk_size_warn_limit);
    if (!w) return w.status().withPrefix("chunk_size_warn_limit: ");
    in->warn_limit_ = *w;
  }
  in->resolve_hostname_ = !d.source_hostname_key.empty();
  if (config.resolve_hostname) {
    auto b = config::parseBool(*config.resolve_hostname);
    if (!b) return b.status().withPrefix("resolve_hostname: ");
    in->resolve_hostname_ = *b;
    if (!*b && !d.source_hostname_key.empty()) {
      return Status::invalidConfig("resolve_hostname false conflicts with source_hostname_key");
    }
  }
  for (const config::Element* t : ctx.element().children("transport")) {
    if (t->arg == "tcp" || t->arg.empty()) continue;
    if (t->arg != "tls") return Status::invalidConfig(t->where.str() + ": <transport " + t->arg + ">: tcp or tls");
    TransportConfig tc;
    Status s = ctx.bind(std::span<const Param<TransportConfig>>(kTransportParams), *t, tc);
    if (!s) return s.withPrefix("<transport tls>: ");
    forward_common::TlsOptions o;
    o.cert_path = tc.cert_path;
    o.private_key_path = tc.private_key_path;
    o.private_key_passphrase = tc.private_key_passphrase;
    o.ca_path = tc.ca_path;
    o.verify = tc.client_cert_auth;
    o.min_version = tc.version;
    o.ciphers = tc.ciphers;
    auto tls = forward_common::TlsContext::server(o);
    if (!tls) return tls.takeStatus().withPrefix("<transport tls>: ");
    in->tls_ = std::move(*tls);
  }
  auto security = ctx.element().children("security");
  if (security.size() > 1) return Status::invalidConfig("in_forward takes one <security> section");
  if (!security.empty()) {
    const config::Element& sec = *security.front();
    Status s = ctx.bind(std::span<const Param<SecurityConfig>>(kSecurityParams), sec, in->security_config_);
    if (!s) return s.withPrefix("<security>: ");
    in->security_ = true;
    for (const config::Element* u : sec.children("user")) {
      UserConfig uc;
      s = ctx.bind(std::span<const Param<UserConfig>>(kUserParams), *u, uc);
      if (!s) return s.withPrefix("<user>: ");
      in->users_.push_back(std::move(uc));
    }
    if (in->security_config_.user_auth && in->users_.empty()) {
      return Status::invalidConfig("<security> user_auth needs at least one <user>");
    }
    for (const config::Element* c : sec.children("client")) {
      auto client = std::make_unique<Client>();
      s = ctx.bind(std::span<const Param<ClientConfig>>(kClientParams), *c, client->config);
      if (!s) return s.withPrefix("<client>: ");
      if (client->config.host.has_value() == client->config.network.has_value()) {
        return Status::invalidConfig(c->where.str() + ": <client> needs one of host or network");
      }
      if (client->config.network) {
        const std::string& n = *client->config.network;
        size_t slash = n.find('/');
        in_addr a{};
        int bits = slash == std::string::npos ? 32 : std::atoi(n.c_str() + slash + 1);
        if (::inet_pton(AF_INET, n.substr(0, slash).c_str(), &a) != 1 || bits < 0 || bits > 32) {
          return Status::invalidConfig(c->where.str() + ": <client> network " + n + ": an IPv4 CIDR (10.0.0.0/8)");
        }
        client->mask = bits == 0 ? 0 : ~uint32_t(0) << (32 - bits);
        client->net = ntohl(a.s_addr) & client->mask;
        client->has_network = true;
      }
      in->clients_.push_back(std::move(client));
    }
  }
  if (config.chunk_id_path) {
    Status s = in->chunk_ids_.open(*config.chunk_id_path);
    if (!s) return s;
  }
  return in;
}

ForwardInput::ForwardInput(const ForwardInputConfig& config, PluginContext& ctx)
    : cfg_(config),
      log_(ctx.log()),
      chunk_ids_(static_cast<size_t>(config.chunk_id_memory)),
      received_(ctx.metrics().pluginCounter("messages_total", "Forward messages received.")),
      invalid_(ctx.metrics().counter("discarded_records_total", "Invalid events skipped (skip_invalid_event).",
                                     {{"intentional", "false"}})),
      errors_(ctx.metrics().counter("errors_total", "Connections closed for malformed or oversized input.",
                                    {{"error_type", "protocol"}, {"stage", "read"}})),
      duplicates_(ctx.metrics().pluginCounter("duplicate_chunks_total",
                                              "Chunks received again and acknowledged without emitting them twice.")),
      acks_(ctx.metrics().pluginCounter("acks_total", "Chunk ids acknowledged.")) {}

ForwardInput::~ForwardInput() { stop(); }

Status ForwardInput::start() {
  if (listen_fd_ >= 0) return Status::ok();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string where = cfg_.bind + ":" + std::to_string(cfg_.port);
  if (::getaddrinfo(cfg_.bind.c_str(), std::to_string(cfg_.port).c_str(), &hints, &res) != 0 || res == nullptr) {
    return Status::invalidConfig("bind " + cfg_.bind + ": not an IP address");
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (fd < 0 || ::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, static_cast<int>(cfg_.backlog)) != 0) {
    std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    ::freeaddrinfo(res);
    return Status::ioError("cannot listen on " + where + ": " + why);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                  : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listen_fd_ = fd;
  // Heartbeats (out_forward heartbeat_type udp) on the same port number.
  udp_fd_ = ::socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (res->ai_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&bound)->sin6_addr = reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr;
  } else {
    reinterpret_cast<sockaddr_in*>(&bound)->sin_addr = reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr;
  }
  if (udp_fd_ >= 0 && ::bind(udp_fd_, reinterpret_cast<sockaddr*>(&bound), len) != 0) {
    log_.warn("Cannot listen for UDP heartbeats on port " + std::to_string(bound_port_) + ": " + std::strerror(errno));
    ::close(udp_fd_);
    udp_fd_ = -1;
  }
  ::freeaddrinfo(res);
  log_.info("Listening on " + cfg_.bind + ":" + std::to_string(bound_port_) + (tls_ ? " (TLS)" : ""));
  return Status::ok();
}

void ForwardInput::stop() {
  conns_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (udp_fd_ >= 0) ::close(udp_fd_);
  listen_fd_ = udp_fd_ = -1;
}

const ForwardInput::Client* ForwardInput::clientFor(const std::string& address) const {
  in_addr a{};
  const bool v4 = ::inet_pton(AF_INET, address.c_str(), &a) == 1;
  for (const auto& c : clients_) {
    if (c->config.host && *c->config.host == address) return c.get();
    if (c->has_network && v4 && (ntohl(a.s_addr) & c->mask) == c->net) return c.get();
  }
  return nullptr;
}

void ForwardInput::accept() {
  while (true) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    char host[NI_MAXHOST] = "";
    ::getnameinfo(reinterpret_cast<sockaddr*>(&peer), len, host, sizeof(host), nullptr, 0, NI_NUMERICHOST);
    auto c = std::make_unique<Connection>();
    c->conn = Conn::accepted(fd, tls_.get(), host);
    if (cfg_.linger_timeout.seconds > 0) c->conn->setLinger(static_cast<int>(cfg_.linger_timeout.seconds));
    c->options = decode_;
    c->options.source_address = host;
    if (resolve_hostname_) {
      char name[NI_MAXHOST] = "";
      if (::getnameinfo(reinterpret_cast<sockaddr*>(&peer), len, name, sizeof(name), nullptr, 0, NI_NAMEREQD) == 0) {
        c->options.source_hostname = name;
      } else {
        c->options.source_hostname = host;
      }
    }
    c->decoder = std::make_unique<StreamDecoder>(c->options);
    c->state = Connection::State::Tls;
    if (c->conn->handshake()) {
      c->state = security_ ? Connection::State::WaitPing : Connection::State::Established;
      if (security_) sendHelo(*c);
    }
    conns_.push_back(std::move(c));
  }
}

void ForwardInput::answerHeartbeats() {
  char b[64];
  sockaddr_storage from{};
  socklen_t len = sizeof(from);
  while (::recvfrom(udp_fd_, b, sizeof(b), 0, reinterpret_cast<sockaddr*>(&from), &len) >= 0) {
    ::sendto(udp_fd_, "\0", 1, 0, reinterpret_cast<sockaddr*>(&from), len);
    len = sizeof(from);
  }
}

void ForwardInput::sendHelo(Connection& c) {
  c.nonce = forward_common::randomBytes(16);
  c.auth_salt = security_config_.user_auth ? forward_common::randomBytes(16) : "";
  std::string helo;
  StringSink sink{&helo};
  Packer pk(sink);
  pk.pack_array(2);
  pk.pack(std::string_view("HELO"));
  pk.pack_map(3);
  pk.pack(std::string_view("nonce"));
  pk.pack_bin(static_cast<uint32_t>(c.nonce.size()));
  pk.pack_bin_body(c.nonce.data(), static_cast<uint32_t>(c.nonce.size()));
  pk.pack(std::string_view("auth"));
  pk.pack_bin(static_cast<uint32_t>(c.auth_salt.size()));
  pk.pack_bin_body(c.auth_salt.data(), static_cast<uint32_t>(c.auth_salt.size()));
  pk.pack(std::string_view("keepalive"));
  pk.pack(!cfg_.deny_keepalive);
  Status s = c.conn->writeAll(helo, forward_common::monoNs() + 5'000'000'000);
  if (!s) c.close_after_write = true;
}

// The server's half of the handshake: checks PING's shared-key digest (and the user's), answers
// PONG with its own digest, or with the reason and a closed connection.
bool ForwardInput::handlePing(Connection& c, const msgpack::object& ping) {
  std::string reason;
  std::string_view hostname, salt, digest, username, password_digest;
  const Client* client = clientFor(c.conn->peerAddress());
  const std::string& shared_key = client && client->config.shared_key ? *client->config.shared_key : security_config_.shared_key;
  if (ping.type != msgpack::type::ARRAY || ping.via.array.size != 6 || bytesOf(ping.via.array.ptr[0]) != "PING") {
    reason = "invalid ping message";
  } else {
    hostname = bytesOf(ping.via.array.ptr[1]).value_or("");
    salt = bytesOf(ping.via.array.ptr[2]).value_or("");
    digest = bytesOf(ping.via.array.ptr[3]).value_or("");
    username = bytesOf(ping.via.array.ptr[4]).value_or("");
    password_digest = bytesOf(ping.via.array.ptr[5]).value_or("");
    if (client == nullptr && !security_config_.allow_anonymous_source) {
      reason = "anonymous source host '" + c.conn->peerAddress() + "' denied";
    } else if (digest != sha512Hex({salt, hostname, c.nonce, shared_key})) {
      reason = "shared_key mismatch";
    } else if (security_config_.user_auth) {
      bool ok = false;
      for (const UserConfig& u : users_) {
        if (u.username != username) continue;
        ok = password_digest == sha512Hex({c.auth_salt, u.username, u.password});
      }
      if (ok && client != nullptr && !client->config.users.empty()) {
        ok = std::find(client->config.users.begin(), client->config.users.end(), username) != client->config.users.end();
      }
      if (!ok) reason = "username/password mismatch";
    }
  }
  std::string pong;
  StringSink sink{&pong};
  Packer pk(sink);
  pk.pack_array(5);
  pk.pack(std::string_view("PONG"));
  pk.pack(reason.empty());
  pk.pack(reason);
  pk.pack(security_config_.self_hostname);
  pk.pack(reason.empty() ? sha512Hex({salt, security_config_.self_hostname, c.nonce, shared_key}) : std::string());
  Status s = c.conn->writeAll(pong, forward_common::monoNs() + 5'000'000'000);
  if (!reason.empty()) {
    log_.warn("Handshake refused: " + reason + " (client " + c.conn->peerAddress() + ", hostname '" +
              std::string(hostname) + "')");
    return false;
  }
  return s.isOk();
}

bool ForwardInput::serve(Connection& c, EventSink& out) {
  if (c.state == Connection::State::Tls) {
    if (!c.conn->handshake()) {
      if (c.conn->handshakeFailed()) {
        log_.warn("TLS handshake with " + c.conn->peerAddress() + " failed: " + c.conn->error());
        return false;
      }
      return true;
    }
    c.state = security_ ? Connection::State::WaitPing : Connection::State::Established;
    if (security_) sendHelo(c);
    if (c.close_after_write) return false;
  }
  StreamDecoder& d = *c.decoder;
  for (int reads = 0; reads < 16; ++reads) {  // then let other connections have a turn
    ssize_t n = c.conn->readSome(d.reserve(256 * 1024), 256 * 1024);
    if (n == Conn::kWouldBlock) break;
    if (n == Conn::kError) {
      log_.warn("Read from " + c.conn->peerAddress() + " failed: " + c.conn->error());
      return false;
    }
    if (n == 0) return false;  // closed by the client (any partial message is dropped unacked)
    d.consumed(static_cast<size_t>(n));
    while (true) {
      StreamDecoder::Next next = d.next();
      if (next == StreamDecoder::Next::NeedMore) break;
      if (next == StreamDecoder::Next::Error) {
        errors_.add(1);
        log_.error("Closing the connection from " + c.conn->peerAddress() + ": " + d.error());
        return false;
      }
      if (c.state == Connection::State::WaitPing) {
        if (!handlePing(c, d.object())) return false;
        c.state = Connection::State::Established;
        continue;
      }
      received_.add(1);
      MessageInfo info;
      Status s = d.decode(batch_, info);
      if (info.invalid > 0) {
        invalid_.add(info.invalid);
        log_.warn("Skipped " + std::to_string(info.invalid) + " invalid event(s) from " + c.conn->peerAddress() + ": " +
                  info.first_invalid);
      }
      if (!s) {
        batch_.clear();
        errors_.add(1);
        log_.error("Closing the connection from " + c.conn->peerAddress() + ": " + s.message());
        return false;
      }
      const bool duplicate = !info.chunk_id.empty() && chunk_ids_.contains(info.chunk_id);
      if (duplicate) {
        duplicates_.add(1);
      } else if (!batch_.empty()) {
        Status e = out.emit(batch_);
        if (!e) {
          batch_.clear();
          // Not accepted: no ack, and the client learns at once from the closed connection.
          log_.error("Events from " + c.conn->peerAddress() + " not accepted (" + e.message() +
                     "); closing the connection without an ack");
          return false;
        }
      }
      batch_.clear();
      if (!info.chunk_id.empty()) {
        chunk_ids_.add(info.chunk_id);
        std::string ack;
        StringSink sink{&ack};
        Packer pk(sink);
        pk.pack_map(1);
        pk.pack(std::string_view("ack"));
        pk.pack_str(static_cast<uint32_t>(info.chunk_id.size()));
        pk.pack_str_body(info.chunk_id.data(), static_cast<uint32_t>(info.chunk_id.size()));
        Status w = c.conn->writeAll(ack, forward_common::monoNs() + 10'000'000'000);
        if (!w) {
          log_.warn("Cannot acknowledge to " + c.conn->peerAddress() + ": " + w.message());
          return false;
        }
        acks_.add(1);
      }
      if (cfg_.deny_keepalive) return false;
    }
    if (warn_limit_ > 0 && d.pendingBytes() > warn_limit_) {
      log_.warn("A message from " + c.conn->peerAddress() + " is over chunk_size_warn_limit (" +
                std::to_string(d.pendingBytes()) + " bytes so far)");
    }
  }
  return true;
}

Status ForwardInput::run(EventSink& out, const StopToken& stop) {
  if (listen_fd_ < 0) {
    Status s = start();
    if (!s) return s;
  }
  std::vector<pollfd> fds;
  while (!stop.stopRequested()) {
    fds.clear();
    fds.push_back({stop.fd(), POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    fds.push_back({udp_fd_, static_cast<short>(udp_fd_ >= 0 ? POLLIN : 0), 0});
    for (const auto& c : conns_) fds.push_back({c->conn->fd(), c->conn->events(), 0});
    int rc = ::poll(fds.data(), fds.size(), 1000);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Status::ioError(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[0].revents & POLLIN) break;
    // Connections first (the vector is appended to by accept()).
    size_t kept = 0;
    for (size_t i = 0; i < conns_.size(); ++i) {
      bool keep = true;
      if (fds[3 + i].revents != 0) keep = serve(*conns_[i], out);
      if (keep) {
        if (kept != i) conns_[kept] = std::move(conns_[i]);
        ++kept;
      }
    }
    conns_.resize(kept);
    if (fds[1].revents & POLLIN) accept();
    if (udp_fd_ >= 0 && (fds[2].revents & POLLIN)) answerHeartbeats();
  }
  conns_.clear();
  return Status::ok();
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<ForwardInput>(
      PluginKind::Input, "forward",
      "Receives events over the Forward protocol (Fluentd's in_forward) from Fluentd, Fluent Bit, fluent-logger or "
      "sluice: Message, Forward, PackedForward and CompressedPackedForward modes, chunk acknowledgements after the "
      "events are accepted, the <security> handshake, TLS, UDP heartbeats.",
      kParams,
      {{"transport", "<transport tls>: serve TLS.", describeParams(std::span<const Param<TransportConfig>>(kTransportParams))},
       {"security", "Shared-key handshake (HELO/PING/PONG); holds <user> and <client> sections.",
        describeParams(std::span<const Param<SecurityConfig>>(kSecurityParams))},
       {"user", "(inside <security>) a user for user_auth.", describeParams(std::span<const Param<UserConfig>>(kUserParams))},
       {"client", "(inside <security>) a client by address or network, with its own shared key or users.",
        describeParams(std::span<const Param<ClientConfig>>(kClientParams))}});
  return kDescriptor;
}

}  // namespace sluice::plugins::in_forward
