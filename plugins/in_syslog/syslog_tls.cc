// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_syslog/syslog_tls.h"

#include <openssl/err.h>

#include <cstring>

namespace sluice::plugins::in_syslog {
namespace {

int passphraseCallback(char* buf, int size, int, void* userdata) {
  const std::string* pass = static_cast<const std::string*>(userdata);
  if (pass == nullptr || size <= 0) return 0;
  int n = static_cast<int>(std::min<size_t>(pass->size(), static_cast<size_t>(size)));
  std::memcpy(buf, pass->data(), static_cast<size_t>(n));
  return n;
}

}  // namespace

std::string takeSslErrors(std::string_view fallback) {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string(fallback) : out;
}

Result<std::unique_ptr<TlsServer>> TlsServer::create(const SyslogTlsConfig& config) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::internal("<transport tls>: " + takeSslErrors("SSL_CTX_new failed"));
  auto fail = [&](std::string what) -> Status {
    std::string why = takeSslErrors("unknown error");
    SSL_CTX_free(ctx);
    return Status::invalidConfig("<transport tls>: " + what + ": " + why);
  };
  int min_version = config.min_version == TlsMinVersion::Tls1_3   ? TLS1_3_VERSION
                    : config.min_version == TlsMinVersion::Tls1_1 ? TLS1_1_VERSION
                                                                  : TLS1_2_VERSION;
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  std::string pass = config.private_key_passphrase.value_or("");
  SSL_CTX_set_default_passwd_cb(ctx, passphraseCallback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, &pass);
  if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_path.c_str()) != 1) {
    return fail("cannot load cert_path " + config.cert_path);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, config.private_key_path.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("cannot load private_key_path " + config.private_key_path);
  }
  SSL_CTX_set_default_passwd_cb_userdata(ctx, nullptr);
  if (SSL_CTX_check_private_key(ctx) != 1) return fail("the private key does not match the certificate");
  if (config.ciphers && SSL_CTX_set_cipher_list(ctx, config.ciphers->c_str()) != 1) {
    return fail("ciphers " + *config.ciphers);
  }
  if (config.client_cert_auth) {
    if (!config.ca_path) {
      SSL_CTX_free(ctx);
      return Status::invalidConfig("<transport tls>: client_cert_auth needs ca_path");
    }
    if (SSL_CTX_load_verify_locations(ctx, config.ca_path->c_str(), nullptr) != 1) {
      return fail("cannot load ca_path " + *config.ca_path);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return std::unique_ptr<TlsServer>(new TlsServer(ctx));
}

TlsServer::~TlsServer() { SSL_CTX_free(ctx_); }

SSL* TlsServer::wrap(int fd) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  return ssl;
}

}  // namespace sluice::plugins::in_syslog
