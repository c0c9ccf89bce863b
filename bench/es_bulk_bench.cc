// SPDX-License-Identifier: Apache-2.0
// The elasticsearch output on one thread: events → format (action + source lines, logstash
// index, @timestamp, tag, deterministic _id) → _bulk requests to the Elasticsearch stand-in in
// its fast mode, running in a child process so that its CPU is measured apart.
//   sluice_es_bulk_bench [EVENTS] [gzip]
// Prints events/s and bulk-body MB/s for format alone, write alone and both, and the CPU
// seconds of this process and of the stand-in.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/w1.h"
#include "core/json.h"
#include "core/plugin.h"
#include "core/time.h"
#include "engine/standalone.h"
#include "standins/elasticsearch.h"

using namespace sluice;

namespace {

double cpuSeconds(const rusage& r) {
  return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Runs the stand-in (fast mode) in a child; returns its pid and port.
pid_t startStandIn(int& port) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    testing::ElasticsearchStandIn es(testing::ElasticsearchStandIn::Flavor::Es8);
    es.setFastMode(true);
    if (!es.start()) std::_Exit(1);
    int p = es.port();
    if (::write(fds[1], &p, sizeof(p)) != sizeof(p)) std::_Exit(1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    int sig = 0;
    sigwait(&set, &sig);
    std::fprintf(stderr, "stand-in: %zu documents in %d bulk requests\n", es.documentCount(), es.bulkRequests());
    es.stop();
    std::_Exit(0);
  }
  ::close(fds[1]);
  if (::read(fds[0], &port, sizeof(port)) != sizeof(port)) std::abort();
  ::close(fds[0]);
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  const long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  const bool gzip = argc > 2 && std::strcmp(argv[2], "gzip") == 0;
  int port = 0;
  pid_t child = startStandIn(port);

  engine::StandaloneFactory factory;
  std::string conf = "host 127.0.0.1\nport " + std::to_string(port) +
                     "\nlogstash_format true\nlogstash_prefix agentarea\ninclude_tag_key true\ntag_key @log_name\n";
  if (gzip) conf += "compression_level best_speed\n";
  auto plugin = factory.make(PluginKind::Output, "elasticsearch", conf);
  if (!plugin) {
    std::fprintf(stderr, "%s\n", plugin.status().message().c_str());
    return 1;
  }
  auto* out = static_cast<Output*>(plugin->get());
  if (!out->start()) return 1;

  // Batches of 1,000 W1 records plus stream and pod (~400-byte documents once the tag and
  // @timestamp are in), parsed before the clock starts.
  constexpr long kBatch = 1000;
  std::vector<Batch> batches;
  uint64_t x = 42;
  const int64_t t0 = 1795309323LL * kNanosPerSecond;
  for (long i = 0; i < n; i += kBatch) {
    Batch& b = batches.emplace_back();
    for (long j = i; j < std::min(n, i + kBatch); ++j) {
      std::string line;
      bench::appendW1Line(line, j, x);
      line.pop_back();
      line += R"(,"stream":"stdout","pod":"api-7d9f8b6c5-x2v4q"})";
      std::string_view copy = b.arena().copy(line);
      b.add("kubernetes.var.log.containers.api-7d9f8b6c5-x2v4q_agentarea_api-0123.log", t0 + j * 1000,
            *parseJson(copy, b.arena()), lineOrigin(2049, 777, uint64_t(j) * 400));
    }
  }

  // Chunks of 8 MiB (the default chunk_limit_size), formatted batch by batch, then written.
  rusage r0{}, r1{};
  getrusage(RUSAGE_SELF, &r0);
  double format_s = 0, write_s = 0;
  size_t bytes = 0, action_bytes = 0, requests = 0;
  FormattedEvents chunk;
  auto flush = [&] {
    double w0 = now();
    WriteResult r = out->write(ChunkView(chunk.bytes, chunk.ends, nullptr));
    write_s += now() - w0;
    if (r.kind != WriteResult::Kind::Ok) {
      std::fprintf(stderr, "write failed: %s\n", r.reason.c_str());
      std::exit(1);
    }
    bytes += chunk.bytes.size();
    for (size_t i = 0, start = 0; i < chunk.ends.size(); start = chunk.ends[i++]) {
      action_bytes += chunk.bytes.find('\n', start) + 1 - start;
    }
    ++requests;
    chunk.clear();
  };
  const double start = now();
  for (const Batch& b : batches) {
    double f0 = now();
    out->format(b, chunk);
    format_s += now() - f0;
    if (chunk.bytes.size() >= (8u << 20) * 95 / 100) flush();
  }
  if (!chunk.ends.empty()) flush();
  const double wall = now() - start;
  getrusage(RUSAGE_SELF, &r1);

  ::kill(child, SIGTERM);
  int status = 0;
  rusage child_usage{};
  ::wait4(child, &status, 0, &child_usage);

  const double mb = double(bytes) / 1e6;
  std::printf("%ld events, %s, %zu chunks, %.1f MB of bulk body before compression (%.0f bytes/event: "
              "%.0f of document, %.0f of action line)\n",
              n, gzip ? "gzip best_speed" : "no gzip", requests, mb, double(bytes) / double(n),
              double(bytes - action_bytes) / double(n), double(action_bytes) / double(n));
  std::printf("format: %.3f s, %.0f events/s, %.0f MB/s\n", format_s, double(n) / format_s, mb / format_s);
  std::printf("write:  %.3f s, %.0f events/s, %.0f MB/s\n", write_s, double(n) / write_s, mb / write_s);
  std::printf("format+write on one thread: %.3f s wall, %.0f events/s, %.0f MB/s; sluice cpu %.2f s; stand-in cpu %.2f s\n",
              wall, double(n) / wall, mb / wall, cpuSeconds(r1) - cpuSeconds(r0), cpuSeconds(child_usage));
  return 0;
}
