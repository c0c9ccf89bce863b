// SPDX-License-Identifier: Apache-2.0
// Micro benchmarks of the hot path pieces (Google Benchmark).

#include <benchmark/benchmark.h>

#include "core/json.h"

namespace {

const char kLine[] =
    "{\"time\":\"2026-11-22T01:00:00.123456Z\",\"level\":\"info\",\"logger\":\"agentarea.api\","
    "\"message\":\"request completed\",\"method\":\"GET\",\"path\":\"/api/v1/agents\",\"status\":200,"
    "\"duration_ms\":12.345,\"request_id\":\"0123456789abcdef\",\"user_id\":4242,\"bytes\":5123}";

void BM_ParseJson(benchmark::State& state) {
  sluice::Arena arena;
  for (auto _ : state) {
    arena.reset();
    auto v = sluice::parseJson(kLine, arena);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(state.iterations() * (sizeof(kLine) - 1));
}
BENCHMARK(BM_ParseJson);

// Writes the parse of `text` back as JSON, again and again.
void encodeLoop(benchmark::State& state, std::string_view text) {
  sluice::Arena arena;
  auto v = sluice::parseJson(text, arena);
  std::string out;
  for (auto _ : state) {
    out.clear();
    sluice::appendJson(out, *v);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}

void BM_EncodeJson(benchmark::State& state) { encodeLoop(state, kLine); }
BENCHMARK(BM_EncodeJson);

// A node-workload record (bench/node_workload.h's access line after the CRI and JSON parses):
// mostly short strings, as the elasticsearch output writes them.
const char kRecord[] =
    "{\"stream\":\"stdout\",\"logtag\":\"F\",\"time\":\"2026-11-28T03:00:00.123456789Z\",\"level\":\"info\","
    "\"logger\":\"http.access\",\"msg\":\"GET /api/v1/orders 200\",\"method\":\"GET\",\"path\":\"/api/v1/orders/12345\","
    "\"status\":200,\"duration_ms\":12,\"bytes_out\":5123,\"client_ip\":\"10.1.2.3\","
    "\"user_agent\":\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\",\"request_id\":\"9f8e7d6c5b4a39281706f5e4d3c2b1a0\","
    "\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\",\"user_id\":\"u-48213\"}";

void BM_EncodeRecord(benchmark::State& state) { encodeLoop(state, kRecord); }
BENCHMARK(BM_EncodeRecord);

}  // namespace

BENCHMARK_MAIN();
