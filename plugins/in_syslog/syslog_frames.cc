// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_syslog/syslog_frames.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace sluice::plugins::in_syslog {
namespace {

constexpr std::array<std::string_view, 24> kFacilities = {
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",  "ntp",    "audit",  "alert",  "at",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
constexpr std::array<std::string_view, 8> kSeverities = {"emerg", "alert",  "crit", "err",
                                                         "warn",  "notice", "info", "debug"};

// Digits of an octet count: RFC 6587 allows 1-9 then digits; more than 10 digits is nonsense.
constexpr size_t kMaxCountDigits = 10;

}  // namespace

FrameReader::FrameReader(FrameType type, std::string delimiter, size_t limit)
    : type_(type), delimiter_(delimiter.empty() ? std::string("\n") : std::move(delimiter)), limit_(limit) {}

void FrameReader::append(std::string_view data) { buf_.append(data); }

char* FrameReader::writeSpace(size_t n) {
  written_from_ = buf_.size();
  buf_.resize(buf_.size() + n);
  return buf_.data() + written_from_;
}

void FrameReader::commit(size_t n) { buf_.resize(written_from_ + n); }

void FrameReader::compact() {
  if (pos_ == 0) return;
  buf_.erase(0, pos_);
  pos_ = 0;
}

FrameReader::Result FrameReader::next(std::string_view& msg, std::string& error) {
  std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
  if (type_ == FrameType::Traditional) {
    for (;;) {
      size_t from = scanned_ >= delimiter_.size() ? scanned_ - (delimiter_.size() - 1) : 0;
      size_t at = rest.find(delimiter_, from);
      if (at == std::string_view::npos) {
        if (skipping_) {
          // Keep only what might be the start of a delimiter.
          size_t keep = std::min(rest.size(), delimiter_.size() - 1);
          pos_ = buf_.size() - keep;
          scanned_ = keep;
          return Result::NeedMore;
        }
        scanned_ = rest.size();
        if (rest.size() > limit_) {
          skipping_ = true;
          error = "a message longer than message_length_limit (" + std::to_string(limit_) +
                  " bytes) was skipped up to its delimiter";
          size_t keep = std::min(rest.size(), delimiter_.size() - 1);  // a delimiter's start
          pos_ = buf_.size() - keep;
          scanned_ = keep;
          return Result::Skipped;
        }
        return Result::NeedMore;
      }
      pos_ += at + delimiter_.size();
      scanned_ = 0;
      std::string_view m = rest.substr(0, at);
      rest.remove_prefix(at + delimiter_.size());
      if (skipping_) {
        skipping_ = false;
        continue;  // the tail of the message already reported
      }
      if (m.size() > limit_) {
        error = "a message of " + std::to_string(m.size()) + " bytes, over message_length_limit (" +
                std::to_string(limit_) + " bytes), was skipped";
        return Result::Skipped;
      }
      if (!m.empty() && m.back() == '\r') m.remove_suffix(1);
      if (m.empty()) continue;  // blank lines between messages
      msg = m;
      return Result::Message;
    }
  }
  // Octet counting: "LEN SP MSG". A newline some senders put between frames is tolerated.
  size_t skip = 0;
  while (skip < rest.size() && (rest[skip] == '\n' || rest[skip] == '\r')) ++skip;
  pos_ += skip;
  rest.remove_prefix(skip);
  if (rest.empty()) return Result::NeedMore;
  size_t digits = 0;
  uint64_t len = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
    if (digits == kMaxCountDigits) break;
    len = len * 10 + static_cast<uint64_t>(rest[digits] - '0');
    ++digits;
  }
  if (digits == 0 || rest[0] == '0') {
    error = "octet counting: a frame does not start with a message length";
    return Result::Fatal;
  }
  if (digits == rest.size()) return Result::NeedMore;
  if (rest[digits] != ' ') {
    error = "octet counting: the message length is not followed by a space";
    return Result::Fatal;
  }
  if (len > limit_) {
    error = "octet counting: a message of " + std::to_string(len) + " bytes is over message_length_limit (" +
            std::to_string(limit_) + " bytes)";
    return Result::Fatal;
  }
  if (rest.size() - digits - 1 < len) return Result::NeedMore;
  msg = rest.substr(digits + 1, len);
  pos_ += digits + 1 + len;
  return Result::Message;
}

FrameReader::Result FrameReader::finish(std::string_view& msg, std::string& error) {
  std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
  pos_ = buf_.size();
  scanned_ = 0;
  if (type_ == FrameType::Traditional) {
    if (skipping_) {
      skipping_ = false;
      return Result::NeedMore;
    }
    if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
    if (rest.empty()) return Result::NeedMore;
    if (rest.size() > limit_) {
      error = "a message longer than message_length_limit (" + std::to_string(limit_) + " bytes) was skipped";
      return Result::Skipped;
    }
    msg = rest;
    return Result::Message;
  }
  size_t i = 0;
  while (i < rest.size() && (rest[i] == '\n' || rest[i] == '\r')) ++i;
  if (i == rest.size()) return Result::NeedMore;
  error = "octet counting: the connection ended inside a frame (" + std::to_string(rest.size() - i) + " bytes)";
  return Result::Fatal;
}

std::optional<Priority> splitPriority(std::string_view message) {
  if (message.size() < 3 || message[0] != '<') return std::nullopt;
  int pri = 0;
  size_t i = 1;
  for (; i < message.size() && i <= 4 && message[i] >= '0' && message[i] <= '9'; ++i) {
    pri = pri * 10 + (message[i] - '0');
  }
  if (i == 1 || i > 4 || i >= message.size() || message[i] != '>' || pri > 191) return std::nullopt;
  return Priority{pri, message.substr(i + 1)};
}

std::string_view facilityName(int pri) { return kFacilities[static_cast<size_t>(pri >> 3)]; }
std::string_view severityName(int pri) { return kSeverities[static_cast<size_t>(pri & 7)]; }

std::string_view chompMessage(std::string_view message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r' || message.back() == '\0')) {
    message.remove_suffix(1);
  }
  return message;
}

}  // namespace sluice::plugins::in_syslog
