// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "plugins/in_syslog/syslog_frames.h"

namespace sluice::plugins::in_syslog {

// The enums of the tables (Fluentd's spellings), bound at config time (enumMember).
enum class ProtocolType { Udp, Tcp };
inline constexpr Choice<ProtocolType> kProtocolTypes[] = {{"udp", ProtocolType::Udp}, {"tcp", ProtocolType::Tcp}};
inline constexpr Choice<FrameType> kFrameTypes[] = {{"traditional", FrameType::Traditional},
                                                    {"octet_count", FrameType::OctetCount}};
enum class TlsMinVersion { Tls1_1, Tls1_2, Tls1_3 };
inline constexpr Choice<TlsMinVersion> kTlsMinVersions[] = {
    {"TLS1_1", TlsMinVersion::Tls1_1}, {"TLS1_2", TlsMinVersion::Tls1_2}, {"TLS1_3", TlsMinVersion::Tls1_3}};

struct SyslogInputConfig {
  int64_t port = 5140;
  std::string bind;
  std::string tag;
  std::optional<ProtocolType> protocol_type;
  ByteSize message_length_limit;
  FrameType frame_type = FrameType::Traditional;
  std::string delimiter;
  std::optional<std::string> message_format;
  std::optional<std::string> source_address_key;
  std::optional<std::string> source_hostname_key;
  std::optional<std::string> severity_key;
  std::optional<std::string> facility_key;
  bool include_source_host = false;
  std::string source_host_key;
  bool emit_unmatched_lines = false;
  bool send_keepalive_packet = false;
  int64_t max_connections = 1024;
};

// `<transport tls>`.
struct SyslogTlsConfig {
  std::string cert_path;
  std::string private_key_path;
  std::optional<std::string> private_key_passphrase;
  std::optional<std::string> ca_path;
  bool client_cert_auth = false;
  TlsMinVersion min_version = TlsMinVersion::Tls1_2;
  std::optional<std::string> ciphers;
};

class TlsServer;
struct Connection;

// Fluentd's in_syslog: RFC 3164 and RFC 5424 messages over UDP, TCP or TLS (`<transport>`),
// TCP framed by a delimiter (`traditional`, "\n") or by octet counting (RFC 6587), parsed by
// <parse> (default: the syslog parser, `message_format` rfc3164, rfc5424 or auto). Each event
// is tagged `<tag>.<facility>.<severity>` (Fluentd's names). A message over
// message_length_limit is skipped (UDP, delimited TCP) or ends its connection (octet counting,
// where the stream cannot be followed past it), as does a malformed frame; an unparsable
// message is counted and logged (or emitted as `{"unmatched_line": ...}` to `<tag>.unmatched`
// with emit_unmatched_lines). Nothing crashes on input.
//
// Threading: start() binds on the main thread; run() serves every socket on the input's own
// thread (poll), parsing and emitting a batch per turn. While emit() blocks (a full buffer with
// overflow_action block) no socket is read: TCP senders are held back by TCP itself; UDP
// datagrams wait in the kernel's receive buffer, and beyond it are dropped by the kernel.
class SyslogInput final : public Input {
 public:
  static Result<std::unique_ptr<SyslogInput>> create(const SyslogInputConfig& config, PluginContext& ctx);
  ~SyslogInput() override;

  // sluice::Plugin
  Status start() override;
  // sluice::Input
  Status run(EventSink& out, const StopToken& stop) override;

  int boundPort() const { return bound_port_; }

 private:
  enum class Transport { Udp, Tcp, Tls };
  struct Metrics;
  struct Pending;  // the messages of one turn

  SyslogInput(const SyslogInputConfig& config, PluginContext& ctx, Transport transport,
              std::optional<SyslogTlsConfig> tls, std::unique_ptr<config::Element> parse_section,
              ParserPtr parser, bool parser_reads_priority);
  void readUdp(Pending& p);
  void acceptConnections();
  // Reads what `c` has; false when the connection must close.
  bool readConnection(Connection& c, Pending& p);
  void takeMessages(Connection& c, Pending& p, bool at_end);
  void addMessage(Pending& p, std::string_view message, std::string_view address, std::string_view host);
  void process(Pending& p, EventSink& out);
  void closeConnection(size_t index, std::string_view why);
  std::string_view hostnameOf(const std::string& address);

  const SyslogInputConfig config_;
  const Transport transport_;
  const FrameType frame_type_;
  const std::optional<SyslogTlsConfig> tls_config_;
  const std::unique_ptr<config::Element> parse_section_;  // the default <parse>, kept for the parser
  const ParserPtr parser_;
  const bool parser_reads_priority_;  // the syslog parser with with_priority: it reads <PRI>
  const std::optional<std::string> address_key_;
  const SourceLogger log_;
  MalformedLineReporter malformed_;
  std::unique_ptr<Metrics> metrics_;
  std::array<std::string, 192> tags_;  // <tag>.<facility>.<severity> by PRI
  const std::string unmatched_tag_;
  std::unique_ptr<TlsServer> tls_;
  int listen_fd_ = -1;
  int bound_port_ = -1;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<std::pair<std::string, std::string>> hostnames_;  // address → name, small cache
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::in_syslog
