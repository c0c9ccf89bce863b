// SPDX-License-Identifier: Apache-2.0
#include "core/parser_common.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "config/types.h"
#include "core/ruby_regex.h"

namespace sluice {

Result<ParserTime> ParserTime::create(const ParserCommon& common) {
  ParserTime t;
  t.time_key_ = common.time_key.value_or("");
  t.time_type_ = common.time_type;
  t.keep_time_key_ = common.keep_time_key;
  std::optional<int32_t> offset;
  if (common.timezone) {
    offset = parseZoneOffset(*common.timezone);
    if (!offset) {
      return Status::invalidConfig("timezone '" + *common.timezone +
                                   "' is not an offset like +09:00 (zone names are not supported)");
    }
  }
  t.time_parser_ = TimeParser(common.time_format.value_or(""), common.utc || !common.localtime, offset);
  for (const auto& [field, spec] : common.types) {
    Conversion c;
    c.field = field;
    std::string_view s = spec;
    size_t colon = s.find(':');
    std::string_view kind = s.substr(0, colon);
    std::string_view arg = colon == std::string_view::npos ? std::string_view() : s.substr(colon + 1);
    if (kind == "integer" || kind == "int") c.to = Conversion::To::Integer;
    else if (kind == "float") c.to = Conversion::To::Float;
    else if (kind == "bool") c.to = Conversion::To::Bool;
    else if (kind == "string") c.to = Conversion::To::String;
    else if (kind == "time") {
      c.to = Conversion::To::Time;
      c.time = std::make_shared<TimeParser>(std::string(arg), common.utc || !common.localtime, offset);
    } else if (kind == "array") {
      c.to = Conversion::To::Array;
      if (!arg.empty()) c.delimiter = std::string(arg);
    } else {
      return Status::invalidConfig("types: unknown type '" + std::string(kind) + "' for field '" +
                                   field + "' (integer, float, bool, string, time, array)");
    }
    t.conversions_.push_back(std::move(c));
  }
  if (common.null_value_pattern) {
    auto re = compileRubyRegex(*common.null_value_pattern);
    if (!re) return re.takeStatus();
    t.null_re_ = std::shared_ptr<const RE2>(std::move(*re));
  }
  t.null_empty_ = common.null_empty_string;
  return t;
}

namespace {

// Seconds (possibly fractional) to nanoseconds; nullopt when out of int64's range.
std::optional<int64_t> secondsToNanos(double s) {
  if (!(s > -9.2e9 && s < 9.2e9)) return std::nullopt;  // also rejects NaN
  return static_cast<int64_t>(s * 1e9);
}

}  // namespace

std::optional<int64_t> ParserTime::readTime(const Value& v) const {
  switch (time_type_) {
    case TimeType::Unixtime:
      if (v.isNumber()) return secondsToNanos(std::trunc(v.asDouble()));
      if (v.isString()) {
        auto i = config::parseInteger(v.asString());
        if (i) return secondsToNanos(static_cast<double>(*i));
      }
      return std::nullopt;
    case TimeType::Float:
      if (v.isNumber()) return secondsToNanos(v.asDouble());
      if (v.isString()) {
        auto d = config::parseFloat(v.asString());
        if (d) return secondsToNanos(*d);
      }
      return std::nullopt;
    case TimeType::Mixed:
      if (v.isNumber()) return secondsToNanos(v.asDouble());
      [[fallthrough]];
    case TimeType::String:
      if (v.isString()) return time_parser_.parse(v.asString());
      if (v.isNumber()) return secondsToNanos(v.asDouble());  // Fluentd: numbers are epoch seconds
      return std::nullopt;
  }
  return std::nullopt;
}

Value ParserTime::convert(const Conversion& c, Value v, Arena& arena) const {
  if (!v.isString()) return v;
  std::string_view s = v.asString();
  switch (c.to) {
    case Conversion::To::Integer: {
      int64_t i = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), i);
      return r.ec == std::errc() ? Value::integer(i) : Value::integer(0);
    }
    case Conversion::To::Float: {
      double d = 0;
      auto r = std::from_chars(s.data(), s.data() + s.size(), d);
      return r.ec == std::errc() ? Value::real(d) : Value::real(0);
    }
    case Conversion::To::Bool:
      return Value::boolean(s == "true" || s == "yes" || s == "1");
    case Conversion::To::String:
      return v;
    case Conversion::To::Time: {
      auto t = c.time->parse(s);
      if (!t) return v;
      return Value::real(static_cast<double>(*t) / 1e9);
    }
    case Conversion::To::Array: {
      Value arr = Value::array(nullptr, 0, true);
      size_t start = 0;
      while (true) {
        size_t d = s.find(c.delimiter, start);
        arr.appendItem(Value::string(s.substr(start, d == std::string_view::npos ? s.npos : d - start)), arena);
        if (d == std::string_view::npos) break;
        start = d + c.delimiter.size();
      }
      return arr;
    }
  }
  return v;
}

