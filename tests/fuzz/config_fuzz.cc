// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the Fluentd-syntax config reader and the pipeline builder must return an error,
// never crash, on any input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/parser.h"
#include "engine/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  config::EvalEnvironment env;
  env.hostname = "fuzz";
  env.env = [](std::string_view) -> std::optional<std::string> { return std::string("x"); };
  auto root = config::parseConfigText(text, "fuzz.conf", "/nonexistent", env);
  if (!root) return 0;
  (void)root->toString();
  Logger::global().setLevel(LogLevel::Fatal);
  MetricsRegistry metrics;
  auto pipeline = engine::Pipeline::build(*root, Registry::builtin(), metrics, engine::BuildOptions{});
  if (pipeline) (void)(*pipeline)->graph();
  return 0;
}
