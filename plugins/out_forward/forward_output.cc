// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_forward/forward_output.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <random>

#include "plugins/forward_common/forward_wire.h"

namespace sluice::plugins::out_forward {
namespace {

using forward_common::monoNs;
using forward_common::Packer;
using forward_common::StringSink;
using C = ForwardOutputConfig;

const std::array<Param<C>, 28> kParams = {{
    {"require_ack_response", &C::require_ack_response, "false", "Wait for the server to acknowledge each chunk id; an unacknowledged chunk is sent again (at-least-once)."},
    {"ack_response_timeout", &C::ack_response_timeout, "190", "How long to wait for an acknowledgement; then the connection is closed, the node rests and the chunk is retried."},
    {"send_timeout", &C::send_timeout, "60", "Timeout of a write to a server (and of the handshake)."},
    {"connect_timeout", &C::connect_timeout, nullptr, "Timeout of a connection attempt (default: send_timeout)."},
    {"recover_wait", &C::recover_wait, "10", "How long a failed node rests before it is used again."},
    {"heartbeat_type", enumMember<&C::heartbeat_type, kHeartbeatTypes>(), "transport", "How node health is checked: transport (the sends themselves), tcp (a connection every heartbeat_interval), udp (a datagram in_forward answers) or none."},
    {"heartbeat_interval", &C::heartbeat_interval, "1", "Interval of tcp and udp heartbeats."},
    {"phi_failure_detector", &C::phi_failure_detector, "true", "Use the phi accrual failure detector on heartbeats (tcp, udp)."},
    {"phi_threshold", &C::phi_threshold, "16", "phi above which a node is taken as down."},
    {"hard_timeout", &C::hard_timeout, "60", "A node without a heartbeat this long is down, whatever phi says."},
    {"transport", enumMember<&C::transport, kForwardTransports>(), "tcp", "tcp, or tls (verified against tls_cert_path, else the system's CAs)."},
    {"tls_version", enumMember<&C::tls_version, forward_common::kTlsVersions>(), "TLSv1_2", "Lowest TLS version: TLSv1_2 or TLSv1_3."},
    {"tls_ciphers", &C::tls_ciphers, "", "OpenSSL cipher list for TLS 1.2 (empty: OpenSSL's default)."},
    {"tls_insecure_mode", &C::tls_insecure_mode, "false", "Do not verify the server's certificate (tests only)."},
    {"tls_allow_self_signed_cert", &C::tls_allow_self_signed_cert, "false", "Accepted for Fluentd compatibility: put the self-signed certificate in tls_cert_path instead.", {}, kIgnored},
    {"tls_verify_hostname", &C::tls_verify_hostname, "true", "Check that the certificate names the host."},
    {"tls_cert_path", &C::tls_cert_path, "", "CA certificate file(s) to verify servers with (PEM)."},
    {"tls_client_cert_path", &C::tls_client_cert_path, "", "Client certificate (PEM) for servers that ask for one."},
    {"tls_client_private_key_path", &C::tls_client_private_key_path, "", "Key of tls_client_cert_path."},
    {"tls_client_private_key_passphrase", &C::tls_client_private_key_passphrase, "", "Passphrase of that key.", {}, kSecret},
    {"compress", enumMember<&C::compress, kForwardCompressions>(), "text", "gzip: send CompressedPackedForward messages."},
    {"keepalive", &C::keepalive, "false", "Keep connections open between chunks."},
    {"keepalive_timeout", &C::keepalive_timeout, nullptr, "Close a kept-alive connection idle this long (default: never)."},
    {"verify_connection_at_startup", &C::verify_connection_at_startup, "false", "Connect (and handshake) to every server at start; fail to start if one cannot be reached."},
    {"time_as_integer", &C::time_as_integer, "false", "Send times as whole seconds instead of EventTime (for receivers older than Fluentd v0.14)."},
    {"ignore_network_errors_at_startup", &C::ignore_network_errors_at_startup, "false", "Accepted for Fluentd compatibility: names are resolved at each connection.", {}, kIgnored},
    {"expire_dns_cache", &C::expire_dns_cache, nullptr, "Accepted for Fluentd compatibility: names are resolved at each connection.", {}, kIgnored},
    {"dns_round_robin", &C::dns_round_robin, "false", "Accepted for Fluentd compatibility: the addresses of a name are tried in order.", {}, kIgnored},
}};

const std::array<Param<ServerConfig>, 8> kServerParams = {{
    {"host", &ServerConfig::host, nullptr, "Host name or address of the server.", {}, kRequired},
    {"port", &ServerConfig::port, "24224", "Port of the server."},
    {"name", &ServerConfig::name, "", "Name of the server in logs (default host:port)."},
    {"shared_key", &ServerConfig::shared_key, nullptr, "This server's shared key (default: <security>'s).", {}, kSecret},
    {"username", &ServerConfig::username, nullptr, "User for this server (default: <security>'s).", {}, kSecret},
    {"password", &ServerConfig::password, nullptr, "Password for this server (default: <security>'s).", {}, kSecret},
    {"standby", &ServerConfig::standby, "false", "Used only while no other server is available."},
    {"weight", &ServerConfig::weight, "60", "Share of the chunks this server gets among the available ones."},
}};

const std::array<Param<SecurityConfig>, 4> kSecurityParams = {{
    {"self_hostname", &SecurityConfig::self_hostname, nullptr, "This node's name in the handshake (must differ from the server's).", {}, kRequired},
    {"shared_key", &SecurityConfig::shared_key, nullptr, "Key shared with the servers.", {}, kRequired | kSecret},
    {"username", &SecurityConfig::username, "", "User, for servers with user_auth.", {}, kSecret},
    {"password", &SecurityConfig::password, "", "Password of that user.", {}, kSecret},
}};

// A formatted event is the tag (a varint length, then the bytes) and the PackedForward entry
// ([time, record] in msgpack): the tag travels with each event so a chunk not keyed by tag
// still reaches the server with each event's own tag.
void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool splitEvent(std::string_view e, std::string_view& tag, std::string_view& entry) {
  uint64_t len = 0;
  size_t i = 0;
  for (int shift = 0; i < e.size() && shift < 35; shift += 7) {
    const auto b = static_cast<unsigned char>(e[i++]);
    len |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      if (len > e.size() - i) return false;
      tag = e.substr(i, len);
      entry = e.substr(i + len);
      return true;
    }
  }
  return false;
}

}  // namespace

