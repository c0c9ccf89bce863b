// SPDX-License-Identifier: Apache-2.0
#include "core/time.h"

#include <charconv>
#include <chrono>
#include <cstring>
#include <ctime>

namespace sluice {
namespace {

constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kMonthsLong[] = {"january", "february", "march",     "april",
                                       "may",     "june",     "july",      "august",
                                       "september", "october", "november", "december"};
constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr const char* kDaysLong[] = {"sunday",   "monday", "tuesday", "wednesday",
                                     "thursday", "friday", "saturday"};

bool isDigit(char c) { return c >= '0' && c <= '9'; }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

// Reads up to `max` digits (at least one) into `out`.
bool readInt(std::string_view s, size_t& pos, int max, int64_t& out) {
  size_t start = pos;
  int64_t v = 0;
  while (pos < s.size() && isDigit(s[pos]) && int(pos - start) < max) {
    v = v * 10 + (s[pos] - '0');
    ++pos;
  }
  if (pos == start) return false;
  out = v;
  return true;
}

// Reads a fraction of a second; returns nanoseconds. Extra digits are ignored.
bool readFraction(std::string_view s, size_t& pos, int max_digits, int64_t& ns) {
  size_t start = pos;
  int64_t v = 0;
  int digits = 0;
  while (pos < s.size() && isDigit(s[pos]) && digits < max_digits) {
    if (digits < 9) v = v * 10 + (s[pos] - '0');
    ++digits;
    ++pos;
  }
  if (pos == start) return false;
  for (int d = std::min(digits, 9); d < 9; ++d) v *= 10;
  ns = v;
  return true;
}

bool matchName(std::string_view s, size_t& pos, const char* const* names, int count, int& index) {
  for (int i = 0; i < count; ++i) {
    size_t len = std::strlen(names[i]);
    if (pos + len <= s.size()) {
      bool eq = true;
      for (size_t k = 0; k < len; ++k) {
        if (lower(s[pos + k]) != names[i][k]) {
          eq = false;
          break;
        }
      }
      if (eq) {
        pos += len;
        index = i;
        return true;
      }
    }
  }
  return false;
}

bool readZone(std::string_view s, size_t& pos, int32_t& offset) {
  if (pos >= s.size()) return false;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
    offset = 0;
    return true;
  }
  if (s.substr(pos, 3) == "UTC" || s.substr(pos, 3) == "GMT") {
    pos += 3;
    offset = 0;
    return true;
  }
  if (s[pos] != '+' && s[pos] != '-') return false;
  int sign = s[pos] == '-' ? -1 : 1;
  size_t p = pos + 1;
  int64_t hh = 0, mm = 0;
  size_t before = p;
  if (!readInt(s, p, 2, hh) || p - before != 2) return false;
  if (p < s.size() && s[p] == ':') ++p;
  before = p;
  if (p < s.size() && isDigit(s[p])) {
    if (!readInt(s, p, 2, mm) || p - before != 2) return false;
  }
  pos = p;
  offset = sign * int32_t(hh * 3600 + mm * 60);
  return true;
}

int64_t localOffsetFor(int64_t epoch_s) {
  // Cached per hour: local offsets only change on hour boundaries in practice.
  thread_local int64_t cached_hour = INT64_MIN;
  thread_local int64_t cached_offset = 0;
  int64_t hour = epoch_s / 3600;
  if (hour != cached_hour) {
    time_t t = static_cast<time_t>(epoch_s);
    struct tm tm;
    localtime_r(&t, &tm);
    cached_offset = tm.tm_gmtoff;
    cached_hour = hour;
  }
  return cached_offset;
}

// Seconds and nanoseconds to nanoseconds; nullopt outside int64 (years beyond ±292).
std::optional<int64_t> toNanos(int64_t secs, int64_t ns) {
  constexpr int64_t kMaxSecs = INT64_MAX / kNanosPerSecond - 1;
  if (secs > kMaxSecs || secs < -kMaxSecs) return std::nullopt;
  return secs * kNanosPerSecond + ns;
}

// Reads "YYYY-MM-DDTHH:MM:SS" (T, t or a space in the middle) at the start of `s`; false when
// any of its 19 bytes is not where that form has it (the general reader then decides).
bool fixedIsoPrefix(std::string_view s, int64_t& y, int64_t& mo, int64_t& d, int64_t& h, int64_t& mi,
                    int64_t& sec) {
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':') return false;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
  static constexpr int kDigits[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
  unsigned v[19];
  for (int i : kDigits) {
    v[i] = static_cast<unsigned>(static_cast<unsigned char>(s[i]) - '0');
    if (v[i] > 9) return false;
  }
  y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
  mo = v[5] * 10 + v[6];
  d = v[8] * 10 + v[9];
  h = v[11] * 10 + v[12];
  mi = v[14] * 10 + v[15];
  sec = v[17] * 10 + v[18];
  return true;
}

// daysFromCivil for the last date this thread asked about (log times come in runs of a day).
int64_t cachedDaysFromCivil(int64_t y, unsigned m, unsigned d) {
  thread_local int64_t last_y = INT64_MIN;
  thread_local unsigned last_md = 0;
  thread_local int64_t last_days = 0;
  const unsigned md = m * 64 + d;
  if (y != last_y || md != last_md) {
    last_days = daysFromCivil(y, m, d);
    last_y = y;
    last_md = md;
  }
  return last_days;
}

}  // namespace

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int32_t> parseZoneOffset(std::string_view zone) {
  size_t pos = 0;
  int32_t offset = 0;
  if (!readZone(zone, pos, offset) || pos != zone.size()) return std::nullopt;
  return offset;
}

