// SPDX-License-Identifier: Apache-2.0
// Redaction throughput on the W1 payload (bench/gen_lines.cc records) with the seed's key list
// and every builtin pattern: bytes of record payload scanned per second on one core.
//   sluice_redact_bench [LINES]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/w1.h"
#include "config/parser.h"
#include "core/json.h"
#include "core/plugin_api.h"
#include "engine/standalone.h"

using namespace sluice;

namespace {

std::vector<std::string> w1(long n) {
  std::vector<std::string> out;
  uint64_t x = 42;  // the seed bench/gen_lines.cc uses
  for (long i = 0; i < n; ++i) {
    out.emplace_back();
    bench::appendW1Line(out.back(), i, x);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  engine::StandaloneFactory factory;
  auto plugin = factory.make(
      PluginKind::Filter, "redact",
      "builtin email,credit_card,jwt,bearer_token,aws_access_key,private_key,ipv4,url_credentials");
  if (!plugin) {
    std::fprintf(stderr, "%s\n", plugin.status().message().c_str());
    return 1;
  }
  auto* filter = static_cast<Filter*>(plugin->get());
  std::vector<std::string> lines = w1(n);
  constexpr size_t kBatch = 1024;
  double seconds = 0;
  size_t bytes = 0;
  Batch batch;
  for (size_t start = 0; start < lines.size(); start += kBatch) {
    batch.clear();
    size_t end = std::min(lines.size(), start + kBatch);
    for (size_t i = start; i < end; ++i) {
      batch.add("w1", 0, *parseJson(lines[i], batch.arena()));
      bytes += lines[i].size();
    }
    auto t0 = std::chrono::steady_clock::now();
    filter->process(batch);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  std::printf("redact (seed keys + all builtins): %ld records, %.1f MB of record payload in %.3f s: %.0f MB/s, %.0f ns per record\n",
              n, bytes / 1e6, seconds, bytes / 1e6 / seconds, seconds * 1e9 / double(n));
  return 0;
}
