// SPDX-License-Identifier: Apache-2.0
// Ingest rates of the network inputs, each on 127.0.0.1 into a sink that counts (no buffer, no
// output): the input's own cost.
//   syslog: N RFC 3164 messages (~60 bytes) over one TCP connection, octet counting, parsed by
//           the syslog parser; CPU is the input thread's own (CLOCK_THREAD_CPUTIME_ID).
//   http:   N records as JSON arrays of 100 per request, from 4 libcurl clients with keep-alive;
//           CPU is the whole process's (getrusage), the clients' included.
//   sluice_network_inputs_bench [N] [syslog|http]
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "plugins/in_http/http_input.h"
#include "plugins/in_syslog/syslog_input.h"
#include "support/http_server.h"
#include "support/test_support.h"

namespace {

using namespace sluice;

class CountingSink : public EventSink {
 public:
  Status emit(Batch& batch) override {
    count.fetch_add(batch.size(), std::memory_order_relaxed);
    return Status::ok();
  }
  std::atomic<uint64_t> count{0};
};

double cpuSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double processCpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

void benchSyslog(uint64_t n) {
  testing::PluginFactory f;
  auto in = f.mustMake<plugins::in_syslog::SyslogInput>(
      PluginKind::Input, "syslog",
      "tag sys\nport 0\nbind 127.0.0.1\nframe_type octet_count\n<transport tcp>\n</transport>");
  if (!in->start().isOk()) return;
  CountingSink sink;
  StopToken stop;
  double input_cpu = 0;
  std::thread runner([&] {
    (void)in->run(sink, stop);
    input_cpu = cpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  });
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(in->boundPort()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return;
  auto t0 = std::chrono::steady_clock::now();
  std::string chunk;
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < n; ++i) {
    std::string msg = "<13>Nov 27 21:00:00 web1 app[42]: request " + std::to_string(i) + " served in 3 ms";
    chunk += std::to_string(msg.size()) + " " + msg;
    if (chunk.size() >= 64 * 1024 || i + 1 == n) {
      for (size_t off = 0; off < chunk.size();) {
        ssize_t w = ::send(fd, chunk.data() + off, chunk.size() - off, MSG_NOSIGNAL);
        if (w <= 0) return;
        off += static_cast<size_t>(w);
      }
      bytes += chunk.size();
      chunk.clear();
    }
  }
  while (sink.count.load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ::close(fd);
  stop.requestStop();
  runner.join();
  std::printf("syslog tcp octet_count: %llu events (%.1f MB) in %.3f s = %.0f events/s; input thread %.2f CPU-s per million\n",
              static_cast<unsigned long long>(n), bytes / 1e6, secs, n / secs, input_cpu / (n / 1e6));
}

void benchHttp(uint64_t n) {
  testing::PluginFactory f;
  auto in = f.mustMake<plugins::in_http::HttpInput>(PluginKind::Input, "http", "port 0\nbind 127.0.0.1");
  if (!in->start().isOk()) return;
  CountingSink sink;
  StopToken stop;
  std::thread runner([&] { (void)in->run(sink, stop); });
  constexpr int kClients = 4, kPerRequest = 100;
  const uint64_t requests = n / kPerRequest;
  const std::string url = "http://127.0.0.1:" + std::to_string(in->boundPort()) + "/bench.http";
  std::atomic<uint64_t> next{0}, failed{0};
  double cpu0 = processCpu();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      net::HttpClient client;
      std::string body;
      for (uint64_t r; (r = next.fetch_add(1)) < requests;) {
        body = "[";
        for (int i = 0; i < kPerRequest; ++i) {
          if (i) body += ',';
          body += "{\"n\":" + std::to_string(r * kPerRequest + i) + ",\"level\":\"info\",\"msg\":\"request served\",\"ms\":3}";
        }
        body += "]";
        if (testing::httpPost(client, url, body, {"Content-Type: application/json"}).status != 200) failed++;
      }
    });
  }
  for (auto& t : clients) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = processCpu() - cpu0;
  stop.requestStop();
  runner.join();
  std::printf("http json arrays of %d, %d clients: %llu events in %.3f s = %.0f events/s; process %.2f CPU-s per million "
              "(clients included); %llu requests failed\n",
              kPerRequest, kClients, static_cast<unsigned long long>(sink.count.load()), secs, sink.count.load() / secs,
              cpu / (sink.count.load() / 1e6), static_cast<unsigned long long>(failed.load()));
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = argc > 1 ? std::stoull(argv[1]) : 1'000'000;
  Logger::global().setLevel(LogLevel::Warn);
  const std::string only = argc > 2 ? argv[2] : "";
  if (only.empty() || only == "syslog") benchSyslog(n);
  if (only.empty() || only == "http") benchHttp(n);
  return 0;
}
