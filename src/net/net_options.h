// SPDX-License-Identifier: Apache-2.0
#pragma once

// The option groups and pieces every network plugin shares, declared once (as Vector's sinks
// embed TlsConfig): the TLS options (`TlsConfig`, whose parameters a plugin's table takes with
// tlsParams(), keeping that plugin's Fluentd spellings as aliases), the pool of HTTP clients a
// plugin's threads draw from (`HttpClientPool`), and the Retry-After a piece of work has to
// honour (`RetryAfter`). Used by elasticsearch, loki and kubernetes_metadata.
// Threads: TlsConfig and tlsParams are plain data read on the engine's thread while the
// configuration is bound; HttpClientPool is thread-safe (flush threads, inputs' threads, a
// watch thread); a RetryAfter belongs to the one thread doing the work.

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/params.h"
#include "core/status.h"
#include "net/http_client.h"

namespace sluice::net {

// TLS towards a server. A plugin's Config derives from it, and its parameter table embeds
// tlsParams<Config>(…): the names below, with the plugin's own Fluentd spelling as the alias.
struct TlsConfig {
  bool tls_verify = true;
  std::optional<std::string> tls_ca_cert_path;
  std::optional<std::string> tls_client_cert_path;
  std::optional<std::string> tls_private_key_path;

  // What HttpClient takes.
  TlsOptions tlsOptions() const {
    return TlsOptions{tls_verify, tls_ca_cert_path.value_or(""), tls_client_cert_path.value_or(""),
                      tls_private_key_path.value_or("")};
  }
  // A client certificate and its key go together. The error names the keys as the plugin's
  // table spells them (`aliases`).
  template <class Aliases>
  Status validateTls(const Aliases& aliases) const {
    if (tls_client_cert_path.has_value() != tls_private_key_path.has_value()) {
      return Status::invalidConfig("tls_client_cert_path (" + std::string(aliases.cert) + ") and tls_private_key_path (" +
                                   std::string(aliases.key) + ") go together");
    }
    return Status::ok();
  }
};

// A plugin's Fluentd spellings of the TLS keys (each an alias of the shared name), and what its
// server is called in the descriptions.
struct TlsAliases {
  std::string_view verify;  // elasticsearch: ssl_verify; kubernetes_metadata: verify_ssl
  std::string_view ca;      // ca_file, ca_cert
  std::string_view cert;    // client_cert, cert
  std::string_view key;     // client_key, key
  std::string_view ca_description = "CA certificates (PEM) to verify the server with; default the system's.";
};

// The TLS parameters for a Config deriving from TlsConfig. The key is a secret (never logged,
// masked in /api/plugins.json).
template <class C>
constexpr std::array<Param<C>, 4> tlsParams(const TlsAliases& a) {
  return {{
      {"tls_verify", static_cast<bool C::*>(&TlsConfig::tls_verify), "true",
       "Verify the server's certificate and host name.", {}, 0, a.verify},
      {"tls_ca_cert_path", static_cast<std::optional<std::string> C::*>(&TlsConfig::tls_ca_cert_path), nullptr,
       a.ca_description, {}, 0, a.ca},
      {"tls_client_cert_path", static_cast<std::optional<std::string> C::*>(&TlsConfig::tls_client_cert_path), nullptr,
       "Client certificate (PEM) for mutual TLS, with tls_private_key_path.", {}, 0, a.cert},
      {"tls_private_key_path", static_cast<std::optional<std::string> C::*>(&TlsConfig::tls_private_key_path), nullptr,
       "Client key (PEM) for mutual TLS.", {}, kSecret, a.key},
  }};
}

// HTTP clients kept between requests (each holds its connection), handed to one thread at a
// time. take() gives a pooled client or a new one; give() returns it for the next taker; a
// client whose connection failed is not given back (the next take() makes a new one).
// Thread-safe.
class HttpClientPool {
 public:
  explicit HttpClientPool(TlsOptions tls = {}) : tls_(std::move(tls)) {}

  const TlsOptions& tls() const { return tls_; }
  std::unique_ptr<HttpClient> take() {
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    return fresh();
  }
  // A new client, with a new connection.
  std::unique_ptr<HttpClient> fresh() const { return std::make_unique<HttpClient>(tls_); }
  void give(std::unique_ptr<HttpClient> client) {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(client));
  }

 private:
  TlsOptions tls_;
  std::mutex mu_;
  std::vector<std::unique_ptr<HttpClient>> idle_;  // guarded by mu_
};

// The Retry-After a piece of work must honour: the longest any answer asked for (a server that
// asked for 30 s is not asked again sooner because another answer said 1 s). For
// WriteResult::retry_after_ns and back-offs.
class RetryAfter {
 public:
  void note(int64_t retry_after_ns) { ns_ = std::max(ns_, retry_after_ns); }
  void note(const HttpResponse& response) { note(response.retry_after_ns); }
  bool given() const { return ns_ >= 0; }
  // Nanoseconds to wait, 0 when no answer said.
  int64_t ns() const { return std::max<int64_t>(ns_, 0); }
  // At least `backoff_ns`, and no sooner than the server asked.
  int64_t atLeast(int64_t backoff_ns) const { return std::max(backoff_ns, ns_); }

 private:
  int64_t ns_ = -1;
};

}  // namespace sluice::net
