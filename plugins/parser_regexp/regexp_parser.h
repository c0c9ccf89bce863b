// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::parser_regexp {

struct RegexpConfig : ParserCommon {
  std::string expression;
};

// Matches each line against `expression` (Ruby syntax, run by RE2 in linear time); named
// groups become string fields that point into the line. Unmatched lines are rejected.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently, each stream with its own ParserState.
class RegexpParser final : public Parser {
 public:
  static Result<std::unique_ptr<RegexpParser>> create(const RegexpConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

 private:
  RegexpParser(std::unique_ptr<RE2> re, ParserTime time);

  const std::unique_ptr<RE2> re_;
  const ParserTime time_;
  const NamedGroups groups_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_regexp
