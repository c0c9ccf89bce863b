// SPDX-License-Identifier: Apache-2.0
#pragma once

// Helpers of the monitor tests: where a sluice started with `port 0` listens, and URLs on it.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

#include "support/test_support.h"

namespace sluice::testing {

inline std::string localUrl(int port, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(port) + std::string(path);
}

// The port sluice logged `who` listens on ("Monitor", "<source> @type monitor_agent"), or 0
// before it has.
inline int loggedPort(const std::string& err_path, const std::string& who = "Monitor") {
  const std::string key = who + " listening on http://127.0.0.1:";
  std::string err = readFile(err_path);
  size_t at = err.find(key);
  return at == std::string::npos ? 0 : std::atoi(err.c_str() + at + key.size());
}

// A port nothing listens on now (the kernel's next ephemeral one).
inline int unusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

}  // namespace sluice::testing
