// SPDX-License-Identifier: Apache-2.0
// Reading (on the tail input's thread): servicing a path's chain of files front first (drained
// rotated files let go after rotate_wait), reading into the shared LineBuffer within the byte
// limits, parsing, emitting batches with an acknowledgement token each, and moving the commit
// offset once every batch before it was delivered (advanceAcks); a batch not accepted rewinds
// the file to the end of the last accepted one.

#include "plugins/in_tail/tail_run.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sluice::plugins::in_tail {

void TailRun::service(Target& t, int64_t now) {
  t.dirty = false;
  if (t.check) checkPath(t, now);
  while (!t.chain.empty()) {
    Watcher& w = *t.chain.front();
    if (w.retry_at_ns > now) return;
    w.retry_at_ns = 0;
    if (!w.isOpen() && !w.gone) {
      Reopen r = reopen(t, w, now);
      if (r == Reopen::kNoDescriptor) {
        t.dirty = true;
        return;
      }
      if (r == Reopen::kGone) w.gone = w.at_eof = true;
    }
    const bool gone = w.gone;
    if (!gone && w.isOpen()) {
      if (readWatcher(t, w, now)) {
        t.dirty = true;  // a limit was reached: come back after the other files
        return;
      }
    }
    if (!w.at_eof || w.retry_at_ns || t.chain.size() == 1) return;
    // An older file of the path (rotated away): keep reading it for rotate_wait, as the
    // runtime may still write to it, then emit what the parser holds and move on.
    if (!gone && now - w.rotated_at_ns < cfg_.rotate_wait.nanos()) return;
    flushHeld(t, w, true, now);
    if (w.state && w.state->held_from) return;  // not accepted: try again later
    advanceAcks(t, w);
    if (!w.unacked.empty()) return;  // its last batches are not delivered yet
    refreshFingerprint(w, true);
    remember(t, w.dev, w.open_ino, w.fp);
    t.chain.pop_front();
    updatePos(t);
  }
}

// Reads what is available; returns true when it stopped at a limit with more to read.
bool TailRun::readWatcher(Target& t, Watcher& w, int64_t now) {
  buffer_.clear(w.read_offset - w.pending.size());
  buffer_.append(w.pending);
  buffer_.setDiscarding(w.discarding);
  w.pending.clear();
  size_t bytes_this_round = 0;
  bool limited = false;
  w.at_eof = false;
  if (now - w.budget_window_ns >= kNanosPerSecond) {
    w.budget_window_ns = now;
    w.budget_used = 0;
  }
  size_t skipped_before = buffer_.skippedLongLines();
  while (true) {
    // Complete lines in the buffer first (a group's limit may have left some from an earlier
    // read), as many as the group allows.
    size_t max_lines = static_cast<size_t>(cfg_.read_lines_limit);
    if (t.group != SIZE_MAX) {
      const size_t allowed = groupAllowance(t, now);
      if (allowed == 0) {
        w.retry_at_ns = groupWindowEnd(t, now);  // the rest waits in the file (or pending)
        break;
      }
      max_lines = std::min(max_lines, allowed);
    }
    if (buffer_.takeLines(lines_, max_lines) > 0) {
      if (t.group != SIZE_MAX) groupRead(t, lines_.size(), now);
      if (!processLines(t, w)) {
        rewind(w, now);
        return false;
      }
      continue;
    }
    if (cfg_.read_bytes_limit_per_second.bytes && w.budget_used >= cfg_.read_bytes_limit_per_second.bytes) {
      w.retry_at_ns = w.budget_window_ns + kNanosPerSecond;
      break;
    }
    if (bytes_this_round >= kMaxBytesPerService) {
      limited = true;
      break;
    }
    buffer_.compact();
    size_t allowed = cfg_.read_bytes_limit_per_second.bytes
                         ? cfg_.read_bytes_limit_per_second.bytes - w.budget_used
                         : SIZE_MAX;
    ssize_t n = fillFrom(w, allowed);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      in_.log().error("Read failed: " + t.path + ": " + std::strerror(errno));
      w.retry_at_ns = now + kNanosPerSecond;
      break;
    }
    if (n == 0) {
      w.at_eof = true;
      break;
    }
    w.read_offset += static_cast<uint64_t>(n);
    w.size_seen = std::max(w.size_seen, w.read_offset);
    w.last_used_ns = now;
    bytes_this_round += static_cast<size_t>(n);
    w.budget_used += static_cast<uint64_t>(n);
    in_.metrics().read_bytes->add(static_cast<uint64_t>(n));
  }
  if (buffer_.skippedLongLines() > skipped_before) {
    size_t n = buffer_.skippedLongLines() - skipped_before;
    in_.metrics().skipped_long_lines->add(n);
    in_.log().warn("Skipped " + std::to_string(n) + " line(s) longer than max_line_size=" +
                   std::to_string(cfg_.max_line_size.bytes) + " in " + t.path);
  }
  // Keep the partial line for the next read (it is re-read after a restart: the committed
  // offset never passes it).
  w.pending.assign(buffer_.unconsumed());
  w.discarding = buffer_.discarding();
  if (w.discarding) w.pending.clear();  // inside an overlong line: keep skipping it
  if (!(w.state && w.state->held_from) && w.unacked.empty() &&
      w.commit_offset < w.read_offset - w.pending.size() && lines_.empty()) {
    // Nothing held and nothing waiting for delivery: skipped bytes are done with.
    w.commit_offset = w.read_offset - w.pending.size();
    updatePos(t);
  }
  return limited;
}

