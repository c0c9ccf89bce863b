// SPDX-License-Identifier: Apache-2.0
#include "config/types.h"

#include <charconv>
#include <vector>
#include <cmath>

#include "core/arena.h"
#include "core/json.h"

namespace sluice::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status bad(std::string_view what, std::string_view text) {
  return Status::invalidConfig("'" + std::string(text) + "' is not " + std::string(what));
}

// A decimal number with optional sign, fraction and exponent; underscores between digits.
bool readNumber(std::string_view s, double& out, size_t& used) {
  std::string clean;
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) clean += s[i++];
  size_t digits_start = i;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '_' ||
                          s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                          ((s[i] == '-' || s[i] == '+') && i > 0 && (s[i - 1] == 'e' || s[i - 1] == 'E')))) {
    if (s[i] != '_') clean += s[i];
    ++i;
  }
  if (i == digits_start) return false;
  // Trailing 'e' belongs to a unit, not an exponent.
  while (!clean.empty() && (clean.back() == 'e' || clean.back() == 'E')) {
    clean.pop_back();
    --i;
  }
  auto r = std::from_chars(clean.data(), clean.data() + clean.size(), out);
  if (r.ec != std::errc() || r.ptr != clean.data() + clean.size()) return false;
  used = i;
  return true;
}

// "a, b ,c" → {"a", "b", "c"} (each trimmed).
std::vector<std::string_view> splitCommas(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    out.push_back(trim(s.substr(start, comma == std::string_view::npos ? s.npos : comma - start)));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

std::string jsonScalarText(const Value& v) {
  if (v.isString()) return std::string(v.asString());
  return toJson(v);
}

}  // namespace

Result<int64_t> parseInteger(std::string_view text) {
  std::string_view s = trim(text);
  double d;
  size_t used;
  if (!readNumber(s, d, used) || used != s.size()) return bad("an integer", text);
  if (d != std::floor(d) || std::fabs(d) > 9.2e18) return bad("an integer", text);
  return static_cast<int64_t>(d);
}

Result<double> parseFloat(std::string_view text) {
  std::string_view s = trim(text);
  double d;
  size_t used;
  if (!readNumber(s, d, used) || used != s.size()) return bad("a number", text);
  return d;
}

Result<uint64_t> parseSize(std::string_view text) {
  std::string_view s = trim(text);
  double d;
  size_t used;
  if (!readNumber(s, d, used) || d < 0) return bad("a size (like 512, 8k, 2M, 1g)", text);
  std::string_view unit = s.substr(used);
  double mult = 1;
  if (unit.empty()) {
    mult = 1;
  } else if (unit.size() == 1 || (unit.size() == 2 && (unit[1] == 'b' || unit[1] == 'B'))) {
    switch (unit[0]) {
      case 'k': case 'K': mult = 1024.0; break;
      case 'm': case 'M': mult = 1024.0 * 1024; break;
      case 'g': case 'G': mult = 1024.0 * 1024 * 1024; break;
      case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; break;
      default: return bad("a size (like 512, 8k, 2M, 1g)", text);
    }
  } else {
    return bad("a size (like 512, 8k, 2M, 1g)", text);
  }
  return static_cast<uint64_t>(d * mult);
}

Result<SizeLimit> parseSizeLimit(std::string_view text) {
  if (trim(text) == "-1") return SizeLimit{};
  auto size = parseSize(text);
  if (!size) return bad("a size (like 512, 8k, 2M, 1g) or -1 (no limit)", text);
  return SizeLimit{*size};
}

Result<double> parseTime(std::string_view text) {
  std::string_view s = trim(text);
  double d;
  size_t used;
  if (!readNumber(s, d, used) || d < 0) return bad("a duration (like 5, 0.5, 10s, 1.5m, 1h, 1d)", text);
  std::string_view unit = s.substr(used);
  if (unit.empty() || unit == "s" || unit == "sec") return d;
  if (unit == "ms") return d / 1000;
  if (unit == "m" || unit == "min") return d * 60;
  if (unit == "h") return d * 3600;
  if (unit == "d") return d * 86400;
  return bad("a duration (like 5, 0.5, 10s, 1.5m, 1h, 1d)", text);
}

Result<bool> parseBool(std::string_view text) {
  if (text == "true" || text == "yes" || text.empty()) return true;
  if (text == "false" || text == "no") return false;
  return bad("a boolean (true, false, yes, no)", text);
}

Result<StringList> parseArray(std::string_view text) {
  std::string_view s = trim(text);
  StringList out;
  if (s.starts_with('[')) {
    Arena arena;
    auto v = parseJson(s, arena);
    if (!v || !v->isArray()) return bad("a JSON array", text);
    for (const Value& item : v->items()) out.push_back(jsonScalarText(item));
    return out;
  }
  if (s.empty()) return out;
  for (std::string_view item : splitCommas(s)) out.emplace_back(item);
  return out;
}

Result<StringMap> parseHash(std::string_view text) {
  std::string_view s = trim(text);
  StringMap out;
  if (s.starts_with('{')) {
    Arena arena;
    auto v = parseJson(s, arena);
    if (!v || !v->isObject()) return bad("a JSON hash", text);
    for (const Member& m : v->members()) out.emplace_back(std::string(m.key), jsonScalarText(m.value));
    return out;
  }
  if (s.empty()) return out;
  for (std::string_view item : splitCommas(s)) {
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) return bad("a hash (k:v,k2:v2 or JSON)", text);
    out.emplace_back(std::string(trim(item.substr(0, colon))), std::string(trim(item.substr(colon + 1))));
  }
  return out;
}

}  // namespace sluice::config
