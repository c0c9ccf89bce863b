// SPDX-License-Identifier: Apache-2.0
#pragma once

// The server side of `<transport tls>` for the syslog input: one OpenSSL context made at
// start() from the configured certificate, key and (for client_cert_auth) CA, and a
// non-blocking SSL object per accepted connection. The context is built on the main thread and
// then only used by the input's thread.

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "core/plugin_api.h"
#include "plugins/in_syslog/syslog_input.h"

namespace sluice::plugins::in_syslog {

class TlsServer {
 public:
  static Result<std::unique_ptr<TlsServer>> create(const SyslogTlsConfig& config);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  // A server-side SSL for the accepted, non-blocking socket `fd` (the handshake happens in the
  // first reads); nullptr if OpenSSL cannot make one.
  SSL* wrap(int fd) const;

 private:
  explicit TlsServer(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// OpenSSL's error queue as text (and cleared); `fallback` when it is empty.
std::string takeSslErrors(std::string_view fallback);

}  // namespace sluice::plugins::in_syslog
