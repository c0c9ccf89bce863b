// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::parser_kubernetes {

struct KubernetesConfig {
  ByteSize max_partial_size;
};

// Node logs of any kind, detected per line: CRI (containerd, CRI-O), Docker json-file, or
// klog (`I1121 10:00:00.123456    1234 server.go:42] message`, the format of the kubelet and
// the control plane, with continuation lines joined). Container lines of both runtimes give
// the same fields — `log` (partial lines joined), `stream` — and the runtime's time, so one
// `<parse> @type kubernetes` works on containerd and Docker nodes alike. klog lines give
// `severity`, `pid`, `source`, `message`. Anything else becomes `{"log": line}`. JSON repairs
// of Docker lines are counted in sluice_parser_kubernetes_repaired_values_total.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently, each stream with its own ParserState.
class KubernetesParser final : public Parser {
 public:
  static Result<std::unique_ptr<KubernetesParser>> create(const KubernetesConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;
  ParserStatePtr newState() const override;
  bool flush(ParserState& state, Arena& arena, ParsedRecord& out) const override;

 private:
  KubernetesParser(const KubernetesConfig& config, PluginMetrics& metrics);
  static Value containerRecord(std::string_view log, std::string_view stream, Arena& arena);

  const KubernetesConfig config_;
  const RE2 klog_;
  const JsonRepairCounters repairs_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_kubernetes
