// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_forward/forward_node.h"

#include <cmath>

namespace sluice::plugins::out_forward {

using forward_common::Conn;
using forward_common::monoNs;
using forward_common::Packer;
using forward_common::sha512Hex;
using forward_common::StringSink;

void FailureDetector::reset(int64_t now_ns) {
  last_ns_ = now_ns;
  intervals_.clear();
  sum_ = sum_sq_ = 0;
}

void FailureDetector::heartbeat(int64_t now_ns) {
  if (last_ns_ != 0) {
    double s = static_cast<double>(now_ns - last_ns_) / 1e9;
    intervals_.push_back(s);
    sum_ += s;
    sum_sq_ += s * s;
    if (intervals_.size() > kWindow) {
      sum_ -= intervals_.front();
      sum_sq_ -= intervals_.front() * intervals_.front();
      intervals_.pop_front();
    }
  }
  last_ns_ = now_ns;
}

double FailureDetector::phi(int64_t now_ns) const {
  if (intervals_.empty() || last_ns_ == 0) return 0;
  const double n = static_cast<double>(intervals_.size());
  const double mean = sum_ / n;
  // A floor on the deviation, as Fluentd's detector has: regular heartbeats would otherwise
  // make any small delay look like a failure.
  const double stddev = std::max(std::sqrt(std::max(0.0, sum_sq_ / n - mean * mean)), mean / 4);
  const double t = static_cast<double>(now_ns - last_ns_) / 1e9;
  // P(interval > t) for a normal distribution, via the complementary error function.
  const double p_later = 0.5 * std::erfc((t - mean) / (stddev * std::sqrt(2.0)));
  return p_later <= 0 ? 1e9 : -std::log10(p_later);
}

Status readObject(Session& s, msgpack::object_handle& out, int64_t deadline_ns) {
  try {
    while (!s.unpacker.next(out)) {
      if (s.unpacker.nonparsed_size() > (1u << 20)) return Status::corruption("answer over 1 MiB");
      s.unpacker.reserve_buffer(64 * 1024);
      ssize_t n = s.conn->readWait(s.unpacker.buffer(), s.unpacker.buffer_capacity(), deadline_ns);
      if (n == 0) return Status::unavailable("connection closed by " + s.conn->peerAddress());
      if (n < 0) return Status::unavailable("read from " + s.conn->peerAddress() + ": " + s.conn->error());
      s.unpacker.buffer_consumed(static_cast<size_t>(n));
    }
  } catch (const std::exception& e) {
    return Status::corruption(std::string("invalid msgpack from server: ") + e.what());
  }
  return Status::ok();
}

Node::Node(ServerConfig config, const NodeOptions& options)
    : config_(std::move(config)),
      options_(options),
      name_(config_.name.empty() ? config_.host + ":" + std::to_string(config_.port) : config_.name) {
  detector_.reset(monoNs());
}

bool Node::available(int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (available_) return true;
  if (options_.heartbeat == HeartbeatType::Transport || options_.heartbeat == HeartbeatType::None) {
    // No heartbeat tells: after recover_wait the node is tried again.
    if (now_ns - failed_at_ns_ >= options_.recover_wait_ns) available_ = true;
  }
  return available_;
}

void Node::markFailed(int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  available_ = false;
  failed_at_ns_ = now_ns;
  pool_.clear();
}

void Node::heartbeat(int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!available_) {
    if (now_ns - failed_at_ns_ < options_.recover_wait_ns) return;
    available_ = true;
    detector_.reset(now_ns);
    return;
  }
  detector_.heartbeat(now_ns);
}

void Node::checkHealth(int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!available_) return;
  const bool hard = now_ns - detector_.last() > options_.hard_timeout_ns;
  const bool phi = options_.phi_failure_detector && detector_.phi(now_ns) > options_.phi_threshold;
  if (hard || phi) {
    available_ = false;
    failed_at_ns_ = now_ns;
    pool_.clear();
  }
}

void Node::closeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  pool_.clear();
}

Result<SessionPtr> Node::acquire() {
  const int64_t now = monoNs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!pool_.empty()) {
      SessionPtr s = std::move(pool_.back());
      pool_.pop_back();
      const bool expired = options_.keepalive_timeout_ns > 0 && now - s->idle_since_ns > options_.keepalive_timeout_ns;
      if (!expired && !s->conn->peerClosed()) return s;
    }
  }
  auto conn = Conn::connect(config_.host, static_cast<int>(config_.port), now + options_.connect_timeout_ns,
                            options_.tls.get());
  if (!conn) return conn.takeStatus();
  auto s = std::make_unique<Session>();
  s->conn = std::move(*conn);
  if (options_.security) {
    Status h = handshake(*s);
    if (!h) return h;
  }
  return s;
}