struct ForwardOutput::Message {
  std::string_view tag;
  size_t first = 0, end = 0;  // event indices in the chunk view
  std::string entries;
  std::string id;  // base64 chunk id (with require_ack_response)
  bool acked = false;
};

Result<std::unique_ptr<ForwardOutput>> ForwardOutput::create(const ForwardOutputConfig& config, PluginContext& ctx) {
  auto out = std::unique_ptr<ForwardOutput>(new ForwardOutput(config, ctx));
  NodeOptions& o = out->node_options_;
  o.send_timeout_ns = config.send_timeout.nanos();
  o.connect_timeout_ns = config.connect_timeout.seconds > 0 ? config.connect_timeout.nanos() : o.send_timeout_ns;
  o.keepalive = config.keepalive;
  o.keepalive_timeout_ns = config.keepalive_timeout.nanos();
  o.recover_wait_ns = config.recover_wait.nanos();
  o.heartbeat = config.heartbeat_type;
  o.phi_failure_detector = config.phi_failure_detector;
  o.phi_threshold = config.phi_threshold;
  o.hard_timeout_ns = config.hard_timeout.nanos();
  if (config.send_timeout.seconds <= 0) return Status::invalidConfig("send_timeout must be above 0");
  if (config.require_ack_response && config.ack_response_timeout.seconds <= 0) {
    return Status::invalidConfig("ack_response_timeout must be above 0");
  }
  if (config.transport == ForwardTransport::Tls) {
    if (config.tls_cert_path.size() > 1) {
      return Status::invalidConfig("tls_cert_path: one CA file (concatenate several into one PEM file)");
    }
    forward_common::TlsOptions t;
    t.ca_path = config.tls_cert_path.empty() ? "" : config.tls_cert_path.front();
    t.cert_path = config.tls_client_cert_path;
    t.private_key_path = config.tls_client_private_key_path;
    t.private_key_passphrase = config.tls_client_private_key_passphrase;
    t.verify = !config.tls_insecure_mode;
    t.verify_hostname = config.tls_verify_hostname;
    t.min_version = config.tls_version;
    t.ciphers = config.tls_ciphers;
    auto tls = forward_common::TlsContext::client(t);
    if (!tls) return tls.takeStatus();
    o.tls = std::move(*tls);
  }
  auto security = ctx.element().children("security");
  if (security.size() > 1) return Status::invalidConfig("out_forward takes one <security> section");
  if (!security.empty()) {
    Status s = ctx.bind(std::span<const Param<SecurityConfig>>(kSecurityParams), *security.front(), o.security_config);
    if (!s) return s.withPrefix("<security>: ");
    o.security = true;
  }
  for (const config::Element* e : ctx.element().children("server")) {
    ServerConfig sc;
    Status s = ctx.bind(std::span<const Param<ServerConfig>>(kServerParams), *e, sc);
    if (!s) return s.withPrefix(e->where.str() + ": <server>: ");
    if (sc.port < 1 || sc.port > 65535) return Status::invalidConfig(e->where.str() + ": <server> port must be 1-65535");
    if (sc.weight < 0) return Status::invalidConfig(e->where.str() + ": <server> weight must be 0 or more");
    out->nodes_.push_back(std::make_unique<Node>(std::move(sc), out->node_options_));
  }
  if (out->nodes_.empty()) return Status::invalidConfig("out_forward needs at least one <server>");
  return out;
}

