// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_apache2/apache2_parser.h"

#include <array>
#include <charconv>

namespace sluice::plugins::parser_apache2 {
namespace {

using C = Apache2Config;
constexpr const char* kIgnoredNote = "Accepted as Fluentd's Parser base class does; apache2 does not use it.";
const std::array<Param<C>, 12> kParams = {{
    {"keep_time_key", &C::keep_time_key, "false", "Keep the time text in a `time` field."},
    {"time_key", {}, nullptr, kIgnoredNote, {}, kIgnored},
    {"time_type", {}, nullptr, kIgnoredNote, {}, kIgnored},
    {"time_format", {}, nullptr, kIgnoredNote, {}, kIgnored},
    {"localtime", {}, nullptr, kIgnoredNote, {}, kIgnored},
    {"utc", {}, nullptr, kIgnoredNote, {}, kIgnored},
    {"timezone", {}, nullptr, kIgnoredNote, {}, kIgnored},
    {"null_value_pattern", {}, nullptr, kIgnoredNote, {}, kIgnored},
    {"null_empty_string", {}, nullptr, kIgnoredNote, {}, kIgnored},
    {"estimate_current_event", {}, nullptr, kIgnoredNote, {}, kIgnored},
    {"types", {}, nullptr, kIgnoredNote, {}, kIgnored},
    {"timeout", {}, nullptr, kIgnoredNote, {}, kIgnored},
}};

// Fluentd's Apache2Parser::REGEXP (RE2 keeps Ruby's leftmost-first choice for the lazy path).
constexpr const char* kRegexp =
    R"re(^(?P<host>[^ ]*) [^ ]* (?P<user>[^ ]*) \[(?P<time>[^\]]*)\] "(?P<method>\S+)(?: +(?P<path>(?:[^"]|\\.)*?)(?: +\S*)?)?" (?P<code>[^ ]*) (?P<size>[^ ]*)(?: "(?P<referer>(?:[^"]|\\.)*)" "(?P<agent>(?:[^"]|\\.)*)")?$)re";
enum Group { kHost = 1, kUser, kTime, kMethod, kPath, kCode, kSize, kReferer, kAgent, kGroups };

// Ruby's String#to_i: an optional sign and the leading digits; 0 when there are none.
int64_t rubyToI(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) ++i;
  bool negative = i < s.size() && s[i] == '-';
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  int64_t v = 0;
  auto r = std::from_chars(s.data() + i, s.data() + s.size(), v);
  if (r.ec != std::errc()) return 0;
  return negative ? -v : v;
}

Value dashIsNull(const re2::StringPiece& m) {
  if (m.data() == nullptr || (m.size() == 1 && m[0] == '-')) return Value();
  return Value::string(std::string_view(m.data(), m.size()));
}

}  // namespace

Result<std::unique_ptr<Apache2Parser>> Apache2Parser::create(const Apache2Config& config, PluginContext&) {
  return std::unique_ptr<Apache2Parser>(new Apache2Parser(config));
}

Apache2Parser::Apache2Parser(const Apache2Config& config)
    : keep_time_key_(config.keep_time_key), re_(kRegexp), time_("%d/%b/%Y:%H:%M:%S %z", true) {}

void Apache2Parser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  std::array<re2::StringPiece, kGroups> m;
  for (size_t i = 0; i < in.lines.size(); ++i) {
    std::string_view line = in.lines[i];
    ParsedRecord& rec = out[i];
    if (!re_.Match(re2::StringPiece(line.data(), line.size()), 0, line.size(), RE2::ANCHOR_BOTH, m.data(), kGroups)) {
      rec.error = "not an apache2 log line";
      continue;
    }
    std::string_view time(m[kTime].data(), m[kTime].size());
    auto ns = time_.parse(time);
    if (!ns) {
      rec.error = "invalid apache2 time";
      continue;
    }
    rec.time_ns = *ns;
    rec.has_time = true;
    int64_t code = rubyToI(std::string_view(m[kCode].data(), m[kCode].size()));
    std::string_view size(m[kSize].data(), m[kSize].size());
    Member* f = arena.allocArray<Member>(16);
    f[0] = {"host", dashIsNull(m[kHost])};
    f[1] = {"user", dashIsNull(m[kUser])};
    f[2] = {"method", Value::string(std::string_view(m[kMethod].data(), m[kMethod].size()))};
    f[3] = {"path", m[kPath].data() ? Value::string(std::string_view(m[kPath].data(), m[kPath].size())) : Value()};
    f[4] = {"code", code == 0 ? Value() : Value::integer(code)};
    f[5] = {"size", size == "-" ? Value() : Value::integer(rubyToI(size))};
    f[6] = {"referer", dashIsNull(m[kReferer])};
    f[7] = {"agent", dashIsNull(m[kAgent])};
    uint32_t n = 8;
    if (keep_time_key_) f[n++] = {"time", Value::string(time)};
    rec.record = Value::object(f, n, true);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<Apache2Parser>(
      PluginKind::Parser, "apache2", "Apache combined log lines, as Fluentd's apache2 parser (fixed fields, typed).",
      kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_apache2
