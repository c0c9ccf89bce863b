// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::parser_logfmt {

struct LogfmtConfig : ParserCommon {};

// fluent-plugin-parser-logfmt (the `logfmt` gem's reader): `key=value key="quoted \" value"
// flag` pairs. A bare key is true; an unquoted value that reads as an integer or a float
// becomes one (a leading 0 is octal, as Ruby's Integer()); a quoted value stays a string with
// only \" unescaped; an unterminated quote leaves its key true. Keys and values are views into
// the line (a quoted value with \" is copied into the arena). time_key defaults to `time`.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently.
class LogfmtParser final : public Parser {
 public:
  static Result<std::unique_ptr<LogfmtParser>> create(const LogfmtConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

  // One line's pairs into `record` (an object), as the logfmt gem reads them.
  static void parsePairs(std::string_view line, Arena& arena, Value& record);

 private:
  explicit LogfmtParser(ParserTime time) : time_(std::move(time)) {}
  const ParserTime time_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_logfmt
