// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the output benchmarks share: a test server in a forked child (so that its CPU is
// measured apart, from wait4's rusage), and the timed loop — format() batch by batch into
// chunks of a given size, write() each chunk — on one thread.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "bench/w1.h"
#include "core/json.h"
#include "core/plugin_api.h"
#include "core/time.h"
#include "engine/standalone.h"

namespace sluice::bench {

inline double cpuSeconds(const rusage& r) {
  return double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) + double(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// `serve()` starts the server, returns its port and keeps it running; `report()` runs after
// SIGTERM, before the child exits. Returns the child's pid; `port` is the server's port.
template <class Serve, class Report>
pid_t startChildServer(int& port, Serve serve, Report report) {
  int fds[2];
  if (::pipe(fds) != 0) std::abort();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, nullptr);  // before the server's threads start
    int p = serve();
    if (p <= 0 || ::write(fds[1], &p, sizeof(p)) != sizeof(p)) std::_Exit(1);
    int sig = 0;
    sigwait(&set, &sig);
    report();
    std::_Exit(0);
  }
  ::close(fds[1]);
  if (::read(fds[0], &port, sizeof(port)) != sizeof(port)) std::abort();
  ::close(fds[0]);
  return pid;
}

// Stops the child and returns its CPU seconds.
inline double stopChildServer(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  return cpuSeconds(usage);
}

struct OutputRun {
  double format_s = 0, write_s = 0, wall_s = 0, cpu_s = 0;
  size_t bytes = 0, chunks = 0;
};

inline double monotonicSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Formats `batches` into chunks of about `chunk_bytes` and writes each; exits on a failed
// write. `on_chunk` sees each chunk after its write (outside the timed parts).
inline OutputRun runOutput(Output& out, const std::vector<Batch>& batches, size_t chunk_bytes,
                           const std::function<void(const FormattedEvents&)>& on_chunk = {}) {
  OutputRun run;
  rusage r0{}, r1{};
  getrusage(RUSAGE_SELF, &r0);
  FormattedEvents chunk;
  double excluded = 0;
  auto flush = [&] {
    double w0 = monotonicSeconds();
    WriteResult r = out.write(ChunkView(chunk.bytes, chunk.ends, nullptr));
    run.write_s += monotonicSeconds() - w0;
    if (r.kind != WriteResult::Kind::Ok) {
      std::fprintf(stderr, "write failed: %s\n", r.reason.c_str());
      std::exit(1);
    }
    run.bytes += chunk.bytes.size();
    ++run.chunks;
    double c0 = monotonicSeconds();
    if (on_chunk) on_chunk(chunk);
    excluded += monotonicSeconds() - c0;
    chunk.clear();
  };
  const double start = monotonicSeconds();
  for (const Batch& b : batches) {
    double f0 = monotonicSeconds();
    out.format(b, chunk);
    run.format_s += monotonicSeconds() - f0;
    if (chunk.bytes.size() >= chunk_bytes) flush();
  }
  if (!chunk.ends.empty()) flush();
  run.wall_s = monotonicSeconds() - start - excluded;
  getrusage(RUSAGE_SELF, &r1);
  run.cpu_s = cpuSeconds(r1) - cpuSeconds(r0) - excluded;
  return run;
}

// Makes and starts an output from config text; exits on a config error.
inline Output* startOutput(engine::StandaloneFactory& factory, std::string_view type, const std::string& conf,
                           PluginPtr& keep) {
  auto plugin = factory.make(PluginKind::Output, type, conf);
  if (!plugin) {
    std::fprintf(stderr, "%s\n", plugin.status().message().c_str());
    std::exit(1);
  }
  keep = std::move(*plugin);
  auto* out = static_cast<Output*>(keep.get());
  if (!out->start()) std::exit(1);
  return out;
}

// `n` W1 records in batches of 1,000, each line closed by `tail(i)` (which starts with a comma
// and ends with the closing brace), tagged `tag`, 1 µs apart, with tail-like origins; parsed
// before any clock starts.
template <class Tail>
std::vector<Batch> w1Batches(long n, std::string_view tag, Tail tail) {
  constexpr long kBatch = 1000;
  std::vector<Batch> batches;
  uint64_t x = 42;
  const int64_t t0 = 1795309323LL * kNanosPerSecond;
  for (long i = 0; i < n; i += kBatch) {
    Batch& b = batches.emplace_back();
    for (long j = i; j < std::min(n, i + kBatch); ++j) {
      std::string line;
      appendW1Line(line, j, x);
      line.pop_back();
      line += tail(j);
      b.add(tag, t0 + j * 1000, *parseJson(b.arena().copy(line), b.arena()), lineOrigin(2049, 777, uint64_t(j) * 400));
    }
  }
  return batches;
}

}  // namespace sluice::bench
