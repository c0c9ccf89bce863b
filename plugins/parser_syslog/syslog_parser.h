// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::parser_syslog {

enum class MessageFormat { Rfc3164, Rfc5424, Auto };
inline constexpr Choice<MessageFormat> kMessageFormats[] = {
    {"rfc3164", MessageFormat::Rfc3164}, {"rfc5424", MessageFormat::Rfc5424}, {"auto", MessageFormat::Auto}};

struct SyslogConfig {
  MessageFormat message_format = MessageFormat::Rfc3164;
  bool with_priority = true;
  std::optional<std::string> time_format;
  std::string rfc5424_time_format;
  bool keep_time_key = false;
  bool support_colonless_ident = true;
  bool localtime = true;
  bool utc = false;
};

// Fluentd's syslog parser: RFC 3164 (`<pri>Mmm dd hh:mm:ss host ident[pid]: message`) and
// RFC 5424 (`<pri>1 time host ident pid msgid [sd] message`), or auto-detected per line.
// Fields: pri (integer), host, ident, pid, message; msgid and extradata for RFC 5424.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently, each stream with its own ParserState.
class SyslogParser final : public Parser {
 public:
  static Result<std::unique_ptr<SyslogParser>> create(const SyslogConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

  // Parses an RFC 3164 line with the regexp alone (no fast reader), for the test that compares
  // the two.
  void parseWithRegexpForTest(std::string_view line, Arena& arena, ParsedRecord& rec) const;

 private:
  explicit SyslogParser(const SyslogConfig& config);
  // Capture indices of the RFC 3164 regexp's groups.
  struct Indices3164 {
    int pri, time, host, ident, pid, message;
    bool ok;
  };
  static Indices3164 indicesOf(const RE2& re);
  bool match3164(std::string_view line, re2::StringPiece* m) const;
  void parse3164(std::string_view line, std::string_view year, Arena& arena, ParsedRecord& rec,
                 bool use_regexp = false) const;
  void parse5424(std::string_view line, Arena& arena, ParsedRecord& rec) const;
  void finish(const RE2& re, const NamedGroups& groups, std::string_view line, bool rfc5424,
              std::string_view year, Arena& arena, ParsedRecord& rec, bool use_regexp = false) const;

  const SyslogConfig config_;
  const RE2 rfc3164_;
  const RE2 rfc5424_;
  const NamedGroups groups3164_;
  const NamedGroups groups5424_;
  const Indices3164 idx3164_;
  const TimeParser time3164_;
  const TimeParser time5424_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_syslog
