// SPDX-License-Identifier: Apache-2.0
#include "support/http_server.h"

#include <cstdlib>
#include <vector>

#include "support/test_support.h"

namespace sluice::testing {

bool HttpServer::start() {
  if (!server_->is_valid()) return false;  // e.g. an unreadable certificate
  // Answers go out at once: headers and body are separate writes, and Nagle's algorithm with
  // the client's delayed ACK would hold the second one back ~40 ms.
  server_->set_tcp_nodelay(true);
  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) return false;
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return waitFor([this] { return server_->is_running(); });
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

net::HttpResponse httpPost(net::HttpClient& client, const std::string& url, std::string_view body,
                           std::vector<std::string> headers) {
  net::HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = std::move(headers);
  req.body = body;
  net::HttpResponse res;
  client.send(req, res);
  return res;
}

net::HttpResponse httpGet(net::HttpClient& client, const std::string& url) {
  net::HttpRequest req;
  req.url = url;
  net::HttpResponse res;
  client.send(req, res);
  return res;
}

TestCa::TestCa(const std::string& dir) : dir_(dir) {
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::vector<std::string> steps = {
      "openssl req -x509" + ec + " -keyout ca.key -out ca.crt -days 2 -subj /CN=sluice-test-ca",
      "openssl req" + ec + " -keyout server.key -out server.csr -subj /CN=127.0.0.1",
      "printf 'subjectAltName=IP:127.0.0.1\\n' | tee san.ext",  // (a '> san.ext' was undone by the '>/dev/null' below)
      "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
      " -extfile san.ext -out server.crt",
  };
  for (const std::string& step : steps) {
    std::string command = "cd '" + dir_ + "' && " + step + " >/dev/null 2>openssl.err";
    if (std::system(command.c_str()) != 0) {
      error_ = "'" + step + "' failed: " + readFile(dir_ + "/openssl.err");
      return;
    }
  }
}

void HttpServer::cutConnection(httplib::Response& res) {
  // cpp-httplib writes the headers, then asks the provider for the body: a provider that
  // fails makes it drop the connection (no other thread's descriptor is touched).
  const size_t length = res.body.empty() ? 1 : res.body.size();
  const std::string type = res.get_header_value("Content-Type");
  res.body.clear();
  res.set_content_provider(length, type.empty() ? "application/json" : type.c_str(),
                           [](size_t, size_t, httplib::DataSink&) { return false; });
}

}  // namespace sluice::testing
