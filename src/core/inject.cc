// SPDX-License-Identifier: Apache-2.0
#include "core/inject.h"

#include <cstdio>

#include "config/bind.h"
#include "core/time.h"

namespace sluice {

const std::array<Param<InjectConfig>, 10>& injectParams() {
  using C = InjectConfig;
  static const std::array<Param<C>, 10> kParams = {{
      {"hostname_key", &C::hostname_key, nullptr, "Field set to the hostname."},
      {"hostname", &C::hostname, nullptr, "The hostname written under hostname_key (default: this machine's name)."},
      {"worker_id_key", &C::worker_id_key, nullptr, "Field set to the worker id (always 0: sluice is one process)."},
      {"tag_key", &C::tag_key, nullptr, "Field set to the event's tag."},
      {"time_key", &C::time_key, nullptr, "Field set to the event's time, written as time_type says."},
      {"time_type", enumMember<&C::time_type, kInjectTimeTypes>(), "float",
       "float: seconds with microseconds; unixtime: whole seconds; unixtime_millis/_micros/_nanos: integers; string: time_format."},
      {"time_format", &C::time_format, nullptr,
       "strftime format for time_type string (%N, %3N… for fractions). Default: ISO 8601 (`%Y-%m-%dT%H:%M:%S%:z`)."},
      {"localtime", &C::localtime, "true", "time_type string: write local time."},
      {"utc", &C::utc, "false", "time_type string: write UTC (overrides localtime)."},
      {"timezone", &C::timezone, nullptr, "time_type string: a fixed offset such as +09:00 or -0700 (overrides localtime and utc)."},
  }};
  return kParams;
}

SectionInfo injectSection() {
  return SectionInfo{"inject", "Fields added to each record before it is written (Fluentd's <inject>).",
                     describeParams(std::span<const Param<InjectConfig>>(injectParams()))};
}

namespace {

// `format` with %z, %:z and %Z replaced by a fixed offset (`offset_s` east of UTC), for
// formatting a shifted time in UTC.
std::string withOffset(std::string_view format, int32_t offset_s) {
  char sign = offset_s < 0 ? '-' : '+';
  int32_t a = offset_s < 0 ? -offset_s : offset_s;
  char basic[8], extended[8];
  std::snprintf(basic, sizeof basic, "%c%02d%02d", sign, a / 3600, a / 60 % 60);
  std::snprintf(extended, sizeof extended, "%c%02d:%02d", sign, a / 3600, a / 60 % 60);
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 >= format.size()) {
      out += format[i];
    } else if (format[i + 1] == 'z') {
      out += basic;
      ++i;
    } else if (format[i + 1] == 'Z') {
      out += extended;
      ++i;
    } else if (format.substr(i + 1, 2) == ":z") {
      out += extended;
      i += 2;
    } else {
      out += format.substr(i, 2);  // %% and every other directive, for formatTime
      ++i;
    }
  }
  return out;
}

}  // namespace

Result<Injector> Injector::create(const config::Element* section, std::string_view hostname) {
  Injector in;
  if (section == nullptr) return in;
  InjectConfig c;
  Status s = bindParams(std::span<const Param<InjectConfig>>(injectParams()), *section, c);
  if (!s) return s.withPrefix(section->where.str() + ": <inject>: ");
  in.hostname_key_ = c.hostname_key.value_or("");
  in.hostname_ = c.hostname.value_or(std::string(hostname));
  in.worker_id_key_ = c.worker_id_key.value_or("");
  in.tag_key_ = c.tag_key.value_or("");
  in.time_key_ = c.time_key.value_or("");
  in.time_type_ = c.time_type;
  in.utc_ = c.utc || !c.localtime;
  if (c.time_format) in.time_format_ = *c.time_format;
  if (c.timezone) {
    auto offset = parseZoneOffset(*c.timezone);
    if (!offset) {
      return Status::invalidConfig(section->where.str() + ": <inject>: timezone '" + *c.timezone +
                                   "' is not a fixed offset such as +09:00 (zone names are not supported)");
    }
    if (in.time_format_.empty()) in.time_format_ = "%Y-%m-%dT%H:%M:%S%:z";
    in.time_format_ = withOffset(in.time_format_, *offset);
    in.shift_ns_ = int64_t{*offset} * kNanosPerSecond;
    in.utc_ = true;
  } else if (in.time_format_.empty()) {
    // Ruby's Time#iso8601: "Z" for UTC, the local offset otherwise.
    in.time_format_ = in.utc_ ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S%:z";
  }
  in.enabled_ = !in.hostname_key_.empty() || !in.worker_id_key_.empty() || !in.tag_key_.empty() ||
                !in.time_key_.empty();
  return in;
}

void Injector::appendTime(int64_t time_ns, std::string& out) const {
  formatTime(out, time_ns + shift_ns_, time_format_, utc_);
}

void Injector::apply(Event& event, Arena& arena) const {
  if (!enabled_) return;
  Value record = event.record.isObject() ? event.record.shallowCopy(arena) : Value::emptyObject();
  if (!hostname_key_.empty()) record.setMember(hostname_key_, Value::string(hostname_), arena);
  if (!worker_id_key_.empty()) record.setMember(worker_id_key_, Value::integer(0), arena);
  if (!tag_key_.empty()) record.setMember(tag_key_, Value::string(event.tag), arena);
  if (!time_key_.empty()) {
    const int64_t ns = event.time_ns;
    // Division that rounds towards minus infinity (times before 1970 stay in their second).
    auto floorDiv = [](int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); };
    Value t;
    switch (time_type_) {
      case InjectTimeType::Float: {
        // Fluentd: time.to_r.truncate(6).to_f, seconds with microseconds.
        int64_t us = floorDiv(ns, 1000);
        t = Value::real(static_cast<double>(floorDiv(us, 1000000)) + static_cast<double>(us - floorDiv(us, 1000000) * 1000000) / 1e6);
        break;
      }
      case InjectTimeType::Unixtime: t = Value::integer(floorDiv(ns, kNanosPerSecond)); break;
      case InjectTimeType::UnixtimeMillis: t = Value::integer(floorDiv(ns, 1000000)); break;
      case InjectTimeType::UnixtimeMicros: t = Value::integer(floorDiv(ns, 1000)); break;
      case InjectTimeType::UnixtimeNanos: t = Value::integer(ns); break;
      case InjectTimeType::String: {
        thread_local std::string text;
        text.clear();
        appendTime(ns, text);
        t = Value::string(arena.copy(text));
        break;
      }
    }
    record.setMember(time_key_, t, arena);
  }
  event.record = record;
}

const Batch& Injector::injected(const Batch& batch, Batch& scratch) const {
  if (!enabled_) return batch;
  scratch.clear();
  for (const Event& e : batch.events()) {
    Event copy = e;
    apply(copy, scratch.arena());
    scratch.add(copy.tag, copy.time_ns, copy.record, copy.origin);
  }
  return scratch;
}

}  // namespace sluice
