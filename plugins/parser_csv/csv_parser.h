// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::parser_csv {

// parser_engine, bound at config time (enumMember).
enum class CsvEngine { Normal, Fast };
inline constexpr Choice<CsvEngine> kCsvEngines[] = {{"normal", CsvEngine::Normal}, {"fast", CsvEngine::Fast}};

struct CsvConfig : ParserCommon {
  StringList keys;
  std::string delimiter;
  CsvEngine parser_engine = CsvEngine::Normal;
};

// Fluentd's csv parser: the line's fields named by `keys` in order (a field past the line's
// last is null, a field past the last key is dropped). parser_engine normal reads one line as
// Ruby's CSV.parse_line does (an empty unquoted field is null, "" is an empty string, "a""b"
// is a"b; a stray quote, text after a closing quote or an unclosed quote rejects the line);
// fast is Fluentd's lenient splitter (quotes stripped and merged without checks). Values are
// views into the line, copied into the arena only to undouble quotes.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently.
class CsvParser final : public Parser {
 public:
  static Result<std::unique_ptr<CsvParser>> create(const CsvConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

 private:
  CsvParser(const CsvConfig& config, ParserTime time)
      : keys_(config.keys), delimiter_(config.delimiter), fast_(config.parser_engine == CsvEngine::Fast),
        time_(std::move(time)) {}
  std::string_view parseNormal(std::string_view line, Arena& arena, Value& record) const;
  void parseFast(std::string_view line, Arena& arena, Value& record) const;

  const std::vector<std::string> keys_;
  const std::string delimiter_;
  const bool fast_;
  const ParserTime time_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_csv