int64_t TimeParser::applyZone(int64_t local_epoch_s, std::optional<int32_t> parsed) const {
  if (parsed) return local_epoch_s - *parsed;
  if (fixed_offset_s_) return local_epoch_s - *fixed_offset_s_;
  if (utc_) return local_epoch_s;
  // Two steps converge except within the hour of a DST change.
  int64_t guess = local_epoch_s - localOffsetFor(local_epoch_s);
  return local_epoch_s - localOffsetFor(guess);
}

std::optional<int64_t> TimeParser::parse(std::string_view text) const {
  return format_.empty() ? parseIso(text) : parseFormat(text);
}

std::optional<int64_t> TimeParser::parseIso(std::string_view s) const {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  size_t pos = 0;
  int64_t y, mo, d, h = 0, mi = 0, sec = 0, ns = 0;
  auto expect = [&](char c) {
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  };
  std::optional<int32_t> zone;
  bool has_time;
  if (fixedIsoPrefix(s, y, mo, d, h, mi, sec)) {
    // YYYY-MM-DDTHH:MM:SS at fixed places, as the general path below would read them: every
    // CRI line's time and most JSON times. The fraction and zone are read as below.
    pos = 19;
    has_time = true;
  } else {
    if (!readInt(s, pos, 4, y) || pos != 4 || !expect('-')) return std::nullopt;
    if (!readInt(s, pos, 2, mo) || !expect('-') || !readInt(s, pos, 2, d)) return std::nullopt;
    has_time = pos < s.size();
    if (has_time) {
      if (!(expect('T') || expect('t') || expect(' '))) return std::nullopt;
      if (!readInt(s, pos, 2, h) || !expect(':') || !readInt(s, pos, 2, mi)) return std::nullopt;
      if (expect(':') && !readInt(s, pos, 2, sec)) return std::nullopt;
    }
  }
  if (has_time) {
    if ((expect('.') || expect(',')) && !readFraction(s, pos, 64, ns)) return std::nullopt;
    if (pos < s.size()) {
      expect(' ');
      int32_t off;
      if (!readZone(s, pos, off)) return std::nullopt;
      zone = off;
    }
    if (pos != s.size()) return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60) return std::nullopt;
  int64_t local = cachedDaysFromCivil(y, unsigned(mo), unsigned(d)) * 86400 + h * 3600 + mi * 60 + sec;
  return toNanos(applyZone(local, zone), ns);
}

