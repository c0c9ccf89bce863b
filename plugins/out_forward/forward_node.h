// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "plugins/forward_common/forward_conn.h"
#include "plugins/forward_common/forward_wire.h"

namespace sluice::plugins::out_forward {

// <security> of out_forward.
struct SecurityConfig {
  std::string self_hostname;
  std::string shared_key;
  std::string username;
  std::string password;
};

// One <server>.
struct ServerConfig {
  std::string host;
  int64_t port = 24224;
  std::string name;
  std::optional<std::string> shared_key;
  std::optional<std::string> username;
  std::optional<std::string> password;
  bool standby = false;
  int64_t weight = 60;
};

enum class HeartbeatType { Transport, Tcp, Udp, None };

// What every node shares, decided once at create().
struct NodeOptions {
  std::shared_ptr<const forward_common::TlsContext> tls;  // null: plain TCP
  bool security = false;                                   // <security> present: handshake
  SecurityConfig security_config;
  int64_t connect_timeout_ns = 0;
  int64_t send_timeout_ns = 0;
  bool keepalive = false;
  int64_t keepalive_timeout_ns = 0;  // 0: no limit
  int64_t recover_wait_ns = 0;
  HeartbeatType heartbeat = HeartbeatType::Transport;
  bool phi_failure_detector = true;
  double phi_threshold = 16;
  int64_t hard_timeout_ns = 0;
};

// Fluentd's phi accrual failure detector (Hayashibara et al.): the intervals between
// heartbeats are taken as normally distributed; phi = -log10(P(the next heartbeat comes later
// than now)). Not thread-safe (the node's lock guards it).
class FailureDetector {
 public:
  void reset(int64_t now_ns);
  void heartbeat(int64_t now_ns);
  double phi(int64_t now_ns) const;
  int64_t last() const { return last_ns_; }

 private:
  static constexpr size_t kWindow = 1000;
  int64_t last_ns_ = 0;
  std::deque<double> intervals_;  // seconds
  double sum_ = 0, sum_sq_ = 0;
};

// A connection that finished the handshake, with what is left of the stream after it.
struct Session {
  forward_common::ConnPtr conn;
  msgpack::unpacker unpacker;
  bool keepalive = true;  // the server's HELO may refuse keepalive
  int64_t idle_since_ns = 0;
};
using SessionPtr = std::unique_ptr<Session>;

// Reads the next msgpack object of the session's stream before `deadline_ns` (monoNs).
Status readObject(Session& s, msgpack::object_handle& out, int64_t deadline_ns);

// One <server>: its pool of kept-alive connections and its health. Thread-safe: flush threads
// take and return sessions; the heartbeat thread reports heartbeats.
class Node {
 public:
  Node(ServerConfig config, const NodeOptions& options);

  const std::string& name() const { return name_; }
  bool standby() const { return config_.standby; }
  int64_t weight() const { return config_.weight; }
  const ServerConfig& config() const { return config_; }

  // A session ready to send: a kept-alive one (not expired, not closed by the server), or a
  // new connection through TLS and the handshake.
  Result<SessionPtr> acquire();
  // Back to the pool (keepalive), or closed.
  void release(SessionPtr s);
  bool available(int64_t now_ns);
  // A send or handshake failed: the node rests for recover_wait.
  void markFailed(int64_t now_ns);
  // A heartbeat answer (tcp, udp) arrived.
  void heartbeat(int64_t now_ns);
  // Heartbeat thread: marks the node unavailable when phi or hard_timeout says it is gone.
  void checkHealth(int64_t now_ns);
  // Drops the pooled connections (stop).
  void closeAll();

 private:
  Status handshake(Session& s);

  const ServerConfig config_;
  const NodeOptions& options_;
  const std::string name_;
  std::mutex mu_;
  std::vector<SessionPtr> pool_;
  bool available_ = true;
  int64_t failed_at_ns_ = 0;
  FailureDetector detector_;
};

}  // namespace sluice::plugins::out_forward
