// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::parser_json {

struct JsonConfig : ParserCommon {};

// Parses each line as one JSON object (simdjson), then takes the time from time_key.
// Lines that are not a JSON object are rejected with the reader's reason; invalid UTF-8, lone
// surrogates, huge numbers and duplicate keys are repaired and counted (see parseJson).
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently, each stream with its own ParserState.
class JsonParser final : public Parser {
 public:
  static Result<std::unique_ptr<JsonParser>> create(const JsonConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

 private:
  JsonParser(ParserTime time, PluginMetrics& metrics) : time_(std::move(time)), repairs_(metrics) {}
  const ParserTime time_;
  const JsonRepairCounters repairs_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_json
