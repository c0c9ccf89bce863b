// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice {

enum class LogLevel { Trace, Debug, Info, Warn, Error, Fatal };

std::optional<LogLevel> parseLogLevel(std::string_view name);
std::string_view logLevelName(LogLevel level);

// sluice's own log: leveled lines on stderr, as text
// (`<time> <level> [<kind>:<type>:<id>] Message. key=value`) or JSON. Identical messages from
// the same source are suppressed for 10 s and the count of suppressed repeats is reported with
// the next one. Thread-safe. One per process: logging is the one process-wide facility.
class Logger {
 public:
  static Logger& global();

  void setLevel(LogLevel level) { level_ = level; }
  LogLevel level() const { return level_; }
  void setJson(bool json) { json_ = json; }
  // Captures lines instead of writing them to stderr (tests).
  void captureForTest(std::string* sink) { capture_ = sink; }

  bool enabled(LogLevel level) const { return level >= level_; }
  void log(LogLevel level, std::string_view source, std::string_view message);

 private:
  LogLevel level_ = LogLevel::Info;
  bool json_ = false;
  std::string* capture_ = nullptr;
  std::mutex mu_;
  struct Seen {
    int64_t last_ns;
    uint64_t suppressed;
  };
  std::unordered_map<std::string, Seen> seen_;  // guarded by mu_
};

// A logger bound to one source, e.g. "[filter:grep:grep.0]". Cheap to copy.
class SourceLogger {
 public:
  SourceLogger() = default;
  explicit SourceLogger(std::string source) : source_(std::move(source)) {}

  void trace(std::string_view m) const { Logger::global().log(LogLevel::Trace, source_, m); }
  void debug(std::string_view m) const { Logger::global().log(LogLevel::Debug, source_, m); }
  void info(std::string_view m) const { Logger::global().log(LogLevel::Info, source_, m); }
  void warn(std::string_view m) const { Logger::global().log(LogLevel::Warn, source_, m); }
  void error(std::string_view m) const { Logger::global().log(LogLevel::Error, source_, m); }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

// Reports rejected input lines with an excerpt (control characters blanked, 200 bytes at
// most), at most 5 a second; the number not reported is logged when the next second starts.
// Not thread-safe: one per input thread.
class MalformedLineReporter {
 public:
  explicit MalformedLineReporter(const SourceLogger& log) : log_(&log) {}
  // `where` is like "source=stdin" or "path=/var/log/x.log".
  void report(std::string_view where, std::string_view line, std::string_view error);

 private:
  const SourceLogger* log_;
  int64_t window_start_ns_ = 0;
  int count_ = 0;
};

}  // namespace sluice
