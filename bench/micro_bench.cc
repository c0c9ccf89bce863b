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

void BM_EncodeJson(benchmark::State& state) {
  sluice::Arena arena;
  auto v = sluice::parseJson(kLine, arena);
  std::string out;
  for (auto _ : state) {
    out.clear();
    sluice::appendJson(out, *v);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * (sizeof(kLine) - 1));
}
BENCHMARK(BM_EncodeJson);

}  // namespace

BENCHMARK_MAIN();
