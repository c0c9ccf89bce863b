// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_csv/csv_parser.h"

#include <algorithm>

namespace sluice::plugins::parser_csv {
namespace {

const auto kParams = concatParams(
    parserCommonParams<CsvConfig>(nullptr),
    std::array<Param<CsvConfig>, 4>{{
        {"keys", &CsvConfig::keys, nullptr, "Names of the fields, in order.", {}, kRequired},
        {"delimiter", &CsvConfig::delimiter, ",", "Field separator (a string)."},
        {"parser_engine", enumMember<&CsvConfig::parser_engine, kCsvEngines>(), "normal",
         "normal: strict CSV as Ruby's CSV.parse_line; fast: Fluentd's lenient splitter."},
        {"parser_type", enumMember<&CsvConfig::parser_engine, kCsvEngines>(), nullptr, "Old name of parser_engine."},
    }});

constexpr char kQuote = '"';

std::string_view chomp(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

// `s` with every "" made ", in the arena; `s` itself when it has none.
std::string_view undouble(std::string_view s, Arena& arena) {
  if (s.find("\"\"") == std::string_view::npos) return s;
  char* p = static_cast<char*>(arena.allocate(s.size(), 1));
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    p[n++] = s[i];
    if (s[i] == kQuote && i + 1 < s.size() && s[i + 1] == kQuote) ++i;
  }
  return {p, n};
}

std::string_view inner(std::string_view s) { return s.size() < 2 ? std::string_view() : s.substr(1, s.size() - 2); }

}  // namespace

Result<std::unique_ptr<CsvParser>> CsvParser::create(const CsvConfig& config, PluginContext&) {
  if (config.delimiter.empty()) return Status::invalidConfig("csv: delimiter must not be empty");
  if (config.keys.empty()) return Status::invalidConfig("csv: keys must name at least one field");
  auto time = ParserTime::create(config);
  if (!time) return time.takeStatus();
  return std::unique_ptr<CsvParser>(new CsvParser(config, std::move(*time)));
}

// Fills `record` with keys_ in order; returns an error, or an empty view.
std::string_view CsvParser::parseNormal(std::string_view line, Arena& arena, Value& record) const {
  line = chomp(line);
  if (line.empty()) return "empty CSV line";
  const std::string_view sep = delimiter_;
  size_t pos = 0, field = 0;
  for (;;) {
    Value value;
    size_t end;  // where the field ends (a separator or the end of the line)
    if (pos < line.size() && line[pos] == kQuote) {
      size_t i = pos + 1;
      bool doubled = false;
      for (;; i += 2) {
        i = line.find(kQuote, i);
        if (i == std::string_view::npos) return "malformed CSV: unclosed quoted field";
        if (i + 1 >= line.size() || line[i + 1] != kQuote) break;
        doubled = true;
      }
      std::string_view text = line.substr(pos + 1, i - pos - 1);
      value = Value::string(doubled ? undouble(text, arena) : text);
      end = i + 1;
      if (end < line.size() && line.substr(end, sep.size()) != sep) {
        return "malformed CSV: text after a quoted field";
      }
    } else {
      end = std::min(line.find(sep, pos), line.size());
      std::string_view text = line.substr(pos, end - pos);
      if (text.find_first_of("\"\r\n") != std::string_view::npos) return "malformed CSV: quote or newline in an unquoted field";
      if (!text.empty()) value = Value::string(text);
    }
    if (field < keys_.size()) record.setMember(keys_[field], value, arena);
    ++field;
    if (end >= line.size()) break;
    pos = end + sep.size();
    if (pos == line.size()) {  // a separator at the end: one more empty field
      if (field < keys_.size()) record.setMember(keys_[field], Value(), arena);
      ++field;
      break;
    }
  }
  for (; field < keys_.size(); ++field) record.setMember(keys_[field], Value(), arena);
  return {};
}

void CsvParser::parseFast(std::string_view line, Arena& arena, Value& record) const {
  line = chomp(line);
  if (line.empty()) return;
  const std::string_view sep = delimiter_;
  // Fluentd splits on every separator (keeping empty trailing fields) and then merges a
  // column that opens a quote with the following ones up to one that ends with a quote.
  auto next = [&](size_t from) { return std::min(line.find(sep, from), line.size()); };
  size_t key = 0;
  for (size_t pos = 0;;) {
    size_t end = next(pos);
    std::string_view col = line.substr(pos, end - pos);
    Value value;
    size_t quotes = static_cast<size_t>(std::count(col.begin(), col.end(), kQuote));
    if (quotes == 0) {
      if (!col.empty()) value = Value::string(col);
    } else if (quotes == 1 && col.front() == kQuote) {
      while (end < line.size()) {
        size_t more = next(end + sep.size());
        std::string_view merged = line.substr(end + sep.size(), more - end - sep.size());
        end = more;
        if (!merged.empty() && merged.back() == kQuote) break;
      }
      value = Value::string(inner(line.substr(pos, end - pos)));
    } else {
      if (quotes >= 2 && col.front() == kQuote && col.back() == kQuote) col = inner(col);
      value = Value::string(quotes > 2 ? undouble(col, arena) : col);
    }
    if (key < keys_.size()) record.setMember(keys_[key], value, arena);
    ++key;
    if (end >= line.size()) break;
    pos = end + sep.size();
  }
}

void CsvParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  for (size_t i = 0; i < in.lines.size(); ++i) {
    Value record = Value::emptyObject();
    if (fast_) {
      parseFast(in.lines[i], arena, record);
    } else if (std::string_view error = parseNormal(in.lines[i], arena, record); !error.empty()) {
      out[i].error = error;
      continue;
    }
    out[i].record = record;
    time_.apply(out[i], arena);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<CsvParser>(
      PluginKind::Parser, "csv", "Comma-separated values named by `keys`, as Fluentd's csv parser.", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_csv
