// SPDX-License-Identifier: Apache-2.0
#pragma once

// A TCP connection of the Forward protocol, plain or TLS (OpenSSL), on a non-blocking socket:
// out_forward connects with it, in_forward accepts with it. A Conn is used by one thread at a
// time; a TlsContext is immutable after creation and shared by every connection made with it.

#include <openssl/ssl.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/plugin_api.h"

namespace sluice::plugins::forward_common {

// Steady-clock nanoseconds, for deadlines.
int64_t monoNs();

// The lowest TLS version, with Fluentd's spellings (out_forward tls_version, in_forward
// <transport tls> version), bound at config time (enumMember).
enum class TlsVersion { Tls1_2, Tls1_3 };
inline constexpr Choice<TlsVersion> kTlsVersions[] = {{"TLSv1_2", TlsVersion::Tls1_2}, {"TLSv1_3", TlsVersion::Tls1_3}};

struct TlsOptions {
  std::string ca_path;           // client: CAs to trust (empty: the system's); server: CAs of client certs
  std::string cert_path;         // server certificate, or the client's own certificate
  std::string private_key_path;
  std::string private_key_passphrase;
  bool verify = true;            // client: verify the server; server: require a client certificate
  bool verify_hostname = true;   // client: the certificate names the host connected to
  TlsVersion min_version = TlsVersion::Tls1_2;
  std::string ciphers;           // OpenSSL cipher list (TLS 1.2); empty: OpenSSL's default
};

class TlsContext {
 public:
  static Result<std::shared_ptr<const TlsContext>> client(const TlsOptions& options);
  static Result<std::shared_ptr<const TlsContext>> server(const TlsOptions& options);
  ~TlsContext();
  SSL_CTX* raw() const { return ctx_; }
  bool verifyHostname() const { return verify_hostname_; }

 private:
  TlsContext(SSL_CTX* ctx, bool verify_hostname) : ctx_(ctx), verify_hostname_(verify_hostname) {}
  SSL_CTX* ctx_;
  bool verify_hostname_;
};

class Conn {
 public:
  static constexpr ssize_t kWouldBlock = -1;
  static constexpr ssize_t kError = -2;

  // Connects to host:port (and completes the TLS handshake with `tls`) before `deadline_ns`
  // (monoNs). Any thread; the caller owns the connection.
  static Result<std::unique_ptr<Conn>> connect(const std::string& host, int port, int64_t deadline_ns,
                                               const TlsContext* tls);
  // Wraps an accepted socket; with `tls` the handshake is driven by handshake().
  static std::unique_ptr<Conn> accepted(int fd, const TlsContext* tls, std::string peer_address);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  int fd() const { return fd_; }
  const std::string& peerAddress() const { return peer_; }
  const std::string& error() const { return error_; }

  // Server side: drives the TLS handshake; true once done (at once without TLS). On failure
  // returns false and error() is set; events() says what to wait for.
  bool handshake();
  bool handshakeFailed() const { return failed_; }
  // poll() events this connection waits for (POLLIN, or POLLOUT while TLS wants to write).
  short events() const;
  // Reads what is there: bytes read, 0 at the peer's orderly close, kWouldBlock or kError.
  ssize_t readSome(char* buf, size_t n);
  // Reads, waiting until `deadline_ns` for something to arrive.
  ssize_t readWait(char* buf, size_t n, int64_t deadline_ns);
  // Writes all of `data` before `deadline_ns`.
  Status writeAll(std::string_view data, int64_t deadline_ns);
  // Whether the peer has closed or sent something (a kept-alive idle connection that reads as
  // closed is not reused).
  bool peerClosed();
  // Sets SO_LINGER (in_forward's linger_timeout) before close.
  void setLinger(int seconds);

 private:
  Conn(int fd, SSL* ssl, std::string peer) : fd_(fd), ssl_(ssl), peer_(std::move(peer)) {}
  bool waitFor(short events, int64_t deadline_ns);
  ssize_t writeSome(const char* p, size_t n);

  int fd_;
  SSL* ssl_;
  std::string peer_;
  std::string error_;
  bool handshake_done_ = false;
  bool failed_ = false;
  bool want_write_ = false;
};
using ConnPtr = std::unique_ptr<Conn>;

}  // namespace sluice::plugins::forward_common