ForwardOutput::ForwardOutput(const ForwardOutputConfig& config, PluginContext& ctx)
    : cfg_(config),
      log_(ctx.log()),
      acked_(ctx.metrics().pluginCounter("acked_chunks_total", "Chunks the server acknowledged.")),
      ack_timeouts_(ctx.metrics().pluginCounter("ack_timeouts_total",
                                                "Chunks whose acknowledgement did not come within ack_response_timeout.")),
      node_failures_(ctx.metrics().pluginCounter("node_failures_total",
                                                 "Connections, handshakes or sends that failed (the node rests).")) {}

ForwardOutput::~ForwardOutput() { stop(); }

Status ForwardOutput::start() {
  if (cfg_.verify_connection_at_startup) {
    for (auto& node : nodes_) {
      auto s = node->acquire();
      if (!s) return s.status().withPrefix("verify_connection_at_startup: ");
      node->release(std::move(*s));
    }
  }
  if (node_options_.heartbeat == HeartbeatType::Tcp || node_options_.heartbeat == HeartbeatType::Udp) {
    hb_stop_ = false;
    hb_thread_ = std::thread([this] { heartbeatLoop(); });
  }
  return Status::ok();
}

void ForwardOutput::stop() {
  if (hb_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(hb_mu_);
      hb_stop_ = true;
    }
    hb_cv_.notify_all();
    hb_thread_.join();
  }
  for (auto& node : nodes_) node->closeAll();
}

