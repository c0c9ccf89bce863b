// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <re2/re2.h>

#include "core/field_path.h"
#include "core/json.h"
#include "config/params.h"
#include "core/parser.h"
#include "core/plugin_context.h"
#include "core/time.h"

namespace sluice {

// How time_key is read (Fluentd's time_type).
enum class TimeType { String, Unixtime, Float, Mixed };
inline constexpr Choice<TimeType> kTimeTypes[] = {
    {"string", TimeType::String}, {"unixtime", TimeType::Unixtime}, {"float", TimeType::Float}, {"mixed", TimeType::Mixed}};

// Parameters every parser shares (Fluentd's Parser base class). A parser's Config derives from
// ParserCommon and its table starts with parserCommonParams<Config>(...).
struct ParserCommon {
  std::optional<std::string> time_key;
  TimeType time_type = TimeType::String;
  std::optional<std::string> time_format;
  bool keep_time_key = false;
  bool localtime = true;
  bool utc = false;
  std::optional<std::string> timezone;
  std::optional<std::string> null_value_pattern;
  bool null_empty_string = false;
  bool estimate_current_event = true;
  StringMap types;
};

inline constexpr size_t kParserCommonParamCount = 11;

template <class C>
constexpr std::array<Param<C>, kParserCommonParamCount> parserCommonParams(const char* time_key_default) {
  return {{
      {"time_key", &ParserCommon::time_key, time_key_default, "Field holding the event time; removed from the record unless keep_time_key."},
      {"time_type", enumMember<C, &ParserCommon::time_type, kTimeTypes>(), "string", "How time_key is read: string (time_format, or ISO 8601 without one), unixtime (integer seconds), float (seconds with fraction), mixed (number or string).",},
      {"time_format", &ParserCommon::time_format, nullptr, "strptime format of time_key (%Y-%m-%dT%H:%M:%S.%N%z …). Without it, ISO 8601 / RFC 3339."},
      {"keep_time_key", &ParserCommon::keep_time_key, "false", "Keep time_key in the record."},
      {"localtime", &ParserCommon::localtime, "true", "Times without a zone are local time."},
      {"utc", &ParserCommon::utc, "false", "Times without a zone are UTC."},
      {"timezone", &ParserCommon::timezone, nullptr, "Offset for times without a zone, like +09:00."},
      {"null_value_pattern", &ParserCommon::null_value_pattern, nullptr, "String values matching this regexp become null.", {}, kRegexp},
      {"null_empty_string", &ParserCommon::null_empty_string, "false", "Empty string values become null."},
      {"estimate_current_event", &ParserCommon::estimate_current_event, "true", "Use the current time when the record has none."},
      {"types", &ParserCommon::types, nullptr, "Field type conversions: `field:integer,other:float,flag:bool,at:time:%d/%b/%Y,tags:array:|`."},
  }};
}

// The shared post-processing of parsed records: time extraction, `types`, null rules.
// Built once in a parser's create(); immutable and thread-safe.
class ParserTime {
 public:
  static Result<ParserTime> create(const ParserCommon& common);

  // Takes the time out of `rec.record` (per time_key/time_type) and applies types and null
  // rules. On a bad time sets rec.error.
  void apply(ParsedRecord& rec, Arena& arena) const;
  // Parses a time string with this parser's settings.
  std::optional<int64_t> parseTime(std::string_view text) const { return time_parser_.parse(text); }
  bool hasPostProcessing() const { return !time_key_.empty() || !conversions_.empty() || null_re_ || null_empty_; }

 private:
  struct Conversion {
    std::string field;
    enum class To { Integer, Float, Bool, String, Time, Array } to;
    std::shared_ptr<TimeParser> time;  // To::Time
    std::string delimiter = ",";       // To::Array
  };
  std::optional<int64_t> readTime(const Value& v) const;
  Value convert(const Conversion& c, Value v, Arena& arena) const;

  std::string time_key_;
  TimeType time_type_ = TimeType::String;
  bool keep_time_key_ = false;
  TimeParser time_parser_;
  std::vector<Conversion> conversions_;
  std::shared_ptr<const RE2> null_re_;
  bool null_empty_ = false;
};

// sluice_parser_<type>_repaired_values_total{error_type}: what parseJson repaired instead of
// dropping the line (invalid_utf8, lone_surrogate, number_as_text, duplicate_key). Registered
// in a parser's create(); publish() once per batch.
class JsonRepairCounters {
 public:
  explicit JsonRepairCounters(PluginMetrics& metrics);
  void publish(const JsonRepairs& r) const;

 private:
  Counter* utf8_;
  Counter* surrogates_;
  Counter* numbers_;
  Counter* duplicates_;
};

// The named groups of a regexp, in the order they appear, and the record they make from a
// match: each group a string field (a view into the matched text); a group that took no part
// is left out, as Fluentd's regexp parser does.
// Immutable; safe to share across threads.
class NamedGroups {
 public:
  explicit NamedGroups(const RE2& re);
  int matchSize() const { return match_size_; }  // submatches to ask RE2 for
  size_t size() const { return groups_.size(); }
  Value toRecord(const re2::StringPiece* match, Arena& arena) const;

 private:
  std::vector<std::pair<int, std::string>> groups_;  // capture index, field name
  int match_size_;
};

}  // namespace sluice