void ParserTime::apply(ParsedRecord& rec, Arena& arena) const {
  if (!rec.record.isObject()) return;
  if (!time_key_.empty()) {
    if (Value* tv = rec.record.find(time_key_)) {
      auto t = readTime(*tv);
      if (!t) {
        rec.error = "invalid time value";
        return;
      }
      rec.time_ns = *t;
      rec.has_time = true;
      if (!keep_time_key_) rec.record.removeMember(time_key_);
    }
  }
  for (const Conversion& c : conversions_) {
    if (Value* v = rec.record.find(c.field)) *v = convert(c, *v, arena);
  }
  if (null_re_ || null_empty_) {
    for (Member& m : rec.record.members()) {
      if (!m.value.isString()) continue;
      std::string_view s = m.value.asString();
      if ((null_empty_ && s.empty()) || (null_re_ && RE2::FullMatch(s, *null_re_))) m.value = Value();
    }
  }
}

NamedGroups::NamedGroups(const RE2& re) : match_size_(re.NumberOfCapturingGroups() + 1) {
  for (const auto& [name, index] : re.NamedCapturingGroups()) groups_.emplace_back(index, name);
  std::sort(groups_.begin(), groups_.end());
}

Value NamedGroups::toRecord(const re2::StringPiece* match, Arena& arena) const {
  Member* members = arena.allocArray<Member>(std::max<size_t>(4, std::bit_ceil(groups_.size())));
  uint32_t n = 0;
  for (const auto& [index, name] : groups_) {
    const re2::StringPiece& m = match[index];
    if (m.data() == nullptr) continue;  // Fluentd leaves out a group that took no part
    members[n++] = Member{name, Value::string(std::string_view(m.data(), m.size()))};
  }
  return Value::object(members, n, true);
}

JsonRepairCounters::JsonRepairCounters(PluginMetrics& metrics) {
  auto make = [&](const char* type) {
    return &metrics.pluginCounter("repaired_values_total",
                                  "JSON repaired rather than dropped: invalid UTF-8 bytes and lone "
                                  "surrogates made U+FFFD, numbers kept as their text, duplicate "
                                  "keys dropped (the last one wins).",
                                  {{"error_type", type}});
  };
  utf8_ = make("invalid_utf8");
  surrogates_ = make("lone_surrogate");
  numbers_ = make("number_as_text");
  duplicates_ = make("duplicate_key");
}

void JsonRepairCounters::publish(const JsonRepairs& r) const {
  if (r.total() == 0) return;
  if (r.invalid_utf8) utf8_->add(r.invalid_utf8);
  if (r.lone_surrogates) surrogates_->add(r.lone_surrogates);
  if (r.number_text) numbers_->add(r.number_text);
  if (r.duplicate_keys) duplicates_->add(r.duplicate_keys);
}

}  // namespace sluice
