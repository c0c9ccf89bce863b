// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_regexp/regexp_parser.h"

#include <algorithm>

namespace sluice::plugins::parser_regexp {
namespace {

const auto kParams = concatParams(
    parserCommonParams<RegexpConfig>("time"),
    std::array<Param<RegexpConfig>, 1>{{
        {"expression", &RegexpConfig::expression, nullptr,
         "Regexp with named groups, as /…/ with optional i and m flags or bare.", {}, kRequired | kRegexp},
    }});

}  // namespace

Result<std::unique_ptr<RegexpParser>> RegexpParser::create(const RegexpConfig& config, PluginContext& ctx) {
  auto re = compileRubyRegex(config.expression);
  if (!re) return re.takeStatus();
  if ((*re)->NamedCapturingGroups().empty()) {
    return Status::invalidConfig("expression " + config.expression + " has no named group (?<name>...)");
  }
  auto time = ParserTime::create(config);
  if (!time) return time.takeStatus();
  return std::unique_ptr<RegexpParser>(new RegexpParser(std::move(*re), std::move(*time)));
}

RegexpParser::RegexpParser(std::unique_ptr<RE2> re, ParserTime time)
    : re_(std::move(re)), time_(std::move(time)), groups_(*re_) {}

void RegexpParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  const auto& lines = in.lines;
  // One match buffer per call, sized once: no allocation per line.
  std::vector<re2::StringPiece> match(groups_.matchSize());
  for (size_t i = 0; i < lines.size(); ++i) {
    ParsedRecord& rec = out[i];
    std::string_view line = lines[i];
    if (!re_->Match(re2::StringPiece(line.data(), line.size()), 0, line.size(), RE2::UNANCHORED,
                    match.data(), groups_.matchSize())) {
      rec.error = "pattern not matched";
      continue;
    }
    rec.record = groups_.toRecord(match.data(), arena);
    time_.apply(rec, arena);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<RegexpParser>(
      PluginKind::Parser, "regexp", "Parses lines with a regexp's named groups (RE2).", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_regexp
