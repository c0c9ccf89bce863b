// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_ltsv/ltsv_parser.h"

namespace sluice::plugins::parser_ltsv {
namespace {

const auto kParams = concatParams(
    parserCommonParams<LtsvConfig>("time"),
    std::array<Param<LtsvConfig>, 3>{{
        {"delimiter", &LtsvConfig::delimiter, "\t",
         "Separator of the label:value pairs. A single space splits on runs of white space (Ruby's split)."},
        {"delimiter_pattern", &LtsvConfig::delimiter_pattern, nullptr,
         "Regexp separating the pairs; replaces delimiter when set.", {}, kRegexp},
        {"label_delimiter", &LtsvConfig::label_delimiter, ":", "Separator of a label and its value (the first one counts)."},
    }});

bool isRubySpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

Result<std::unique_ptr<LtsvParser>> LtsvParser::create(const LtsvConfig& config, PluginContext&) {
  if (config.delimiter.empty()) return Status::invalidConfig("ltsv: delimiter must not be empty");
  if (config.label_delimiter.empty()) return Status::invalidConfig("ltsv: label_delimiter must not be empty");
  std::unique_ptr<RE2> pattern;
  if (config.delimiter_pattern) {
    auto re = compileRubyRegex(*config.delimiter_pattern);
    if (!re) return re.takeStatus();
    pattern = std::move(*re);
  }
  auto time = ParserTime::create(config);
  if (!time) return time.takeStatus();
  return std::unique_ptr<LtsvParser>(new LtsvParser(config, std::move(pattern), std::move(*time)));
}

void LtsvParser::addPair(std::string_view pair, Value& record, Arena& arena) const {
  size_t at = pair.find(label_delimiter_);
  if (at == std::string_view::npos) return;
  record.setMember(pair.substr(0, at), Value::string(pair.substr(at + label_delimiter_.size())), arena);
}

void LtsvParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  for (size_t i = 0; i < in.lines.size(); ++i) {
    std::string_view line = in.lines[i];
    Value record = Value::emptyObject();
    if (pattern_) {
      re2::StringPiece m;
      size_t from = 0, search = 0;
      while (search <= line.size() &&
             pattern_->Match(re2::StringPiece(line.data(), line.size()), search, line.size(), RE2::UNANCHORED, &m, 1)) {
        size_t start = static_cast<size_t>(m.data() - line.data());
        if (m.empty()) {
          // An empty match splits between characters, as Ruby's split does.
          if (start >= line.size()) break;
          if (start == from) {
            search = start + 1;
            continue;
          }
        }
        addPair(line.substr(from, start - from), record, arena);
        from = start + m.size();
        search = m.empty() ? from + 1 : from;
      }
      addPair(line.substr(from), record, arena);
    } else if (delimiter_ == " ") {
      size_t p = 0;
      while (p < line.size()) {
        while (p < line.size() && isRubySpace(line[p])) ++p;
        size_t start = p;
        while (p < line.size() && !isRubySpace(line[p])) ++p;
        if (p > start) addPair(line.substr(start, p - start), record, arena);
      }
    } else {
      size_t from = 0;
      for (size_t at; (at = line.find(delimiter_, from)) != std::string_view::npos; from = at + delimiter_.size()) {
        addPair(line.substr(from, at - from), record, arena);
      }
      addPair(line.substr(from), record, arena);
    }
    out[i].record = record;
    time_.apply(out[i], arena);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<LtsvParser>(
      PluginKind::Parser, "ltsv", "Labeled tab-separated values (`label:value` pairs), as Fluentd's ltsv parser.",
      kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_ltsv
