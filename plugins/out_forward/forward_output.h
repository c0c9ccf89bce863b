// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/plugin_api.h"
#include "plugins/forward_common/forward_conn.h"
#include "plugins/out_forward/forward_node.h"

namespace sluice::plugins::out_forward {

// The enums of the table (Fluentd's spellings), bound at config time (enumMember).
inline constexpr Choice<HeartbeatType> kHeartbeatTypes[] = {
    {"transport", HeartbeatType::Transport}, {"tcp", HeartbeatType::Tcp}, {"udp", HeartbeatType::Udp},
    {"none", HeartbeatType::None}};
enum class ForwardTransport { Tcp, Tls };
inline constexpr Choice<ForwardTransport> kForwardTransports[] = {{"tcp", ForwardTransport::Tcp},
                                                                  {"tls", ForwardTransport::Tls}};
enum class ForwardCompress { Text, Gzip };
inline constexpr Choice<ForwardCompress> kForwardCompressions[] = {{"text", ForwardCompress::Text},
                                                                   {"gzip", ForwardCompress::Gzip}};

struct ForwardOutputConfig {
  bool require_ack_response = false;
  Duration ack_response_timeout;
  Duration send_timeout;
  Duration connect_timeout;
  Duration recover_wait;
  HeartbeatType heartbeat_type = HeartbeatType::Transport;
  Duration heartbeat_interval;
  bool phi_failure_detector = true;
  double phi_threshold = 16;
  Duration hard_timeout;
  ForwardTransport transport = ForwardTransport::Tcp;
  forward_common::TlsVersion tls_version = forward_common::TlsVersion::Tls1_2;
  std::string tls_ciphers;
  bool tls_insecure_mode = false;
  bool tls_allow_self_signed_cert = false;
  bool tls_verify_hostname = true;
  StringList tls_cert_path;
  std::string tls_client_cert_path;
  std::string tls_client_private_key_path;
  std::string tls_client_private_key_passphrase;
  ForwardCompress compress = ForwardCompress::Text;
  bool keepalive = false;
  Duration keepalive_timeout;
  bool verify_connection_at_startup = false;
  bool time_as_integer = false;
  bool ignore_network_errors_at_startup = false;
  Duration expire_dns_cache;
  bool dns_round_robin = false;
};

// Fluentd's out_forward: sends chunks to <server>s over the Forward protocol (PackedForward, or
// CompressedPackedForward with `compress gzip`), one message per buffer chunk and tag, plain
// TCP or TLS, with the <security> shared-key handshake. Servers are picked by weight among
// those available; standby servers only when no other is. With require_ack_response, a message
// is delivered only when the server acknowledges its chunk id; the id is derived from the
// buffer chunk's id (the same on every retry and after a restart), so a receiver that
// remembers ids (sluice's in_forward) drops what it already accepted.
// Threading: format() on input threads (no state); write() on flush threads, concurrently
// (each takes a connection of its own from a node's pool); the heartbeat thread (heartbeat_type
// tcp or udp) from start() to stop().
class ForwardOutput final : public Output {
 public:
  static Result<std::unique_ptr<ForwardOutput>> create(const ForwardOutputConfig& config, PluginContext& ctx);
  ~ForwardOutput() override;

  // sluice::Plugin
  Status start() override;
  void stop() override;
  // sluice::Output
  void format(const Batch& batch, FormattedEvents& out) override;
  WriteResult write(const ChunkView& chunk) override;

  // For tests.
  const std::vector<std::unique_ptr<Node>>& nodesForTest() const { return nodes_; }

 private:
  ForwardOutput(const ForwardOutputConfig& config, PluginContext& ctx);
  struct Message;
  // `bad`: events that are not as format() wrote them.
  void buildMessages(const ChunkView& chunk, std::vector<Message>& out, std::vector<size_t>& bad) const;
  WriteResult sendMessages(std::vector<Message>& msgs);
  // Orders the nodes to try: available regular nodes by weight, then available standby nodes.
  std::vector<Node*> pickNodes();
  void heartbeatLoop();

  const ForwardOutputConfig cfg_;
  const SourceLogger log_;
  NodeOptions node_options_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::atomic<uint64_t> pick_{0};
  Counter& acked_;
  Counter& ack_timeouts_;
  Counter& node_failures_;

  std::mutex hb_mu_;
  std::condition_variable hb_cv_;
  bool hb_stop_ = false;
  std::thread hb_thread_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_forward