// tcp: a connection that opens is a heartbeat. udp: in_forward answers a datagram sent to its
// port from the same port (Fluentd's heartbeat protocol).
void ForwardOutput::heartbeatLoop() {
  int udp = -1;
  if (node_options_.heartbeat == HeartbeatType::Udp) udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  std::vector<sockaddr_storage> addrs(nodes_.size());
  std::vector<socklen_t> addr_lens(nodes_.size(), 0);
  std::unique_lock<std::mutex> lock(hb_mu_);
  while (!hb_stop_) {
    lock.unlock();
    const int64_t now = monoNs();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      Node& node = *nodes_[i];
      if (node_options_.heartbeat == HeartbeatType::Tcp) {
        auto c = forward_common::Conn::connect(node.config().host, static_cast<int>(node.config().port),
                                               now + node_options_.connect_timeout_ns, nullptr);
        if (c) node.heartbeat(monoNs());
      } else if (udp >= 0) {
        if (addr_lens[i] == 0) {
          addrinfo hints{};
          hints.ai_family = AF_INET;
          hints.ai_socktype = SOCK_DGRAM;
          addrinfo* res = nullptr;
          if (::getaddrinfo(node.config().host.c_str(), std::to_string(node.config().port).c_str(), &hints, &res) == 0) {
            std::memcpy(&addrs[i], res->ai_addr, res->ai_addrlen);
            addr_lens[i] = res->ai_addrlen;
            ::freeaddrinfo(res);
          }
        }
        if (addr_lens[i] != 0) {
          ::sendto(udp, "\0", 1, 0, reinterpret_cast<sockaddr*>(&addrs[i]), addr_lens[i]);
        }
      }
    }
    if (udp >= 0) {
      // Answers that arrive within the interval are heartbeats of the node they come from.
      const int64_t until = now + cfg_.heartbeat_interval.nanos();
      while (true) {
        int64_t left_ms = (until - monoNs()) / 1'000'000;
        if (left_ms <= 0) break;
        pollfd p{udp, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left_ms)) <= 0) break;
        sockaddr_storage from{};
        socklen_t from_len = sizeof(from);
        char b[16];
        while (::recvfrom(udp, b, sizeof(b), 0, reinterpret_cast<sockaddr*>(&from), &from_len) >= 0) {
          for (size_t i = 0; i < nodes_.size(); ++i) {
            if (addr_lens[i] == from_len && std::memcmp(&addrs[i], &from, from_len) == 0) nodes_[i]->heartbeat(monoNs());
          }
          from_len = sizeof(from);
        }
      }
    }
    for (auto& node : nodes_) node->checkHealth(monoNs());
    lock.lock();
    if (udp < 0) {
      hb_cv_.wait_for(lock, std::chrono::nanoseconds(cfg_.heartbeat_interval.nanos()), [this] { return hb_stop_; });
    }
  }
  if (udp >= 0) ::close(udp);
}

void ForwardOutput::format(const Batch& batch, FormattedEvents& out) {
  StringSink sink{&out.bytes};
  Packer pk(sink);
  for (const Event& e : batch.events()) {
    putVarint(out.bytes, e.tag.size());
    out.bytes.append(e.tag);
    pk.pack_array(2);
    forward_common::packTime(pk, e.time_ns, cfg_.time_as_integer);
    forward_common::packValue(pk, e.record);
    out.endEvent();
  }
}

// One message per buffer chunk and tag. The chunk id of a message is a hash of the buffer
// chunk's id and the message's place in it: the same when the chunk is sent again, whatever
// other chunks share the write.
void ForwardOutput::buildMessages(const ChunkView& chunk, std::vector<Message>& out, std::vector<size_t>& bad) const {
  const size_t n = chunk.events();
  size_t begin = 0;
  const size_t chunks = chunk.chunk_ends.empty() ? 1 : chunk.chunk_ends.size();
  for (size_t k = 0; k < chunks; ++k) {
    const size_t end = chunk.chunk_ends.empty() ? n : std::min(n, chunk.chunk_ends[k]);
    const std::string_view chunk_id = k < chunk.chunk_ids.size() ? std::string_view(chunk.chunk_ids[k]) : "";
    uint64_t part = 0;
    for (size_t i = begin; i < end; ++i) {
      std::string_view tag, entry;
      if (!splitEvent(chunk.event(i), tag, entry)) {  // not written by format(): fails, said so
        bad.push_back(i);
        continue;
      }
      if (out.empty() || out.back().end != i || out.back().tag != tag || out.back().first < begin) {
        out.push_back(Message{tag, i, i, {}, {}, false});
        if (cfg_.require_ack_response) {
          XXH128_hash_t h;
          if (!chunk_id.empty()) {
            std::string seed(chunk_id);
            seed += '\0';
            seed += std::to_string(part);
            h = XXH3_128bits(seed.data(), seed.size());
          } else {
            h = XXH3_128bits_withSeed(entry.data(), entry.size(), i);  // unbuffered: no chunk to name
          }
          char raw[16];
          std::memcpy(raw, &h.high64, 8);
          std::memcpy(raw + 8, &h.low64, 8);
          out.back().id = forward_common::base64(std::string_view(raw, 16));
        }
        ++part;
      }
      out.back().entries.append(entry);
      out.back().end = i + 1;
    }
    begin = end;
  }
}