void Node::release(SessionPtr s) {
  if (!options_.keepalive || !s->keepalive) return;  // closed here
  s->idle_since_ns = monoNs();
  std::lock_guard<std::mutex> lock(mu_);
  pool_.push_back(std::move(s));
}

// The client's half of the handshake (Forward Protocol v1, "Handshake Messages"): the server
// sends HELO with a nonce (and a salt when it checks users), the client answers PING with the
// shared-key digest (and the user's), the server answers PONG with its own digest.
Status Node::handshake(Session& s) {
  const int64_t deadline = monoNs() + options_.send_timeout_ns;
  const std::string where = name_;
  msgpack::object_handle helo;
  Status r = readObject(s, helo, deadline);
  if (!r) return r.withPrefix("handshake with " + where + ": no HELO: ");
  const msgpack::object& h = helo.get();
  if (h.type != msgpack::type::ARRAY || h.via.array.size != 2 || forward_common::bytesOf(h.via.array.ptr[0]) != "HELO" ||
      h.via.array.ptr[1].type != msgpack::type::MAP) {
    return Status::unavailable("handshake with " + where + ": invalid HELO");
  }
  std::string_view nonce, auth;
  const msgpack::object_map& opts = h.via.array.ptr[1].via.map;
  for (uint32_t i = 0; i < opts.size; ++i) {
    auto key = forward_common::bytesOf(opts.ptr[i].key);
    if (!key) continue;
    if (*key == "nonce") nonce = forward_common::bytesOf(opts.ptr[i].val).value_or("");
    if (*key == "auth") auth = forward_common::bytesOf(opts.ptr[i].val).value_or("");
    if (*key == "keepalive" && opts.ptr[i].val.type == msgpack::type::BOOLEAN) s.keepalive = opts.ptr[i].val.via.boolean;
  }
  const SecurityConfig& sec = options_.security_config;
  const std::string& shared_key = config_.shared_key ? *config_.shared_key : sec.shared_key;
  const std::string& username = config_.username ? *config_.username : sec.username;
  const std::string& password = config_.password ? *config_.password : sec.password;
  const std::string salt = forward_common::randomBytes(16);
  std::string ping;
  StringSink sink{&ping};
  Packer pk(sink);
  pk.pack_array(6);
  pk.pack(std::string_view("PING"));
  pk.pack(sec.self_hostname);
  pk.pack_bin(static_cast<uint32_t>(salt.size()));
  pk.pack_bin_body(salt.data(), static_cast<uint32_t>(salt.size()));
  pk.pack(sha512Hex({salt, sec.self_hostname, nonce, shared_key}));
  if (!auth.empty()) {
    pk.pack(username);
    pk.pack(sha512Hex({auth, username, password}));
  } else {
    pk.pack(std::string_view(""));
    pk.pack(std::string_view(""));
  }
  r = s.conn->writeAll(ping, deadline);
  if (!r) return r.withPrefix("handshake with " + where + ": ");
  msgpack::object_handle pong;
  r = readObject(s, pong, deadline);
  if (!r) return r.withPrefix("handshake with " + where + ": no PONG: ");
  const msgpack::object& p = pong.get();
  if (p.type != msgpack::type::ARRAY || p.via.array.size != 5 || forward_common::bytesOf(p.via.array.ptr[0]) != "PONG" ||
      p.via.array.ptr[1].type != msgpack::type::BOOLEAN) {
    return Status::unavailable("handshake with " + where + ": invalid PONG");
  }
  if (!p.via.array.ptr[1].via.boolean) {
    return Status::unavailable("handshake with " + where + " refused: " +
                               std::string(forward_common::bytesOf(p.via.array.ptr[2]).value_or("")));
  }
  const std::string_view server_host = forward_common::bytesOf(p.via.array.ptr[3]).value_or("");
  if (server_host == sec.self_hostname) {
    // Fluentd refuses this too: the same self_hostname on both ends is a configuration mistake.
    return Status::unavailable("handshake with " + where +
                               ": same hostname between input and output: invalid configuration");
  }
  if (forward_common::bytesOf(p.via.array.ptr[4]).value_or("") != sha512Hex({salt, server_host, nonce, shared_key})) {
    return Status::unavailable("handshake with " + where + ": shared_key mismatch (the server's digest differs)");
  }
  return Status::ok();
}

}  // namespace sluice::plugins::out_forward
