// SPDX-License-Identifier: Apache-2.0
// Fuzz target: the Ruby-subset evaluator of "#{...}" must answer a value or an error, never
// crash, recurse without bound or run anything; the same code gives the same answer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/ruby_eval.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::config;
  std::string_view code(reinterpret_cast<const char*>(data), size);
  EvalEnvironment env;
  env.hostname = "fuzz-host";
  env.worker_id = "0";
  env.env = [](std::string_view name) -> std::optional<std::string> {
    if (name.empty() || name[0] == 'U') return std::nullopt;  // some variables unset
    return std::string(name) + "-value";
  };
  auto first = evalEmbedded(code, env);
  auto second = evalEmbedded(code, env);
  if (first.isOk() != second.isOk()) std::abort();
  if (first.isOk() && (first->kind != second->kind || first->text != second->text)) std::abort();
  return 0;
}