std::vector<Node*> ForwardOutput::pickNodes() {
  const int64_t now = monoNs();
  std::vector<Node*> regular, standby;
  int64_t total = 0;
  for (auto& node : nodes_) {
    if (!node->available(now)) continue;
    if (node->standby()) {
      standby.push_back(node.get());
    } else if (node->weight() > 0) {
      regular.push_back(node.get());
      total += node->weight();
    }
  }
  // Weighted choice of the first node (a counter spread over the weights), the rest in order.
  if (total > 0) {
    int64_t point = static_cast<int64_t>((pick_.fetch_add(1, std::memory_order_relaxed) * 2654435761u) % static_cast<uint64_t>(total));
    size_t first = 0;
    for (; first < regular.size(); ++first) {
      point -= regular[first]->weight();
      if (point < 0) break;
    }
    std::rotate(regular.begin(), regular.begin() + static_cast<std::ptrdiff_t>(std::min(first, regular.size())), regular.end());
  }
  regular.insert(regular.end(), standby.begin(), standby.end());
  return regular;
}

WriteResult ForwardOutput::write(const ChunkView& chunk) {
  std::vector<Message> msgs;
  std::vector<size_t> bad;
  buildMessages(chunk, msgs, bad);
  WriteResult r = sendMessages(msgs);
  if (bad.empty()) return r;
  // Events this output did not format (a chunk from elsewhere): they fail, the rest as sent.
  std::vector<size_t> retry;
  if (r.kind == WriteResult::Kind::Retry) {
    for (const Message& m : msgs) {
      for (size_t i = m.first; i < m.end; ++i) retry.push_back(i);
    }
  } else {
    retry = std::move(r.retry_events);
  }
  WriteResult partial;
  partial.kind = WriteResult::Kind::Partial;
  partial.reason = r.reason;
  partial.retry_events = std::move(retry);
  for (size_t i : bad) partial.failed_events.emplace_back(i, "not a forward-formatted event");
  return partial;
}

