// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::parser_none {

struct NoneConfig {
  std::string message_key;
};

// Keeps each line as it is, in one field.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently, each stream with its own ParserState.
class NoneParser final : public Parser {
 public:
  static Result<std::unique_ptr<NoneParser>> create(const NoneConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

 private:
  explicit NoneParser(std::string key) : key_(std::move(key)) {}
  const std::string key_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_none
