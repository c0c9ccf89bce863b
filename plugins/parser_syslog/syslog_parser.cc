// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_syslog/syslog_parser.h"

#include <charconv>

namespace sluice::plugins::parser_syslog {
namespace {

using C = SyslogConfig;
const std::array<Param<C>, 9> kParams = {{
    {"message_format", enumMember<&C::message_format, kMessageFormats>(), "rfc3164", "Which syslog format; auto decides per line."},
    {"with_priority", &C::with_priority, "true", "Lines start with <PRI>."},
    {"time_format", &C::time_format, nullptr, "strptime format of RFC 3164 times (default `%b %d %H:%M:%S`, the current year)."},
    {"rfc5424_time_format", &C::rfc5424_time_format, "", "strptime format of RFC 5424 times (default: RFC 3339)."},
    {"keep_time_key", &C::keep_time_key, "false", "Keep the time text in a `time` field."},
    {"support_colonless_ident", &C::support_colonless_ident, "true", "Accept an ident not followed by a colon."},
    {"localtime", &C::localtime, "true", "RFC 3164 times (which carry no zone) are local time."},
    {"utc", &C::utc, "false", "RFC 3164 times are UTC."},
    {"parser_type", {}, nullptr, "sluice always uses its RE2 implementation (Fluentd: regexp or string).", {}, kIgnored},
}};

// Fluentd's regexps, with RFC 5424's lookbehind rewritten for RE2.
constexpr const char* k3164 =
    R"(^(?:<(?P<pri>[0-9]{1,3})>)?(?P<time>[^ ]+ {1,2}[^ ]+ [0-9:]+) (?P<host>[^ ]*) (?P<ident>[^ :\[]*)(?:\[(?P<pid>[0-9]+)\])?(?:[^:]*:)? *(?P<message>.*)$)";
constexpr const char* k5424 =
    R"(^<(?P<pri>[0-9]{1,3})>[1-9][0-9]{0,2} (?P<time>[^ ]+) (?P<host>[!-~]{1,255}) (?P<ident>[!-~]{1,48}) (?P<pid>[!-~]{1,128}) (?P<msgid>[!-~]{1,32}) (?P<extradata>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<message>(?s:.+)))?$)";

}  // namespace

SyslogParser::Indices3164 SyslogParser::indicesOf(const RE2& re) {
  const auto& names = re.NamedCapturingGroups();
  auto at = [&](const char* name) {
    auto it = names.find(name);
    return it == names.end() ? -1 : it->second;
  };
  Indices3164 x{at("pri"), at("time"), at("host"), at("ident"), at("pid"), at("message"), false};
  x.ok = x.pri > 0 && x.time > 0 && x.host > 0 && x.ident > 0 && x.pid > 0 && x.message > 0;
  return x;
}

Result<std::unique_ptr<SyslogParser>> SyslogParser::create(const SyslogConfig& config, PluginContext&) {
  return std::unique_ptr<SyslogParser>(new SyslogParser(config));
}

SyslogParser::SyslogParser(const SyslogConfig& config)
    : config_(config),
      rfc3164_(k3164),
      rfc5424_(k5424),
      groups3164_(rfc3164_),
      groups5424_(rfc5424_),
      idx3164_(indicesOf(rfc3164_)),
      time3164_("%Y " + config.time_format.value_or("%b %d %H:%M:%S"), config.utc || !config.localtime),
      time5424_(config.rfc5424_time_format, true) {}

// The RFC 3164 regexp's match, found without RE2 for the lines where the answer is certain:
// ASCII without a newline, `<PRI>` well formed or absent, then `Mmm d[d] hh:mm:ss host ident`.
// Every quantifier there is followed by a character it cannot take, so the leftmost-first match
// RE2 finds is the one read here; any other line (a shape where RE2 would backtrack into an odd
// split, or no match) returns false and goes to RE2. SyslogParserTest compares both on generated
// and corpus lines.
bool SyslogParser::match3164(std::string_view line, re2::StringPiece* m) const {
  const size_t n = line.size();
  for (unsigned char c : line) {
    if (c == '\n' || c >= 0x80) return false;
  }
  auto piece = [&](size_t from, size_t len) { return re2::StringPiece(line.data() + from, len); };
  size_t i = 0;
  if (n > 0 && line[0] == '<') {
    size_t j = 1;
    while (j < n && j <= 3 && line[j] >= '0' && line[j] <= '9') ++j;
    if (j == 1 || j >= n || line[j] != '>') return false;
    m[idx3164_.pri] = piece(1, j - 1);
    i = j + 1;
  }
  const size_t time_from = i;
  const size_t month_end = line.find(' ', i);
  if (month_end == std::string_view::npos || month_end == i) return false;
  size_t day = month_end;
  while (day < n && line[day] == ' ') ++day;
  if (day - month_end > 2) return false;
  const size_t day_end = line.find(' ', day);
  if (day_end == std::string_view::npos || day_end == day) return false;
  size_t k = day_end + 1;
  while (k < n && ((line[k] >= '0' && line[k] <= '9') || line[k] == ':')) ++k;
  if (k == day_end + 1 || k >= n || line[k] != ' ') return false;
  m[idx3164_.time] = piece(time_from, k - time_from);
  const size_t host = k + 1;
  const size_t host_end = line.find(' ', host);
  if (host_end == std::string_view::npos) return false;
  m[idx3164_.host] = piece(host, host_end - host);
  const size_t ident = host_end + 1;
  size_t p = ident;
  while (p < n && line[p] != ' ' && line[p] != ':' && line[p] != '[') ++p;
  m[idx3164_.ident] = piece(ident, p - ident);
  if (p < n && line[p] == '[') {
    size_t q = p + 1;
    while (q < n && line[q] >= '0' && line[q] <= '9') ++q;
    if (q > p + 1 && q < n && line[q] == ']') {
      m[idx3164_.pid] = piece(p + 1, q - p - 1);
      p = q + 1;
    }
  }
  if (size_t colon = line.find(':', p); colon != std::string_view::npos) p = colon + 1;
  while (p < n && line[p] == ' ') ++p;
  m[idx3164_.message] = piece(p, n - p);
  m[0] = piece(0, n);
  return true;
}

void SyslogParser::finish(const RE2& re, const NamedGroups& groups, std::string_view line, bool rfc5424,
                          std::string_view year, Arena& arena, ParsedRecord& rec, bool use_regexp) const {
  // Reused per thread: no allocation per line.
  thread_local std::vector<re2::StringPiece> m;
  thread_local std::string stamp;
  m.assign(groups.matchSize(), re2::StringPiece());
  const bool fast = !rfc5424 && !use_regexp && idx3164_.ok && match3164(line, m.data());
  if (!fast) {
    m.assign(groups.matchSize(), re2::StringPiece());
    if (!re.Match(re2::StringPiece(line.data(), line.size()), 0, line.size(), RE2::ANCHOR_BOTH, m.data(),
                  groups.matchSize())) {
      rec.error = "not a syslog line";
      return;
    }
  }
  rec.record = groups.toRecord(m.data(), arena);
  if (Value* pri = rec.record.find("pri")) {
    int64_t v = 0;
    std::string_view s = pri->asString();
    std::from_chars(s.data(), s.data() + s.size(), v);
    *pri = Value::integer(v);
  }
  const Value* t = rec.record.find("time");
  std::optional<int64_t> ns;
  if (t && t->isString()) {
    if (rfc5424) {
      ns = time5424_.parse(t->asString());
    } else {
      stamp.assign(year);
      stamp.append(t->asString());
      ns = time3164_.parse(stamp);
    }
  }
  if (!ns) {
    rec.error = "invalid syslog time";
    return;
  }
  rec.time_ns = *ns;
  rec.has_time = true;
  if (!config_.keep_time_key) rec.record.removeMember("time");
}

void SyslogParser::parse3164(std::string_view line, std::string_view year, Arena& arena, ParsedRecord& rec,
                             bool use_regexp) const {
  if (config_.with_priority && (line.empty() || line[0] != '<')) {
    rec.error = "not a syslog line (no <PRI>)";
    return;
  }
  finish(rfc3164_, groups3164_, line, false, year, arena, rec, use_regexp);
}

void SyslogParser::parseWithRegexpForTest(std::string_view line, Arena& arena, ParsedRecord& rec) const {
  std::string year;
  formatTime(year, nowNs(), "%Y ", !config_.localtime || config_.utc);
  parse3164(line, year, arena, rec, true);
}

void SyslogParser::parse5424(std::string_view line, Arena& arena, ParsedRecord& rec) const {
  finish(rfc5424_, groups5424_, line, true, {}, arena, rec);
}

void SyslogParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  // RFC 3164 times carry no year: the current one, read once per batch ("2026 " fits in a
  // string's inline storage).
  std::string year;
  for (size_t i = 0; i < in.lines.size(); ++i) {
    std::string_view line = in.lines[i];
    bool is5424 = config_.message_format == MessageFormat::Rfc5424;
    if (config_.message_format == MessageFormat::Auto) {
      size_t gt = line.find('>');
      is5424 = !line.empty() && line[0] == '<' && gt != std::string_view::npos && gt + 2 < line.size() &&
               line[gt + 1] >= '1' && line[gt + 1] <= '9' && line[gt + 2] == ' ';
    }
    if (is5424) {
      parse5424(line, arena, out[i]);
    } else {
      if (year.empty()) formatTime(year, nowNs(), "%Y ", !config_.localtime || config_.utc);
      parse3164(line, year, arena, out[i]);
    }
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<SyslogParser>(
      PluginKind::Parser, "syslog", "Syslog lines, RFC 3164 or RFC 5424 (Fluentd's fields).", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_syslog