std::optional<int64_t> TimeParser::parseFormat(std::string_view s) const {
  std::string_view f = format_;
  size_t pos = 0;
  int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0, ns = 0;
  int64_t yday = -1;
  bool pm = false, has_ampm = false;
  std::optional<int32_t> zone;
  std::optional<int64_t> epoch;
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c != '%') {
      if (c == ' ') {
        while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
        continue;
      }
      if (pos >= s.size() || s[pos] != c) return std::nullopt;
      ++pos;
      continue;
    }
    if (++i >= f.size()) return std::nullopt;
    int width = 0;
    while (i < f.size() && isDigit(f[i])) width = width * 10 + (f[i++] - '0');
    if (i < f.size() && f[i] == ':') ++i;  // %:z
    if (i >= f.size()) return std::nullopt;
    char spec = f[i];
    bool ok = true;
    switch (spec) {
      case 'Y': {
        bool neg = pos < s.size() && s[pos] == '-';
        if (neg) ++pos;
        ok = readInt(s, pos, 5, y);
        if (neg) y = -y;
        break;
      }
      case 'y': ok = readInt(s, pos, 2, y); y += y < 69 ? 2000 : 1900; break;
      case 'm': ok = readInt(s, pos, 2, mo); break;
      case 'd': case 'e':
        while (pos < s.size() && s[pos] == ' ') ++pos;
        ok = readInt(s, pos, 2, d);
        break;
      case 'j': ok = readInt(s, pos, 3, yday); break;
      case 'H': case 'k':
        while (pos < s.size() && s[pos] == ' ') ++pos;
        ok = readInt(s, pos, 2, h);
        break;
      case 'I': case 'l':
        while (pos < s.size() && s[pos] == ' ') ++pos;
        ok = readInt(s, pos, 2, h);
        break;
      case 'M': ok = readInt(s, pos, 2, mi); break;
      case 'S': ok = readInt(s, pos, 2, sec); break;
      case 'N': ok = readFraction(s, pos, width ? width : 64, ns); break;
      // Ruby's strptime reads every digit for %L as for %N (fluent-plugin-parser-cri's
      // `%Y-%m-%dT%H:%M:%S.%L%z` keeps nanoseconds).
      case 'L': ok = readFraction(s, pos, width ? width : 64, ns); break;
      case 'p': case 'P': {
        has_ampm = true;
        if (pos + 2 <= s.size()) {
          char a = lower(s[pos]);
          pm = a == 'p';
          ok = (a == 'a' || a == 'p') && lower(s[pos + 1]) == 'm';
          pos += 2;
        } else {
          ok = false;
        }
        break;
      }
      case 'b': case 'h': case 'B': {
        int idx;
        ok = matchName(s, pos, kMonthsLong, 12, idx) || matchName(s, pos, kMonths, 12, idx);
        if (ok) mo = idx + 1;
        break;
      }
      case 'a': case 'A': {
        int idx;
        ok = matchName(s, pos, kDaysLong, 7, idx) || matchName(s, pos, kDays, 7, idx);
        break;
      }
      case 'z': case 'Z': {
        int32_t off;
        ok = readZone(s, pos, off);
        if (ok) zone = off;
        break;
      }
      case 's': {
        int64_t v;
        ok = readInt(s, pos, 18, v);
        if (ok) epoch = v;
        break;
      }
      case 'T':
        ok = readInt(s, pos, 2, h) && pos < s.size() && s[pos++] == ':' &&
             readInt(s, pos, 2, mi) && pos < s.size() && s[pos++] == ':' &&
             readInt(s, pos, 2, sec);
        break;
      case 'F':
        ok = readInt(s, pos, 5, y) && pos < s.size() && s[pos++] == '-' &&
             readInt(s, pos, 2, mo) && pos < s.size() && s[pos++] == '-' &&
             readInt(s, pos, 2, d);
        break;
      case '%': ok = pos < s.size() && s[pos++] == '%'; break;
      default: return std::nullopt;
    }
    if (!ok) return std::nullopt;
  }
  if (epoch) return toNanos(*epoch, ns);
  if (has_ampm) {
    if (h == 12) h = 0;
    if (pm) h += 12;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || sec > 60) return std::nullopt;
  int64_t days = yday > 0 ? daysFromCivil(y, 1, 1) + yday - 1 : daysFromCivil(y, unsigned(mo), unsigned(d));
  int64_t local = days * 86400 + h * 3600 + mi * 60 + sec;
  return toNanos(applyZone(local, zone), ns);
}