WriteResult ForwardOutput::sendMessages(std::vector<Message>& msgs) {
  if (msgs.empty()) return WriteResult::ok();
  const bool gzip = cfg_.compress == ForwardCompress::Gzip;
  std::string payload;
  for (Message& m : msgs) {
    if (gzip) {
      auto z = forward_common::gzip(m.entries);
      if (!z) return WriteResult::retry(z.status().message());
      m.entries = std::move(*z);
    }
  }
  std::vector<Node*> nodes = pickNodes();
  if (nodes.empty()) return WriteResult::retry("no nodes are available");
  std::string why;
  for (Node* node : nodes) {
    auto session = node->acquire();
    if (!session) {
      node_failures_.add(1);
      node->markFailed(monoNs());
      why = session.status().message();
      log_.warn("Cannot send to " + node->name() + ": " + why);
      continue;
    }
    Session& s = **session;
    const int64_t send_deadline = monoNs() + node_options_.send_timeout_ns;
    Status sent;
    for (const Message& m : msgs) {
      if (m.acked) continue;
      payload.clear();
      StringSink sink{&payload};
  Packer pk(sink);
      pk.pack_array(3);
      pk.pack_str(static_cast<uint32_t>(m.tag.size()));
      pk.pack_str_body(m.tag.data(), static_cast<uint32_t>(m.tag.size()));
      pk.pack_bin(static_cast<uint32_t>(m.entries.size()));
      pk.pack_bin_body(m.entries.data(), static_cast<uint32_t>(m.entries.size()));
      pk.pack_map(static_cast<uint32_t>(1 + (gzip ? 1 : 0) + (cfg_.require_ack_response ? 1 : 0)));
      pk.pack(std::string_view("size"));
      pk.pack_uint64(m.end - m.first);
      if (gzip) {
        pk.pack(std::string_view("compressed"));
        pk.pack(std::string_view("gzip"));
      }
      if (cfg_.require_ack_response) {
        pk.pack(std::string_view("chunk"));
        pk.pack(m.id);
      }
      sent = s.conn->writeAll(payload, send_deadline);
      if (!sent) break;
    }
    if (!sent) {
      node_failures_.add(1);
      node->markFailed(monoNs());
      why = sent.message();
      log_.warn("Cannot send to " + node->name() + ": " + why);
      continue;
    }
    if (!cfg_.require_ack_response) {
      node->release(std::move(*session));
      return WriteResult::ok();
    }
    // Acknowledgements: {"ack": id} for each message, in any order.
    const int64_t ack_deadline = monoNs() + cfg_.ack_response_timeout.nanos();
    size_t waiting = static_cast<size_t>(std::count_if(msgs.begin(), msgs.end(), [](const Message& m) { return !m.acked; }));
    Status got;
    while (waiting > 0) {
      msgpack::object_handle oh;
      got = readObject(s, oh, ack_deadline);
      if (!got) break;
      const msgpack::object& o = oh.get();
      if (o.type != msgpack::type::MAP) continue;
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        if (forward_common::bytesOf(o.via.map.ptr[i].key) != "ack") continue;
        auto id = forward_common::bytesOf(o.via.map.ptr[i].val);
        for (Message& m : msgs) {
          if (!m.acked && id == m.id) {
            m.acked = true;
            --waiting;
            acked_.add(1);
          }
        }
      }
    }
    if (waiting == 0) {
      node->release(std::move(*session));
      return WriteResult::ok();
    }
    // Fluentd: no answer within ack_response_timeout, the node is taken as unavailable and the
    // chunk goes back to the buffer. What was acknowledged is delivered.
    ack_timeouts_.add(waiting);
    node->markFailed(monoNs());
    why = "no acknowledgement from " + node->name() + " (" + got.message() + ")";
    log_.warn(why + "; the node rests for recover_wait and the chunk is retried");
    break;
  }
  const bool some_acked = std::any_of(msgs.begin(), msgs.end(), [](const Message& m) { return m.acked; });
  if (!some_acked) return WriteResult::retry(why.empty() ? "no nodes are available" : why);
  WriteResult r;
  r.kind = WriteResult::Kind::Partial;
  r.reason = why;
  for (const Message& m : msgs) {
    if (m.acked) continue;
    for (size_t i = m.first; i < m.end; ++i) r.retry_events.push_back(i);
  }
  return r;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<ForwardOutput>(
      PluginKind::Output, "forward",
      "Sends events to Fluentd, Fluent Bit or sluice over the Forward protocol (Fluentd's out_forward): weighted and "
      "standby <server>s, acknowledged chunks, gzip, TLS and the <security> handshake. Use a <buffer> (file for "
      "crash safety).",
      kParams,
      {{"server", "A server to send to (one or more).", describeParams(std::span<const Param<ServerConfig>>(kServerParams))},
       {"security", "Shared-key handshake (HELO/PING/PONG) with the servers.",
        describeParams(std::span<const Param<SecurityConfig>>(kSecurityParams))}})
      .needing("<server>\n host 127.0.0.1\n</server>\n");
  return kDescriptor;
}

}  // namespace sluice::plugins::out_forward