size_t TailRun::groupAllowance(Target& t, int64_t now) {
  LineGroup& g = groups_[t.group];
  if (g.limit < 0) return SIZE_MAX;
  if (g.window_open && now - g.window_start_ns >= in_.groups()->ratePeriodNs()) {
    g.window_open = false;  // a new period: every member starts again
    g.used = 0;
    ++g.epoch;
  }
  if (t.group_epoch != g.epoch) {
    t.group_epoch = g.epoch;
    t.group_used = 0;
  }
  const uint64_t limit = static_cast<uint64_t>(g.limit);
  // Fluentd gives each file limit / files; at least one line, so that a group with more files
  // than its limit still moves (the group's total stays within the limit).
  const uint64_t share = limit == 0 ? 0 : std::max<uint64_t>(1, limit / std::max<size_t>(1, g.members));
  const uint64_t left = std::min(share - std::min(share, t.group_used), limit - std::min(limit, g.used));
  return static_cast<size_t>(left);
}

void TailRun::groupRead(Target& t, size_t n, int64_t now) {
  LineGroup& g = groups_[t.group];
  if (g.limit < 0) return;
  if (!g.window_open) {
    g.window_open = true;
    g.window_start_ns = now;
  }
  g.used += n;
  t.group_used += n;
}

int64_t TailRun::groupWindowEnd(const Target& t, int64_t now) const {
  const LineGroup& g = groups_[t.group];
  return (g.window_open ? g.window_start_ns : now) + in_.groups()->ratePeriodNs();
}

void TailRun::joinGroup(Target& t) {
  if (in_.groups() == nullptr) return;
  t.group = in_.groups()->groupOf(t.path);
  ++groups_[t.group].members;
}

void TailRun::leaveGroup(Target& t) {
  if (t.group == SIZE_MAX) return;
  --groups_[t.group].members;
  t.group = SIZE_MAX;
}

// One read into buffer_: from the descriptor, or decompressed from a gzip stream.
ssize_t TailRun::fillFrom(Watcher& w, size_t allowed) {
  if (w.gz == nullptr) return buffer_.fill(w.fd, allowed);
  if (!gz_scratch_) gz_scratch_.reset(new char[kReadSize]);
  int n = ::gzread(w.gz, gz_scratch_.get(), static_cast<unsigned>(std::min(kReadSize, allowed)));
  if (n < 0) {
    int err = 0;
    in_.log().error("Cannot decompress " + w.name + ": " + ::gzerror(w.gz, &err) + "; the rest of it is not read");
    in_.metrics().lost_files->add(1);
    return 0;
  }
  buffer_.append(std::string_view(gz_scratch_.get(), static_cast<size_t>(n)));
  return n;
}

bool TailRun::processLines(Target& t, Watcher& w) {
  const uint64_t first_seq = w.next_seq;
  w.next_seq += lines_.size();
  in_.metrics().read_lines->add(lines_.size());
  if (parsed_.size() < lines_.size()) parsed_.resize(lines_.size());
  std::fill(parsed_.begin(), parsed_.begin() + lines_.size(), ParsedRecord{});
  // The parser sees the lines in `encoding` (converted into the batch's arena); offsets and
  // origins come from the lines as read.
  std::span<const std::string_view> text(lines_);
  if (converter_) {
    converted_.clear();
    for (std::string_view line : lines_) converted_.push_back(converter_->convert(line, batch_.arena()));
    text = converted_;
  }
  const std::optional<uint64_t> held_before = w.state ? w.state->held_from : std::nullopt;
  in_.parser().parse(LineBatch{text, true, w.state.get(), first_seq}, batch_.arena(),
                     std::span(parsed_.data(), lines_.size()));
  // A line held from now on waits multiline_flush_interval on the input's clock (the parser
  // stamped it with the system's).
  if (w.state && w.state->held_from && w.state->held_from != held_before) w.state->held_since_ns = clock_.nowNs();
  const int64_t now = clock_.nowNs();
  uint64_t errors = 0;
  for (size_t i = 0; i < lines_.size(); ++i) {
    ParsedRecord& r = parsed_[i];
    if (r.held) continue;
    const uint64_t origin = lineOrigin(w.dev, w.ino, buffer_.offsetOf(lines_[i].data()));
    if (!r.ok()) {
      ++errors;
      unmatched(t, r, text[i], origin, now);
      continue;
    }
    if (cfg_.path_key) r.record.setMember(*cfg_.path_key, Value::string(t.path), batch_.arena());
    batch_.add(t.tag, r.has_time ? r.time_ns : now, r.record, origin);
  }
  if (errors) in_.metrics().parse_errors->add(errors);
  uint64_t commit = buffer_.consumedOffset();
  if (w.state && w.state->held_from) {
    if (*w.state->held_from >= first_seq) {
      w.held_offset = buffer_.offsetOf(lines_[*w.state->held_from - first_seq].data());
    }
    commit = w.held_offset;
  }
  lines_.clear();
  return emit(t, w, commit);
}

