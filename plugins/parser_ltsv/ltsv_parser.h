// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::parser_ltsv {

struct LtsvConfig : ParserCommon {
  std::string delimiter;
  std::optional<std::string> delimiter_pattern;
  std::string label_delimiter;
};

// Fluentd's ltsv parser: a line is `label:value` pairs split by `delimiter` (a tab; a single
// space splits on runs of white space, as Ruby's String#split does) or by `delimiter_pattern`.
// Pairs without label_delimiter are skipped; a repeated label keeps its first place and its
// last value. Values are string views into the line. Then time_key (default `time`), types
// and the null rules as every parser.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently.
class LtsvParser final : public Parser {
 public:
  static Result<std::unique_ptr<LtsvParser>> create(const LtsvConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

 private:
  LtsvParser(const LtsvConfig& config, std::unique_ptr<RE2> pattern, ParserTime time)
      : delimiter_(config.delimiter), label_delimiter_(config.label_delimiter), pattern_(std::move(pattern)),
        time_(std::move(time)) {}
  void addPair(std::string_view pair, Value& record, Arena& arena) const;

  const std::string delimiter_;
  const std::string label_delimiter_;
  const std::unique_ptr<RE2> pattern_;  // delimiter_pattern, or nullptr
  const ParserTime time_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_ltsv
