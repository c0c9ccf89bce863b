// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::parser_auto {

struct AutoConfig {
  std::string message_key;
};

// sluice's default for stdin: a line that is a JSON object becomes that record; any other
// line becomes {message_key: line}. Never rejects a line.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently, each stream with its own ParserState.
class AutoParser final : public Parser {
 public:
  static Result<std::unique_ptr<AutoParser>> create(const AutoConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

 private:
  AutoParser(std::string key, PluginMetrics& metrics) : key_(std::move(key)), repairs_(metrics) {}
  const std::string key_;
  const JsonRepairCounters repairs_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_auto