void TailRun::unmatched(Target& t, const ParsedRecord& r, std::string_view line, uint64_t origin, int64_t now) {
  // A joining parser gives the text of a rejected joined event as the record (a multiline
  // event is not the line that completed it).
  const std::string_view text = r.record.isString() ? r.record.asString() : line;
  malformed_.report("path=" + t.path, text, r.error);
  if (!cfg_.emit_unmatched_lines) return;
  Arena& arena = batch_.arena();
  Member* m = arena.allocArray<Member>(1);
  m[0] = Member{"unmatched_line", Value::string(text)};
  Value record = Value::object(m, 1, true);
  if (cfg_.path_key) record.setMember(*cfg_.path_key, Value::string(t.path), arena);
  batch_.add(t.tag, now, record, origin);
}

bool TailRun::emit(Target& t, Watcher& w, uint64_t commit) {
  if (!batch_.empty()) {
    auto token = std::make_shared<char>(0);
    batch_.setAck(token);
    Status s = out_.emit(batch_);
    batch_.clear();
    if (!s) {
      in_.log().error("Batch from " + t.path + " not accepted (" + s.message() +
                      "); it will be read again");
      return false;
    }
    w.unacked.emplace_back(std::move(token), commit);
  } else {
    batch_.clear();
    w.unacked.emplace_back(nullptr, commit);
  }
  advanceAcks(t, w);
  return true;
}

// Records the offsets of the batches whose every chunk was delivered, in order.
void TailRun::advanceAcks(Target& t, Watcher& w) {
  bool moved = false;
  while (!w.unacked.empty() && (!w.unacked.front().first || w.unacked.front().first.use_count() == 1)) {
    if (w.unacked.front().second > w.commit_offset) {
      w.commit_offset = w.unacked.front().second;
      moved = true;
    }
    w.unacked.pop_front();
  }
  if (moved) updatePos(t);
}

// A batch was not accepted: read again from the end of the last batch that was (accepted
// batches may still wait for delivery; they are not read twice).
void TailRun::rewind(Watcher& w, int64_t now) {
  uint64_t from = w.commit_offset;
  for (const auto& [token, offset] : w.unacked) from = std::max(from, offset);
  w.read_offset = from;
  if (w.gz != nullptr) {
    ::gzseek(w.gz, static_cast<z_off_t>(from), SEEK_SET);
  } else if (w.fd >= 0) {
    ::lseek(w.fd, static_cast<off_t>(from), SEEK_SET);
  }
  w.pending.clear();
  w.state = in_.parser().newState();
  w.at_eof = false;
  w.retry_at_ns = now + kNanosPerSecond;
  lines_.clear();
}

void TailRun::flushHeld(Target& t, Watcher& w, bool force, int64_t now) {
  if (!w.state || !w.state->held_from) return;
  if (!force && now - w.state->held_since_ns < cfg_.multiline_flush_interval.nanos()) return;
  ParsedRecord r;
  while (in_.parser().flush(*w.state, batch_.arena(), r)) {
    const uint64_t origin = lineOrigin(w.dev, w.ino, w.held_offset);
    if (r.ok()) {
      if (cfg_.path_key) r.record.setMember(*cfg_.path_key, Value::string(t.path), batch_.arena());
      batch_.add(t.tag, r.has_time ? r.time_ns : now, r.record, origin);
    } else {
      in_.metrics().parse_errors->add(1);
      unmatched(t, r, {}, origin, now);
    }
    if (!force) break;
  }
  uint64_t commit = w.state->held_from ? w.held_offset : w.read_offset - w.pending.size();
  if (!emit(t, w, commit)) rewind(w, now);
}

// The fingerprint grows with the file up to Fingerprint::kBytes: after reads past it, or
// (`force`) whatever the file holds now, read or not.
void TailRun::refreshFingerprint(Watcher& w, bool force) {
  if (w.fp.len >= Fingerprint::kBytes || w.gz != nullptr || w.fd < 0 || (!force && w.read_offset <= w.fp.len)) return;
  char prefix[Fingerprint::kBytes];
  w.fp = fingerprintOf(prefix, readPrefix(w.fd, prefix));
}

}  // namespace sluice::plugins::in_tail
