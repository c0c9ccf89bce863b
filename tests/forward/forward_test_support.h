// SPDX-License-Identifier: Apache-2.0
#pragma once

// Test helpers of the forward plugins: an in_forward running in the test process (on a thread of
// its own, port chosen by the system) that collects what it emits, and a raw TCP client that
// writes bytes and reads what comes back. Header-only; used by the out_forward and in_forward
// tests.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/json.h"
#include "plugins/in_forward/forward_input.h"
#include "support/test_support.h"

namespace sluice::testing {

// Collects emitted events as "tag time_ns json" lines; can be told to refuse batches.
class ForwardCollector : public EventSink {
 public:
  Status emit(Batch& batch) override {
    if (refuse.load()) return Status::unavailable("refused by the test");
    std::lock_guard<std::mutex> lock(mu);
    for (const Event& e : batch.events()) {
      lines.push_back(std::string(e.tag) + " " + std::to_string(e.time_ns) + " " + toJson(e.record));
    }
    ++batches;
    return Status::ok();
  }
  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return lines;
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return lines.size();
  }
  std::mutex mu;
  std::vector<std::string> lines;
  std::atomic<int> batches{0};
  std::atomic<bool> refuse{false};
};

// An in_forward built from `body` (bind 127.0.0.1, port 0 are added), started and running.
class ForwardReceiver {
 public:
  explicit ForwardReceiver(const std::string& body = "") {
    input = factory.mustMake<plugins::in_forward::ForwardInput>(PluginKind::Input, "forward",
                                                                 "bind 127.0.0.1\nport 0\n" + body);
    Status s = input->start();
    if (!s) std::abort();
    thread = std::thread([this] { (void)input->run(collector, stop); });
  }
  ~ForwardReceiver() {
    stop.requestStop();
    thread.join();
    input->stop();
  }
  int port() const { return input->port(); }
  double metric(const std::string& name) { return factory.metrics().valueForTest(name); }

  PluginFactory factory;
  std::unique_ptr<plugins::in_forward::ForwardInput> input;
  ForwardCollector collector;
  StopToken stop;
  std::thread thread;
};

// A plain TCP client for hand-made protocol bytes.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawClient() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(std::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  // Reads until `want` bytes came, the peer closed, or `timeout_ms` passed.
  std::string read(size_t want, int timeout_ms = 5000) {
    std::string out;
    char buf[4096];
    while (out.size() < want) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) break;
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }
  // Whether the server closed the connection within `timeout_ms`.
  bool closedByPeer(int timeout_ms = 5000) {
    if (closed_) return true;
    char buf[4096];
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return false;
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return true;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

}  // namespace sluice::testing
