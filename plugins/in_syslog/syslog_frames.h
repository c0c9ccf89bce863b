// SPDX-License-Identifier: Apache-2.0
#pragma once

// The syslog input's pure parts: cutting a TCP stream into messages (RFC 6587: octet counting,
// or a delimiter — Fluentd's `traditional` framing), the <PRI> prefix, and the names Fluentd
// gives facilities and severities. No sockets: the input's thread calls them, and so does the
// `syslog_frames` fuzz target. A FrameReader belongs to one connection (one thread).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::plugins::in_syslog {

enum class FrameType { Traditional, OctetCount };

// Cuts one connection's bytes into messages. Bytes go in with append() (or through
// writeSpace()/commit()); next() hands out messages as views into the reader's buffer, valid
// until the next compact(), append() or writeSpace(). A message longer than `limit` is never
// handed out: with a delimiter it is skipped up to the next delimiter (the connection goes
// on); with octet counting the count itself is refused and the connection must close, as
// must a count that is not a number — the stream cannot be trusted past it.
class FrameReader {
 public:
  FrameReader(FrameType type, std::string delimiter, size_t limit);

  enum class Result {
    Message,   // `msg` holds one message (delimiter or count removed)
    NeedMore,  // no complete message buffered
    Skipped,   // a message over the limit was dropped (traditional); `error` says so
    Fatal,     // the stream is malformed: close the connection; `error` says why
  };
  Result next(std::string_view& msg, std::string& error);
  // The connection ended: what is left of a delimited stream is the last message (a sender
  // that does not end its last line); octet counting: a cut frame is an error.
  Result finish(std::string_view& msg, std::string& error);

  void append(std::string_view data);
  // Room for `n` more bytes at the end of the buffer; commit() says how many were written.
  char* writeSpace(size_t n);
  void commit(size_t n);
  // Drops the messages handed out (invalidates their views).
  void compact();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  const FrameType type_;
  const std::string delimiter_;
  const size_t limit_;
  std::string buf_;
  size_t pos_ = 0;          // first byte not yet handed out
  size_t scanned_ = 0;      // bytes after pos_ already searched for the delimiter
  size_t written_from_ = 0;  // writeSpace(): where the new bytes start
  bool skipping_ = false;   // dropping an oversized message up to its delimiter
};

// Splits `<PRI>rest`. PRI is 1-3 digits and at most 191 (facility 23, severity 7).
struct Priority {
  int pri = 0;
  std::string_view rest;
};
std::optional<Priority> splitPriority(std::string_view message);

// Fluentd's names (in_syslog's FACILITY_MAP and SEVERITY_MAP). REQUIRES: 0 <= pri <= 191.
std::string_view facilityName(int pri);
std::string_view severityName(int pri);

// A UDP datagram or a framed message without trailing "\n", "\r\n" or NULs.
std::string_view chompMessage(std::string_view message);

}  // namespace sluice::plugins::in_syslog
