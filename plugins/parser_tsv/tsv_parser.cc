// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_tsv/tsv_parser.h"

namespace sluice::plugins::parser_tsv {
namespace {

const auto kParams = concatParams(
    parserCommonParams<TsvConfig>(nullptr),
    std::array<Param<TsvConfig>, 2>{{
        {"keys", &TsvConfig::keys, nullptr, "Names of the fields, in order; the last one takes the rest of the line.", {}, kRequired},
        {"delimiter", &TsvConfig::delimiter, "\t", "Field separator (a string; a single space splits on runs of white space)."},
    }});

bool isRubySpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

}  // namespace

Result<std::unique_ptr<TsvParser>> TsvParser::create(const TsvConfig& config, PluginContext&) {
  if (config.delimiter.empty()) return Status::invalidConfig("tsv: delimiter must not be empty");
  if (config.keys.empty()) return Status::invalidConfig("tsv: keys must name at least one field");
  auto time = ParserTime::create(config);
  if (!time) return time.takeStatus();
  return std::unique_ptr<TsvParser>(new TsvParser(config, std::move(*time)));
}

void TsvParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  const size_t n = keys_.size();
  const bool awk = delimiter_ == " ";
  for (size_t i = 0; i < in.lines.size(); ++i) {
    std::string_view line = in.lines[i];
    Value record = Value::emptyObject();
    size_t field = 0;
    // Ruby's text.split(delimiter, n): at most n fields, the last one the rest of the line.
    size_t pos = 0;
    if (awk && n > 1) {  // split(" ", 1) keeps the line whole
      while (pos < line.size() && isRubySpace(line[pos])) ++pos;
    }
    while (pos < line.size() || (field > 0 && field < n && pos == line.size() && !line.empty())) {
      if (field + 1 == n) {
        record.setMember(keys_[field++], Value::string(line.substr(pos)), arena);
        break;
      }
      size_t end, next;
      if (awk) {
        end = pos;
        while (end < line.size() && !isRubySpace(line[end])) ++end;
        next = end;
        while (next < line.size() && isRubySpace(line[next])) ++next;
      } else {
        end = line.find(delimiter_, pos);
        if (end == std::string_view::npos) end = line.size();
        next = end < line.size() ? end + delimiter_.size() : end;
      }
      record.setMember(keys_[field++], Value::string(line.substr(pos, end - pos)), arena);
      if (next == end) break;  // the end of the line, no separator after this field
      pos = next;
    }
    for (; field < n; ++field) record.setMember(keys_[field], Value(), arena);
    out[i].record = record;
    time_.apply(out[i], arena);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<TsvParser>(
      PluginKind::Parser, "tsv", "Tab-separated values named by `keys`, as Fluentd's tsv parser.", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_tsv
