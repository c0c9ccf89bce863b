// SPDX-License-Identifier: Apache-2.0
#include "support/http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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
      "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext",
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

bool HttpServer::resetConnection(int remote_port) const {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  bool done = false;
  while (dirent* e = ::readdir(dir)) {
    int fd = std::atoi(e->d_name);
    struct stat st {};
    if (fd <= 2 || ::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_in local{}, peer{};
    socklen_t len = sizeof(local);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0 || local.sin_family != AF_INET) continue;
    len = sizeof(peer);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    if (ntohs(local.sin_port) != port_ || ntohs(peer.sin_port) != remote_port) continue;
    ::shutdown(fd, SHUT_RDWR);
    done = true;
    break;
  }
  ::closedir(dir);
  return done;
}

}  // namespace sluice::testing
