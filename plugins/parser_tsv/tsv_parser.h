// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::parser_tsv {

struct TsvConfig : ParserCommon {
  StringList keys;
  std::string delimiter;
};

// Fluentd's tsv parser: the line split by `delimiter` into at most as many fields as `keys`
// (the last key takes the rest of the line, as Ruby's split with a limit), a key past the
// line's last field is null. A single-space delimiter splits on runs of white space. Values
// are views into the line. No quoting.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently.
class TsvParser final : public Parser {
 public:
  static Result<std::unique_ptr<TsvParser>> create(const TsvConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

 private:
  TsvParser(const TsvConfig& config, ParserTime time)
      : keys_(config.keys), delimiter_(config.delimiter), time_(std::move(time)) {}

  const std::vector<std::string> keys_;
  const std::string delimiter_;
  const ParserTime time_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_tsv
