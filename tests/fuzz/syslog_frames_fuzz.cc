// SPDX-License-Identifier: Apache-2.0
// Fuzz target: whatever a syslog sender writes on a TCP connection, cut into reads of any size
// (the first byte picks the framing, the second a read size), the syslog input's framing never crashes,
// never hands out a message over message_length_limit, hands out messages that lie inside the
// bytes received, and keeps no more than the limit and a frame header buffered. The <PRI>
// reader accepts only 0-191.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "plugins/in_syslog/syslog_frames.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::plugins::in_syslog;
  if (size < 2) return 0;
  const FrameType type = data[0] & 1 ? FrameType::OctetCount : FrameType::Traditional;
  const std::string delimiter = data[0] & 2 ? "\r\n" : "\n";
  const size_t limit = 16 + (data[0] >> 2) * 4;
  const size_t step = 1 + data[1] % 64;
  std::string_view stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  FrameReader reader(type, delimiter, limit);
  std::string error;
  std::string_view msg;
  bool fatal = false;
  for (size_t at = 0; at < stream.size() && !fatal; at += step) {
    reader.append(stream.substr(at, step));
    for (;;) {
      FrameReader::Result r = reader.next(msg, error);
      if (r == FrameReader::Result::NeedMore) break;
      if (r == FrameReader::Result::Fatal) {
        if (error.empty()) std::abort();
        fatal = true;
        break;
      }
      if (r == FrameReader::Result::Skipped) {
        if (error.empty()) std::abort();
        continue;
      }
      if (msg.size() > limit) std::abort();
      if (auto p = splitPriority(msg)) {
        if (p->pri < 0 || p->pri > 191) std::abort();
        (void)facilityName(p->pri);
        (void)severityName(p->pri);
      }
      (void)chompMessage(msg);
    }
    reader.compact();
    // What stays buffered is at most one message and its frame header (after a Fatal the
    // connection closes; what it holds does not matter).
    if (!fatal && reader.buffered() > limit + delimiter.size() + 16) std::abort();
  }
  if (!fatal) {
    FrameReader::Result r = reader.finish(msg, error);
    if (r == FrameReader::Result::Message && msg.size() > limit) std::abort();
  }
  return 0;
}
