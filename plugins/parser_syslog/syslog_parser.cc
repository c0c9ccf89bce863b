// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_syslog/syslog_parser.h"

#include <charconv>

namespace sluice::plugins::parser_syslog {
namespace {

using C = SyslogConfig;
const std::array<Param<C>, 9> kParams = {{
    {"message_format", &C::message_format, "rfc3164", "Which syslog format; auto decides per line.", "rfc3164|rfc5424|auto"},
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

Result<std::unique_ptr<SyslogParser>> SyslogParser::create(const SyslogConfig& config, PluginContext&) {
  return std::unique_ptr<SyslogParser>(new SyslogParser(config));
}

SyslogParser::SyslogParser(const SyslogConfig& config)
    : config_(config),
      rfc3164_(k3164),
      rfc5424_(k5424),
      groups3164_(rfc3164_),
      groups5424_(rfc5424_),
      time3164_("%Y " + config.time_format.value_or("%b %d %H:%M:%S"), config.utc || !config.localtime),
      time5424_(config.rfc5424_time_format, true) {}

void SyslogParser::finish(const RE2& re, const NamedGroups& groups, std::string_view line, bool rfc5424,
                          std::string_view year, Arena& arena, ParsedRecord& rec) const {
  // Reused per thread: no allocation per line.
  thread_local std::vector<re2::StringPiece> m;
  thread_local std::string stamp;
  m.assign(groups.matchSize(), re2::StringPiece());
  if (!re.Match(re2::StringPiece(line.data(), line.size()), 0, line.size(), RE2::ANCHOR_BOTH, m.data(),
                groups.matchSize())) {
    rec.error = "not a syslog line";
    return;
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

void SyslogParser::parse3164(std::string_view line, std::string_view year, Arena& arena, ParsedRecord& rec) const {
  if (config_.with_priority && (line.empty() || line[0] != '<')) {
    rec.error = "not a syslog line (no <PRI>)";
    return;
  }
  finish(rfc3164_, groups3164_, line, false, year, arena, rec);
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
    const std::string& f = config_.message_format;
    bool is5424 = f == "rfc5424";
    if (f == "auto") {
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
