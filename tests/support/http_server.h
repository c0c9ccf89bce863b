// SPDX-License-Identifier: Apache-2.0
#pragma once

// A real HTTP server on 127.0.0.1 and a free port, serving from its own thread: the base of the
// test stand-ins (Elasticsearch, Loki, Kubernetes API). Handlers are cpp-httplib's.

#include <httplib.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/http_client.h"

namespace sluice::testing {

class HttpServer {
 public:
  HttpServer() : server_(std::make_unique<httplib::Server>()) {}
  // HTTPS with this certificate chain and key (PEM files).
  HttpServer(const std::string& cert_file, const std::string& key_file)
      : server_(std::make_unique<httplib::SSLServer>(cert_file.c_str(), key_file.c_str())),
        scheme_("https") {}
  ~HttpServer() { stop(); }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  httplib::Server& server() { return *server_; }

  // Binds and starts serving; returns false when no port could be bound.
  bool start();
  void stop();

  int port() const { return port_; }
  // Makes the answer in `res` end the connection after its status line and headers, before
  // any byte of its body, as a crashing node or a load balancer would: the client gets no
  // usable answer (libcurl: "transfer closed with N bytes remaining"). For fault injection
  // from a handler, after the request was processed; the connection's own thread closes it.
  static void cutConnection(httplib::Response& res);
  std::string url(std::string_view path = "") const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::string scheme_ = "http";
  std::thread thread_;
  int port_ = -1;
};

// POSTs `body` to `url` with `headers` through `client` and returns the answer.
net::HttpResponse httpPost(net::HttpClient& client, const std::string& url, std::string_view body,
                           std::vector<std::string> headers);

// GETs `url` through `client`.
net::HttpResponse httpGet(net::HttpClient& client, const std::string& url);

// A throw-away certificate authority and a server certificate for 127.0.0.1 it signed, made
// with the openssl command in `dir`. ok() is false (and error() says why) when that failed.
class TestCa {
 public:
  explicit TestCa(const std::string& dir);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  std::string caCert() const { return dir_ + "/ca.crt"; }
  std::string serverCert() const { return dir_ + "/server.crt"; }
  std::string serverKey() const { return dir_ + "/server.key"; }

 private:
  std::string dir_;
  std::string error_;
};

}  // namespace sluice::testing
