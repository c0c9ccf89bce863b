// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice {

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;

int64_t nowNs();

// Parses times the way Fluentd's TimeParser does, without Ruby: a strptime subset
// (%Y %m %d %H %M %S %N %L %3N/%6N/%9N %z %Z %b %B %a %A %y %e %j %I %p %T %F %s %%), or,
// with no format, ISO 8601 / RFC 3339 and "YYYY-MM-DD HH:MM:SS[.frac] [zone]".
// Times without a zone are local unless `utc`, or shifted by `fixed_offset_s` when set.
// Immutable after construction; safe to share across threads.
class TimeParser {
 public:
  TimeParser() = default;
  TimeParser(std::string format, bool utc, std::optional<int32_t> fixed_offset_s = {})
      : format_(std::move(format)), utc_(utc), fixed_offset_s_(fixed_offset_s) {}

  std::optional<int64_t> parse(std::string_view text) const;

 private:
  std::optional<int64_t> parseFormat(std::string_view text) const;
  std::optional<int64_t> parseIso(std::string_view text) const;
  int64_t applyZone(int64_t local_epoch_s, std::optional<int32_t> parsed_offset_s) const;

  std::string format_;
  bool utc_ = false;
  std::optional<int32_t> fixed_offset_s_;
};

// Parses "+09:00", "-0700", "Z", "UTC" into seconds east of UTC.
std::optional<int32_t> parseZoneOffset(std::string_view zone);

// strftime for nanosecond times, with %N (%3N, %6N, %9N), %L, %z, %:z and %s.
// Appends to `out`. Uses UTC when `utc`, else the process's local zone.
void formatTime(std::string& out, int64_t time_ns, std::string_view format, bool utc);

// Days since 1970-01-01 for a civil date (proleptic Gregorian).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d);

}  // namespace sluice
