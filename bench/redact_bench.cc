// SPDX-License-Identifier: Apache-2.0
// Redaction throughput on the W1 payload (bench/gen_lines.cc records) with the seed's key list
// and every builtin pattern: bytes of record payload scanned per second on one core.
//   sluice_redact_bench [LINES]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/parser.h"
#include "core/json.h"
#include "core/plugin.h"
#include "engine/registry.h"

using namespace sluice;

namespace {

class BenchContext : public PluginContext {
 public:
  BenchContext(const config::Element& e, MetricsRegistry& m) : element_(e), metrics_(m, "filter", "redact", "bench") {}
  const config::Element& element() const override { return element_; }
  const std::string& id() const override { return id_; }
  const SourceLogger& log() const override { return log_; }
  PluginMetrics& metrics() override { return metrics_; }
  const std::string& hostname() const override { return id_; }
  Result<ParserPtr> createParser(const config::Element&) override { return Status::internal("n/a"); }
  Result<EventSink*> createStore(const config::Element&) override { return Status::internal("n/a"); }
  Result<EventSink*> labelSink(std::string_view) override { return Status::internal("n/a"); }

 private:
  const config::Element& element_;
  std::string id_ = "bench";
  SourceLogger log_{"[bench]"};
  PluginMetrics metrics_;
};

// The same records as bench/gen_lines.cc.
std::vector<std::string> w1(long n) {
  static const char* kLevels[] = {"info", "info", "info", "warn", "error", "debug"};
  static const char* kPaths[] = {"/api/v1/agents", "/api/v1/tasks/42", "/healthz", "/api/v1/users/me", "/metrics"};
  std::vector<std::string> out;
  uint64_t x = 42;
  for (long i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    char line[512];
    int len = std::snprintf(
        line, sizeof(line),
        "{\"time\":\"2026-11-22T01:%02d:%02d.%06lluZ\",\"level\":\"%s\",\"logger\":\"agentarea.api\","
        "\"message\":\"request completed\",\"method\":\"GET\",\"path\":\"%s\",\"status\":%d,"
        "\"duration_ms\":%.3f,\"request_id\":\"%016llx\",\"user_id\":%llu,\"bytes\":%llu}",
        int(i / 60000 % 60), int(i / 1000 % 60), (unsigned long long)(x % 1000000), kLevels[x % 6],
        kPaths[(x >> 8) % 5], (x % 7 == 0) ? 500 : 200, double(x % 100000) / 1000.0, (unsigned long long)x,
        (unsigned long long)((x >> 20) % 100000), (unsigned long long)((x >> 12) % 65536));
    out.emplace_back(line, static_cast<size_t>(len));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  auto root = config::parseConfigText(
      "<filter>\n @type redact\n builtin email,credit_card,jwt,bearer_token,aws_access_key,private_key,ipv4,url_credentials\n</filter>\n",
      "bench", ".", config::EvalEnvironment{});
  const config::Element& section = root->elements.front();
  MetricsRegistry metrics;
  BenchContext ctx(section, metrics);
  auto plugin = Registry::builtin().find(PluginKind::Filter, "redact")->create(ctx);
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
