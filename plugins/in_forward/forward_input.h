// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "plugins/forward_common/forward_conn.h"
#include "plugins/in_forward/chunk_ids.h"
#include "plugins/in_forward/forward_decode.h"

namespace sluice::plugins::in_forward {

struct ForwardInputConfig {
  int64_t port = 24224;
  std::string bind;
  std::optional<std::string> tag;
  std::optional<std::string> add_tag_prefix;
  Duration linger_timeout;
  std::optional<std::string> resolve_hostname;
  bool deny_keepalive = false;
  bool send_keepalive_packet = false;
  ByteSize chunk_size_limit;
  std::optional<std::string> chunk_size_warn_limit;
  bool skip_invalid_event = true;
  std::optional<std::string> source_address_key;
  std::optional<std::string> source_hostname_key;
  int64_t backlog = 0;
  int64_t chunk_id_memory = 0;
  std::optional<std::string> chunk_id_path;
};

// <transport tls> of in_forward.
struct TransportConfig {
  std::string cert_path;
  std::string private_key_path;
  std::string private_key_passphrase;
  std::string ca_path;
  bool client_cert_auth = false;
  forward_common::TlsVersion version = forward_common::TlsVersion::Tls1_2;
  std::string ciphers;
  bool insecure = false;
};

// <security>, its <user>s and <client>s.
struct SecurityConfig {
  std::string self_hostname;
  std::string shared_key;
  bool user_auth = false;
  bool allow_anonymous_source = true;
};
struct UserConfig {
  std::string username;
  std::string password;
};
struct ClientConfig {
  std::optional<std::string> host;
  std::optional<std::string> network;
  std::optional<std::string> shared_key;
  StringList users;
};

// Fluentd's in_forward: a TCP (or TLS) server of the Forward protocol, all four event modes,
// with the <security> handshake, and a UDP heartbeat answerer on the same port. A message's
// chunk id is acknowledged only once its events were accepted by emit() (the next stage's
// buffer); a chunk id seen lately (ChunkIdMemory) is acknowledged again without emitting.
// Oversized or malformed input gets a logged error and a closed connection, never a crash.
// Threading: run() on the input's own thread serves every connection (poll); start/stop on the
// main thread.
class ForwardInput final : public Input {
 public:
  static Result<std::unique_ptr<ForwardInput>> create(const ForwardInputConfig& config, PluginContext& ctx);
  ~ForwardInput() override;

  // sluice::Plugin
  Status start() override;
  void stop() override;
  // sluice::Input
  Status run(EventSink& out, const StopToken& stop) override;

  // The TCP port listened on (port 0 asks the system for one). After start().
  int port() const { return bound_port_; }

 private:
  ForwardInput(const ForwardInputConfig& config, PluginContext& ctx);
  struct Client;
  struct Connection;
  void accept();
  void answerHeartbeats();
  // Reads and handles what a connection sent; false when it is to be closed.
  bool serve(Connection& c, EventSink& out);
  bool handlePing(Connection& c, const msgpack::object& ping);
  void sendHelo(Connection& c);
  const Client* clientFor(const std::string& address) const;

  const ForwardInputConfig cfg_;
  const SourceLogger log_;
  DecodeOptions decode_;
  std::shared_ptr<const forward_common::TlsContext> tls_;
  bool security_ = false;
  SecurityConfig security_config_;
  std::vector<UserConfig> users_;
  std::vector<std::unique_ptr<Client>> clients_;
  bool resolve_hostname_ = false;
  size_t warn_limit_ = 0;
  ChunkIdMemory chunk_ids_;
  int listen_fd_ = -1;
  int udp_fd_ = -1;
  int bound_port_ = 0;
  std::vector<std::unique_ptr<Connection>> conns_;
  Batch batch_;
  Counter& received_;
  Counter& invalid_;
  Counter& errors_;
  Counter& duplicates_;
  Counter& acks_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::in_forward
