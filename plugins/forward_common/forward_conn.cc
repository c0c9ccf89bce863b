// SPDX-License-Identifier: Apache-2.0
#include "plugins/forward_common/forward_conn.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace sluice::plugins::forward_common {

int64_t monoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {

std::string sslErrors() {
  std::string out;
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string(std::strerror(errno)) : out;
}

int passphraseCallback(char* buf, int size, int, void* user) {
  const auto* pass = static_cast<const std::string*>(user);
  int n = static_cast<int>(std::min<size_t>(pass->size(), static_cast<size_t>(size)));
  std::memcpy(buf, pass->data(), static_cast<size_t>(n));
  return n;
}

Status setCommon(SSL_CTX* ctx, const TlsOptions& o) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (o.min_version == TlsVersion::Tls1_3) SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str()) != 1) {
    return Status::invalidConfig("ciphers: " + sslErrors());
  }
  if (!o.cert_path.empty()) {
    if (!o.private_key_passphrase.empty()) {
      SSL_CTX_set_default_passwd_cb(ctx, passphraseCallback);
      SSL_CTX_set_default_passwd_cb_userdata(ctx, const_cast<std::string*>(&o.private_key_passphrase));
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_path.c_str()) != 1) {
      return Status::invalidConfig("cannot load certificate " + o.cert_path + ": " + sslErrors());
    }
    const std::string& key = o.private_key_path.empty() ? o.cert_path : o.private_key_path;
    if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return Status::invalidConfig("cannot load private key " + key + ": " + sslErrors());
    }
    SSL_CTX_set_default_passwd_cb(ctx, nullptr);
  }
  return Status::ok();
}

}  // namespace

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<const TlsContext>> TlsContext::client(const TlsOptions& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status::internal("SSL_CTX_new: " + sslErrors());
  std::shared_ptr<const TlsContext> holder(new TlsContext(ctx, o.verify && o.verify_hostname));
  Status s = setCommon(ctx, o);
  if (!s) return s;
  if (o.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    int ok = o.ca_path.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                               : SSL_CTX_load_verify_locations(ctx, o.ca_path.c_str(), nullptr);
    if (ok != 1) return Status::invalidConfig("cannot load CA " + o.ca_path + ": " + sslErrors());
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return holder;
}

Result<std::shared_ptr<const TlsContext>> TlsContext::server(const TlsOptions& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::internal("SSL_CTX_new: " + sslErrors());
  std::shared_ptr<const TlsContext> holder(new TlsContext(ctx, false));
  if (o.cert_path.empty()) return Status::invalidConfig("<transport tls> needs cert_path");
  Status s = setCommon(ctx, o);
  if (!s) return s;
  if (o.verify) {  // client_cert_auth
    if (o.ca_path.empty()) return Status::invalidConfig("client_cert_auth needs ca_path");
    if (SSL_CTX_load_verify_locations(ctx, o.ca_path.c_str(), nullptr) != 1) {
      return Status::invalidConfig("cannot load CA " + o.ca_path + ": " + sslErrors());
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return holder;
}

Result<ConnPtr> Conn::connect(const std::string& host, int port, int64_t deadline_ns, const TlsContext* tls) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port_text = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0) return Status::unavailable("cannot resolve " + host + ": " + gai_strerror(rc));
  std::string last = "no address";
  int fd = -1;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last = std::strerror(errno);
      ::close(fd);
      fd = -1;
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    int64_t left_ms = (deadline_ns - monoNs()) / 1'000'000;
    int err = 0;
    socklen_t len = sizeof(err);
    if (left_ms <= 0 || ::poll(&p, 1, static_cast<int>(left_ms)) <= 0) {
      last = "connect timed out";
    } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      last = std::strerror(err ? err : errno);
    } else {
      break;
    }
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  const std::string where = host + ":" + port_text;
  if (fd < 0) return Status::unavailable("cannot connect to " + where + ": " + last);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  SSL* ssl = nullptr;
  if (tls != nullptr) {
    ssl = SSL_new(tls->raw());
    SSL_set_fd(ssl, fd);
    in6_addr ip{};
    const bool literal = ::inet_pton(AF_INET, host.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, host.c_str(), &ip) == 1;
    if (!literal) SSL_set_tlsext_host_name(ssl, host.c_str());  // SNI names hosts, never addresses
    if (tls->verifyHostname()) {
      // An address is checked against the certificate's IP entries, a name against its DNS names.
      if (literal) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
      } else {
        SSL_set1_host(ssl, host.c_str());
      }
    }
    SSL_set_connect_state(ssl);
  }
  ConnPtr conn(new Conn(fd, ssl, where));
  if (ssl != nullptr) {
    while (true) {
      ERR_clear_error();
      int r = SSL_do_handshake(ssl);
      if (r == 1) break;
      int e = SSL_get_error(ssl, r);
      short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
      if (ev == 0) {
        long verify = SSL_get_verify_result(ssl);
        std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : sslErrors();
        if (X509* peer = SSL_get1_peer_certificate(ssl); peer != nullptr) {
          char subject[256];
          X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof(subject));
          why += std::string(" (certificate ") + subject + ")";
          X509_free(peer);
        }
        return Status::unavailable("TLS handshake with " + where + " failed: " + why);
      }
      if (!conn->waitFor(ev, deadline_ns)) return Status::unavailable("TLS handshake with " + where + " timed out");
    }
  }
  conn->handshake_done_ = true;
  return conn;
}

