// SPDX-License-Identifier: Apache-2.0
#include "monitor/log.h"

#include <unistd.h>

#include <cstdio>

#include "core/json.h"
#include "core/time.h"

namespace sluice {

namespace {
constexpr int64_t kSuppressWindowNs = 10 * kNanosPerSecond;
}

std::optional<LogLevel> parseLogLevel(std::string_view name) {
  if (name == "trace") return LogLevel::Trace;
  if (name == "debug") return LogLevel::Debug;
  if (name == "info") return LogLevel::Info;
  if (name == "warn" || name == "warning") return LogLevel::Warn;
  if (name == "error") return LogLevel::Error;
  if (name == "fatal") return LogLevel::Fatal;
  return std::nullopt;
}

std::string_view logLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::Trace: return "trace";
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
    case LogLevel::Fatal: return "fatal";
  }
  return "info";
}

Logger& Logger::global() {
  static Logger* logger = new Logger();  // Never destroyed: used until the last thread exits.
  return *logger;
}

void Logger::log(LogLevel level, std::string_view source, std::string_view message) {
  if (!enabled(level)) return;
  int64_t now = nowNs();
  std::string line;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::string key;
    key.reserve(source.size() + message.size() + 1);
    key.append(source).append("\x1f").append(message);
    auto [it, inserted] = seen_.try_emplace(std::move(key), Seen{now, 0});
    uint64_t suppressed = 0;
    if (!inserted) {
      if (now - it->second.last_ns < kSuppressWindowNs) {
        ++it->second.suppressed;
        return;
      }
      suppressed = it->second.suppressed;
      it->second = Seen{now, 0};
    }
    if (seen_.size() > 4096) seen_.clear();  // Bounded: messages may carry varying text.
    if (json_) {
      line += "{\"time\":\"";
      formatTime(line, now, "%Y-%m-%dT%H:%M:%S.%3NZ", true);
      line += "\",\"level\":\"";
      line += logLevelName(level);
      line += "\",\"source\":";
      appendJsonString(line, source);
      line += ",\"message\":";
      appendJsonString(line, message);
      if (suppressed) line += ",\"suppressed_repeats\":" + std::to_string(suppressed);
      line += "}\n";
    } else {
      formatTime(line, now, "%Y-%m-%dT%H:%M:%S.%3NZ", true);
      line += ' ';
      line += logLevelName(level);
      line += ' ';
      if (!source.empty()) {
        line += source;
        line += ' ';
      }
      line += message;
      if (suppressed) line += " (repeated " + std::to_string(suppressed) + " more times)";
      line += '\n';
    }
    if (capture_ != nullptr) {
      *capture_ += line;
      return;
    }
  }
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

void MalformedLineReporter::report(std::string_view where, std::string_view line, std::string_view error) {
  constexpr int kMaxPerSecond = 5;
  constexpr size_t kExcerpt = 200;
  int64_t now = nowNs();
  if (now - window_start_ns_ > kNanosPerSecond) {
    if (count_ > kMaxPerSecond) {
      log_->warn(std::to_string(count_ - kMaxPerSecond) +
                 " more malformed lines were not logged (see sluice_input_errors_total).");
    }
    window_start_ns_ = now;
    count_ = 0;
  }
  if (++count_ > kMaxPerSecond) return;
  std::string excerpt(line.substr(0, kExcerpt));
  for (char& c : excerpt) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  std::string msg = "Malformed line skipped (" + std::string(error) + "): " + std::string(where) + " line=";
  appendJsonString(msg, excerpt);
  if (line.size() > kExcerpt) msg += "...";
  log_->warn(msg);
}

}  // namespace sluice