void formatTime(std::string& out, int64_t time_ns, std::string_view format, bool utc) {
  int64_t secs = time_ns / kNanosPerSecond;
  int64_t frac = time_ns % kNanosPerSecond;
  if (frac < 0) {
    frac += kNanosPerSecond;
    --secs;
  }
  // Broken-down time cached per second and thread: formatting is per event.
  thread_local int64_t cached_secs = INT64_MIN;
  thread_local bool cached_utc = false;
  thread_local struct tm tm;
  if (secs != cached_secs || utc != cached_utc) {
    time_t t = static_cast<time_t>(secs);
    if (utc) {
      gmtime_r(&t, &tm);
    } else {
      localtime_r(&t, &tm);
    }
    cached_secs = secs;
    cached_utc = utc;
  }
  auto put = [&](int64_t v, int width) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    int len = int(r.ptr - buf);
    for (int k = len; k < width; ++k) out += '0';
    out.append(buf, len);
  };
  for (size_t i = 0; i < format.size(); ++i) {
    char c = format[i];
    if (c != '%' || i + 1 >= format.size()) {
      out += c;
      continue;
    }
    ++i;
    int width = 0;
    while (i < format.size() && isDigit(format[i])) width = width * 10 + (format[i++] - '0');
    bool colon = false;
    if (i < format.size() && format[i] == ':') {
      colon = true;
      ++i;
    }
    if (i >= format.size()) break;
    switch (format[i]) {
      case 'Y': put(tm.tm_year + 1900, 4); break;
      case 'y': put((tm.tm_year + 1900) % 100, 2); break;
      case 'm': put(tm.tm_mon + 1, 2); break;
      case 'd': put(tm.tm_mday, 2); break;
      case 'e': if (tm.tm_mday < 10) out += ' '; put(tm.tm_mday, 1); break;
      case 'j': put(tm.tm_yday + 1, 3); break;
      case 'H': put(tm.tm_hour, 2); break;
      case 'I': put(tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12, 2); break;
      case 'M': put(tm.tm_min, 2); break;
      case 'S': put(tm.tm_sec, 2); break;
      case 'p': out += tm.tm_hour < 12 ? "AM" : "PM"; break;
      case 'L': put(frac / 1000000, 3); break;
      case 'N': {
        int digits = width ? std::min(width, 9) : 9;
        int64_t v = frac;
        for (int k = digits; k < 9; ++k) v /= 10;
        put(v, digits);
        break;
      }
      case 'z': {
        long off = tm.tm_gmtoff;
        out += off < 0 ? '-' : '+';
        if (off < 0) off = -off;
        put(off / 3600, 2);
        if (colon) out += ':';
        put((off % 3600) / 60, 2);
        break;
      }
      case 'Z': out += utc ? "UTC" : (tm.tm_zone ? tm.tm_zone : ""); break;
      case 's': put(secs, 1); break;
      case 'b': { const char* m = kMonths[tm.tm_mon]; out += char(m[0] - 32); out.append(m + 1, 2); break; }
      case 'a': { const char* d = kDays[tm.tm_wday]; out += char(d[0] - 32); out.append(d + 1, 2); break; }
      case 'T':
        put(tm.tm_hour, 2); out += ':'; put(tm.tm_min, 2); out += ':'; put(tm.tm_sec, 2);
        break;
      case 'F':
        put(tm.tm_year + 1900, 4); out += '-'; put(tm.tm_mon + 1, 2); out += '-'; put(tm.tm_mday, 2);
        break;
      case '%': out += '%'; break;
      default: out += '%'; out += format[i]; break;
    }
  }
}

}  // namespace sluice
