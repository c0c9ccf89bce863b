// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::parser_docker {

struct DockerConfig {
  bool keep_time_key = false;
  ByteSize max_partial_size;
};

// Docker json-file lines `{"log":"…\n","stream":"stdout","time":"…"}`. When reading a stream
// (tail), entries whose log does not end in "\n" (Docker splits lines at 16 KiB) are joined
// per stream; the final newline is stripped; the event time is the first fragment's `time`.
// Other fields of the entry are kept. JSON repairs (invalid UTF-8, lone surrogates, numbers kept
// as text, duplicate keys) are counted in sluice_parser_docker_repaired_values_total.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently, each stream with its own ParserState.
class DockerParser final : public Parser {
 public:
  static Result<std::unique_ptr<DockerParser>> create(const DockerConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;
  ParserStatePtr newState() const override;
  bool flush(ParserState& state, Arena& arena, ParsedRecord& out) const override;

 private:
  DockerParser(const DockerConfig& config, PluginMetrics& metrics) : config_(config), repairs_(metrics) {}
  const DockerConfig config_;
  const JsonRepairCounters repairs_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_docker
