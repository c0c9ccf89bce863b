// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_logfmt/logfmt_parser.h"

#include <charconv>
#include <limits>

namespace sluice::plugins::parser_logfmt {
namespace {

const auto kParams = parserCommonParams<LogfmtConfig>("time");

// A byte that may be part of a key or an unquoted value: above space (UTF-8 bytes are), not a
// quote (and, for keys, not `=`).
bool isWord(unsigned char c) { return c > ' ' && c != '"'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

// The gem's integer? (/\A[-+]?[0-9]+\Z/) and numeric? (/\A[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?\Z/).
bool looksInteger(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!isDigit(s[i])) return false;
  }
  return true;
}
bool looksNumeric(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && isDigit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) ++i, ++frac_digits;
    if (frac_digits == 0) return false;
  } else if (int_digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && isDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

// An unquoted value as the gem stores it: Integer(), Float() or the string.
Value typedValue(std::string_view s) {
  if (looksInteger(s)) {
    bool negative = s[0] == '-';
    std::string_view digits = (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
    int base = 10;
    if (digits.size() > 1 && digits[0] == '0') {  // Ruby's Integer("017") is octal
      base = 8;
      digits.remove_prefix(1);
      if (digits.find_first_of("89") != std::string_view::npos) return Value::string(s);  // Ruby raises
    }
    uint64_t v = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    uint64_t limit = negative ? uint64_t(std::numeric_limits<int64_t>::max()) + 1 : uint64_t(std::numeric_limits<int64_t>::max());
    if (r.ec != std::errc() || v > limit) return base == 10 ? Value::numberText(s[0] == '+' ? s.substr(1) : s) : Value::string(s);
    return Value::integer(negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v));
  }
  if (looksNumeric(s)) {
    std::string_view t = s[0] == '+' ? s.substr(1) : s;
    double d = 0;
    auto r = std::from_chars(t.data(), t.data() + t.size(), d);
    if (r.ec == std::errc()) return Value::real(d);
  }
  return Value::string(s);
}

}  // namespace

Result<std::unique_ptr<LogfmtParser>> LogfmtParser::create(const LogfmtConfig& config, PluginContext&) {
  auto time = ParserTime::create(config);
  if (!time) return time.takeStatus();
  return std::unique_ptr<LogfmtParser>(new LogfmtParser(std::move(*time)));
}

void LogfmtParser::parsePairs(std::string_view line, Arena& arena, Value& record) {
  const size_t n = line.size();
  size_t i = 0;
  while (i < n) {
    // Garbage: up to the first byte that can start a key.
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (!isWord(c) || c == '=') {
      ++i;
      continue;
    }
    size_t key_start = i;
    while (i < n && isWord(static_cast<unsigned char>(line[i])) && line[i] != '=') ++i;
    std::string_view key = line.substr(key_start, i - key_start);
    record.setMember(key, Value::boolean(true), arena);
    if (i >= n || line[i] != '=') {
      ++i;  // the byte that ended the key is consumed
      continue;
    }
    ++i;  // '='
    if (i >= n) break;
    c = static_cast<unsigned char>(line[i]);
    if (c == '"') {
      ++i;
      size_t start = i;
      bool has_escape = false;
      size_t close = std::string_view::npos;
      for (size_t j = start; j < n; ++j) {
        if (line[j] == '"') {
          if (j > start && line[j - 1] == '\\') {
            has_escape = true;
            continue;
          }
          close = j;
          break;
        }
      }
      if (close == std::string_view::npos) {
        // Unterminated: the key stays true, but the gem stores "" when the quote ends the line.
        if (start == n) record.setMember(key, Value::string(line.substr(n)), arena);
        break;
      }
      std::string_view text = line.substr(start, close - start);
      if (has_escape) {
        char* p = static_cast<char*>(arena.allocate(text.size(), 1));
        size_t m = 0;
        for (size_t j = 0; j < text.size(); ++j) {
          if (text[j] == '\\' && j + 1 < text.size() && text[j + 1] == '"') continue;  // \" is "
          p[m++] = text[j];
        }
        text = std::string_view(p, m);
      }
      record.setMember(key, Value::string(text), arena);
      i = close + 1;
    } else if (isWord(c) && c != '=') {
      size_t start = i;
      while (i < n && isWord(static_cast<unsigned char>(line[i]))) ++i;  // '=' may follow in a value
      record.setMember(key, typedValue(line.substr(start, i - start)), arena);
      ++i;  // the byte that ended the value is consumed
    } else {
      ++i;  // `key= ` or `key==`: the key stays true
    }
  }
}

void LogfmtParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  for (size_t i = 0; i < in.lines.size(); ++i) {
    Value record = Value::emptyObject();
    parsePairs(in.lines[i], arena, record);
    out[i].record = record;
    time_.apply(out[i], arena);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<LogfmtParser>(
      PluginKind::Parser, "logfmt", "logfmt `key=value` lines, as fluent-plugin-parser-logfmt (the logfmt gem).", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_logfmt