ConnPtr Conn::accepted(int fd, const TlsContext* tls, std::string peer) {
  // Acks and handshake answers are small writes: without this, Nagle holds one back until the
  // client's delayed ACK (~40 ms) whenever another is in flight.
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  SSL* ssl = nullptr;
  if (tls != nullptr) {
    ssl = SSL_new(tls->raw());
    SSL_set_fd(ssl, fd);
    SSL_set_accept_state(ssl);
  }
  ConnPtr c(new Conn(fd, ssl, std::move(peer)));
  c->handshake_done_ = ssl == nullptr;
  return c;
}

Conn::~Conn() {
  if (ssl_ != nullptr) {
    if (handshake_done_ && !failed_) SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  if (fd_ >= 0) ::close(fd_);
}

bool Conn::handshake() {
  if (handshake_done_) return true;
  if (failed_) return false;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    handshake_done_ = true;
    want_write_ = false;
    return true;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    want_write_ = e == SSL_ERROR_WANT_WRITE;
    return false;
  }
  failed_ = true;
  error_ = "TLS handshake failed: " + sslErrors();
  return false;
}

short Conn::events() const { return want_write_ ? POLLOUT : POLLIN; }

bool Conn::waitFor(short ev, int64_t deadline_ns) {
  while (true) {
    int64_t left_ms = (deadline_ns - monoNs() + 999'999) / 1'000'000;
    if (left_ms <= 0) return false;
    pollfd p{fd_, ev, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1'000'000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

ssize_t Conn::readSome(char* buf, size_t n) {
  if (ssl_ == nullptr) {
    ssize_t r = ::recv(fd_, buf, n, 0);
    if (r >= 0) return r;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return kWouldBlock;
    error_ = std::strerror(errno);
    return kError;
  }
  ERR_clear_error();
  int r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(n, 1 << 30)));
  if (r > 0) {
    want_write_ = false;
    return r;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    want_write_ = e == SSL_ERROR_WANT_WRITE;
    return kWouldBlock;
  }
  if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;  // closed without close_notify
  failed_ = true;
  error_ = "TLS read failed: " + sslErrors();
  return kError;
}

ssize_t Conn::readWait(char* buf, size_t n, int64_t deadline_ns) {
  while (true) {
    ssize_t r = readSome(buf, n);
    if (r != kWouldBlock) return r;
    if (!waitFor(events(), deadline_ns)) {
      error_ = "timed out";
      return kWouldBlock;
    }
  }
}

ssize_t Conn::writeSome(const char* p, size_t n) {
  if (ssl_ == nullptr) {
    ssize_t r = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (r >= 0) return r;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return kWouldBlock;
    error_ = std::strerror(errno);
    return kError;
  }
  ERR_clear_error();
  int r = SSL_write(ssl_, p, static_cast<int>(std::min<size_t>(n, 1 << 30)));
  if (r > 0) return r;
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    want_write_ = e == SSL_ERROR_WANT_WRITE;
    return kWouldBlock;
  }
  failed_ = true;
  error_ = "TLS write failed: " + sslErrors();
  return kError;
}

Status Conn::writeAll(std::string_view data, int64_t deadline_ns) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = writeSome(data.data() + done, data.size() - done);
    if (w == kError) return Status::unavailable("write to " + peer_ + " failed: " + error_);
    if (w == kWouldBlock) {
      short ev = ssl_ != nullptr && !want_write_ ? POLLIN : POLLOUT;
      if (!waitFor(ev, deadline_ns)) return Status::unavailable("write to " + peer_ + " timed out");
      continue;
    }
    done += static_cast<size_t>(w);
  }
  return Status::ok();
}

bool Conn::peerClosed() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (ssl_ == nullptr) return true;  // an idle forward connection receives nothing: data or EOF end it
  // TLS 1.3 servers send session tickets after the handshake: reading consumes them.
  char b[1];
  return readSome(b, sizeof(b)) != kWouldBlock;
}

void Conn::setLinger(int seconds) {
  linger l{1, seconds};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

}  // namespace sluice::plugins::forward_common
