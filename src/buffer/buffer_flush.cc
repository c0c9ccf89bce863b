// SPDX-License-Identifier: Apache-2.0
// The flush side of the Buffer: flushLoop() on each of the flush_thread_count threads seals
// due chunks, takes the oldest due chunk (with others of its key), settles it (file: compress,
// fsync), calls Output::write() without the lock, and works out the answer's share for each
// chunk (delivered, retried with backoff, partly retried, or failed for good: <secondary>, else
// dead letters) before applyLocked() takes the mutex to re-queue or remove. Also flushNow()
// (SIGUSR1, any thread) and flushForShutdown(). See buffer/buffer.h; the input side is
// buffer_append.cc.
#include "buffer/buffer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>
#include <cmath>
#include <random>

#include "core/json.h"
#include "core/time.h"

namespace sluice::buffer {

namespace {

double unitRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<>(0, 1)(rng);
}

}  // namespace

size_t Buffer::dueQueuedLocked(int64_t now) const {
  return static_cast<size_t>(std::count_if(queue_.begin(), queue_.end(), [&](const ChunkPtr& ch) {
    return ch->meta.next_retry_ns <= now;
  }));
}

void Buffer::sealDueLocked(int64_t now) {
  const BufferConfig& c = opts_.config;
  // Fluentd's queued_chunks_limit_size: while this many chunks wait for a flush thread, the
  // flush interval enqueues no more (the staged chunk grows instead of making many small
  // chunks). Chunks waiting out a retry delay do not count: they do not hold a thread.
  size_t due_queued = dueQueuedLocked(now);
  std::vector<Chunk*> due;
  for (auto& ch : staged_) {
    bool is_due = false;
    if (mode_ != FlushMode::Lazy && due_queued < queued_chunks_limit_) {
      is_due = now - ch->meta.created_ns >= c.flush_interval.nanos();
    }
    if (opts_.keys.time) {
      int64_t end = (ch->meta.key.time_slice + static_cast<int64_t>(c.timekey.seconds)) * kNanosPerSecond;
      if (now >= end + c.timekey_wait.nanos()) is_due = true;
    }
    if (is_due) {
      due.push_back(ch.get());
      ++due_queued;
    }
  }
  for (Chunk* ch : due) sealLocked(*ch);
}

void Buffer::takeDueLocked(int64_t now, std::vector<ChunkPtr>& out) {
  out.clear();
  auto it = std::find_if(queue_.begin(), queue_.end(), [&](const ChunkPtr& ch) { return ch->meta.next_retry_ns <= now; });
  if (it == queue_.end()) return;
  const ChunkKey key = (*it)->meta.key;
  uint64_t bytes = (*it)->meta.bytes;
  uint64_t records = (*it)->meta.records;
  const uint64_t max_records = opts_.config.chunk_limit_records > 0
                                   ? static_cast<uint64_t>(opts_.config.chunk_limit_records) : UINT64_MAX;
  out.push_back(std::move(*it));
  it = queue_.erase(it);
  while (it != queue_.end()) {
    Chunk& ch = **it;
    if (ch.meta.next_retry_ns <= now && ch.meta.key == key && bytes + ch.meta.bytes <= chunk_limit_ &&
        records + ch.meta.records <= max_records) {
      bytes += ch.meta.bytes;
      records += ch.meta.records;
      out.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

Status Buffer::dataOf(const Chunk& c, FormattedEvents& out) {
  if (c.file) return c.file->readInto(out);  // (flushLoop appends a file chunk's events itself)
  if (c.meta.compress != "text") {
    auto raw = decompress(compressionFromName(c.meta.compress), c.events.bytes);
    if (!raw) return raw.takeStatus();
    out.bytes = std::move(*raw);
    out.ends = c.events.ends;
    return Status::ok();
  }
  out.bytes.assign(c.events.bytes);  // into memory the flush thread reuses
  out.ends.assign(c.events.ends.begin(), c.events.ends.end());
  return Status::ok();
}

void Buffer::removeLocked(Chunk& c) {
  if (c.file) {
    Status s = c.file->remove();
    if (!s) log_.error(s.message());
  }
  stored_ -= std::min(stored_, c.stored);
  c.acks.clear();  // the inputs waiting on this chunk may move on
  space_cv_.notify_all();
}

void Buffer::giveUp(const Chunk& c, const EventRange& events, std::span<const size_t> which,
                    const std::string& reason) {
  if (which.empty()) return;
  // Not under mu_ (appends go on), but one at a time: flush threads share <secondary> and the
  // dead-letter file, and an output may not take concurrent writes of one file.
  std::lock_guard<std::mutex> one_at_a_time(give_up_mu_);
  if (secondary_ != nullptr) {
    FormattedEvents sub;
    for (size_t i : which) {
      sub.bytes.append(events.event(i));
      sub.endEvent();
    }
    WriteResult r = secondary_->write(ChunkView(sub.bytes, sub.ends, &c.meta.key));
    if (r.kind == WriteResult::Kind::Ok) {
      secondary_records_->add(which.size());
      log_.warn(std::to_string(which.size()) + " events handed to <secondary>: " + reason);
      return;
    }
    log_.error("<secondary> failed too (" + r.reason + ")");
  }
  dead_lettered_->add(which.size());
  if (opts_.dead_letter_dir.empty()) {
    log_.error(std::to_string(which.size()) + " events failed for good and were dropped (no dead-letter "
               "path; set <buffer> dead_letter_path): " + reason);
    return;
  }
  std::string lines;
  int64_t now = clock_.nowNs();
  const std::string* tag = opts_.keys.tag ? &c.meta.key.tag : nullptr;
  for (size_t i : which) lines += deadLetterLine(opts_.output_id, reason, tag, events.event(i), now);
  ::mkdir(opts_.dead_letter_dir.c_str(), 0700);
  std::string path = opts_.dead_letter_dir + "/" + opts_.output_id + ".jsonl";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size());
  int err = errno;
  if (fd >= 0) {
    ok = ::fdatasync(fd) == 0 && ok;
    ::close(fd);
  }
  if (!ok) {
    log_.error(std::to_string(which.size()) + " events failed for good and could not be written to " + path +
               ": " + std::strerror(err));
  } else {
    log_.warn(std::to_string(which.size()) + " events written to the dead letters (" + path + "): " + reason);
  }
}

Buffer::Settled Buffer::settle(ChunkPtr chunk, const WriteResult& r, const EventRange& events) {
  const BufferConfig& c = opts_.config;
  const int64_t now = clock_.nowNs();
  Settled out;
  std::vector<size_t> all(events.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  switch (r.kind) {
    case WriteResult::Kind::Ok:
      out.delivered = events.size();
      out.delivered_bytes = events.bytes();
      break;
    case WriteResult::Kind::Fail:
      errors_->add(1);
      giveUp(*chunk, events, all, r.reason);
      break;
    case WriteResult::Kind::Partial: {
      std::vector<size_t> one(1);
      for (const auto& [i, why] : r.failed_events) {
        one[0] = i;
        giveUp(*chunk, events, one, why);
      }
      out.delivered = events.size() - r.failed_events.size() - r.retry_events.size();
      const uint32_t attempts = chunk->meta.attempts + 1;
      const int64_t first_failure = chunk->meta.first_failure_ns ? chunk->meta.first_failure_ns : now;
      if (!r.retry_events.empty() && retriesExhausted(c, attempts, first_failure, now)) {
        // Items answered "retry" for as long as the chunk itself may be retried: given up alike.
        exhausted_->add(1);
        giveUp(*chunk, events, r.retry_events,
               "retries exhausted after " + std::to_string(attempts) + " attempts: " +
                   (r.reason.empty() ? std::string("events answered for retry") : r.reason));
      } else if (!r.retry_events.empty()) {
        // The events to retry make a chunk of their own; the retry state carries over. It is
        // on disk (file buffer) before the chunk it came from is removed.
        auto retry = std::make_unique<Chunk>();
        retry->meta = chunk->meta;
        retry->meta.records = r.retry_events.size();
        FormattedEvents sub;
        for (size_t i : r.retry_events) {
          sub.bytes.append(events.event(i));
          sub.endEvent();
        }
        retry->meta.bytes = sub.bytes.size();
        retry->meta.attempts = attempts;
        retry->meta.first_failure_ns = first_failure;
        retry->meta.next_retry_ns = now + std::max(r.retry_after_ns, retryDelayNs(c, attempts, unitRandom()));
        retry->meta.compress = "text";
        retry->acks = chunk->acks;
        retry->stored = footprint(sub.ends.size(), sub.bytes.size());
        if (file_) {
          auto f = FileChunk::create(*c.path, chunk->meta.key, opts_.sync);
          if (f && (*f)->append(sub.bytes, sub.ends) && (*f)->seal(now)) {
            (*f)->mutableMeta().attempts = retry->meta.attempts;
            (*f)->mutableMeta().first_failure_ns = retry->meta.first_failure_ns;
            (*f)->mutableMeta().next_retry_ns = retry->meta.next_retry_ns;
            if (Status saved = (*f)->saveMeta(); !saved) {
              errors_->add(1);  // the chunk is still sent; only its retry state may reset on restart
              log_.error("Cannot save the retry state of chunk " + (*f)->meta().id + ": " + saved.message());
            }
            retry->meta = (*f)->meta();
            retry->file = std::move(*f);
          } else {
            log_.error("Cannot keep the events to retry on disk; keeping them in memory");
            retry->events = std::move(sub);
          }
        } else {
          retry->events = std::move(sub);
        }
        retries_->add(1);
        out.retry = std::move(retry);
      }
      break;
    }
    case WriteResult::Kind::Retry: {
      errors_->add(1);
      chunk->meta.attempts++;
      if (!chunk->meta.first_failure_ns) chunk->meta.first_failure_ns = now;
      if (retriesExhausted(c, chunk->meta.attempts, chunk->meta.first_failure_ns, now)) {
        exhausted_->add(1);
        giveUp(*chunk, events, all, "retries exhausted after " + std::to_string(chunk->meta.attempts) +
                                        " attempts: " + r.reason);
        break;
      }
      retries_->add(1);
      int64_t delay = std::max(r.retry_after_ns, retryDelayNs(c, chunk->meta.attempts, unitRandom()));
      chunk->meta.next_retry_ns = now + delay;
      if (chunk->file) {
        chunk->file->mutableMeta().attempts = chunk->meta.attempts;
        chunk->file->mutableMeta().first_failure_ns = chunk->meta.first_failure_ns;
        chunk->file->mutableMeta().next_retry_ns = chunk->meta.next_retry_ns;
        Status s = chunk->file->saveMeta();  // the retry state survives a restart
        if (!s) log_.error(s.message());
      }
      log_.warn("Write failed, retry " + std::to_string(chunk->meta.attempts) + " in " +
                std::to_string(delay / 1000000) + " ms: " + r.reason);
      out.requeue = true;
      break;
    }
  }
  out.chunk = std::move(chunk);
  return out;
}

Buffer::Settled Buffer::unreadable(ChunkPtr chunk, const Status& why) {
  errors_->add(1);
  if (why.code() != Code::Corruption) {
    log_.error("Cannot read chunk " + chunk->meta.id + " back (" + why.message() + "); it waits for a retry");
    const uint64_t records = chunk->meta.records;
    Settled out = settle(std::move(chunk), WriteResult::retry("cannot read the chunk: " + why.message()),
                         EventRange{nullptr, 0, 0});
    if (!out.requeue) {  // retries exhausted: nothing could be read to give up, so say what is lost
      dead_lettered_->add(records);
      log_.error(std::to_string(records) + " events of chunk " + out.chunk->meta.id +
                 " are lost: it could not be read back before its retries ran out");
    }
    return out;
  }
  Settled out;
  dead_lettered_->add(chunk->meta.records);
  std::string where = chunk->file ? chunk->file->quarantine() : std::string("nowhere (a memory chunk)");
  log_.error("Chunk " + chunk->meta.id + " is damaged (" + why.message() + "): its " +
             std::to_string(chunk->meta.records) + " events are lost; the chunk was moved to " + where);
  out.quarantined = true;
  out.chunk = std::move(chunk);
  return out;
}

void Buffer::applyLocked(Settled s) {
  sent_records_->add(s.delivered);
  sent_bytes_->add(s.delivered_bytes);
  if (s.retry) {
    stored_ += s.retry->stored;
    queue_.push_back(std::move(s.retry));
  }
  if (s.requeue) {
    queue_.push_back(std::move(s.chunk));
  } else if (s.quarantined) {
    stored_ -= std::min(stored_, s.chunk->stored);
    s.chunk->acks.clear();
    space_cv_.notify_all();
  } else {
    removeLocked(*s.chunk);
  }
  queued_gauge_->set(static_cast<int64_t>(queue_.size()));
  stored_gauge_->set(static_cast<int64_t>(stored_));
  flush_cv_.notify_one();
}

void Buffer::flushLoop() {
  // The chunks' bytes go into this thread's buffers, reused from chunk to chunk: no fresh pages
  // (and page faults) for every chunk sent.
  thread_local FormattedEvents data;
  thread_local FormattedEvents part;
  std::vector<ChunkPtr> taken, sent;
  std::vector<size_t> bounds;  // taken[k]'s events are [bounds[k], bounds[k + 1])
  std::vector<std::string> chunk_ids;  // taken[k]'s id, for the output (ChunkView::chunk_ids)
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    int64_t now = clock_.nowNs();
    sealDueLocked(now);
    takeDueLocked(now, taken);
    if (taken.empty()) {
      // Stopping: a memory buffer waits for the retries that fall before the deadline (what it
      // holds is lost at exit); a file buffer sends what is due and waits out no retry delay —
      // its chunks are safe on disk for the next start — unless no start follows (last_run_).
      const int64_t horizon = file_ && !last_run_ ? now : shutdown_deadline_ns_;
      if (stopping_ && (queue_.empty() || now >= shutdown_deadline_ns_ ||
                        std::all_of(queue_.begin(), queue_.end(), [&](const ChunkPtr& c) {
                          return c->meta.next_retry_ns > horizon;
                        }))) {
        return;
      }
      int64_t wake = now + static_cast<int64_t>(opts_.config.flush_thread_interval.seconds * 1e9);
      for (const auto& c : queue_) wake = std::min(wake, c->meta.next_retry_ns);
      if (mode_ != FlushMode::Lazy) {
        for (const auto& c : staged_) wake = std::min(wake, c->meta.created_ns + opts_.config.flush_interval.nanos());
      }
      if (stopping_) wake = std::min(wake, shutdown_deadline_ns_);
      clock_.waitUntil(flush_cv_, lock, std::max<int64_t>(wake, now + 1000000));
      continue;
    }
    lock.unlock();
    // Compression and fsync happen here, off the inputs' threads and outside the lock; then
    // the chunks are read back, one after another into one buffer.
    data.clear();
    bounds.assign(1, 0);
    std::vector<std::pair<ChunkPtr, Status>> unreadable;
    for (size_t k = 0; k < taken.size(); ++k) {
      Chunk& chunk = *taken[k];
      if (chunk.file && !chunk.settled) {
        Status s = chunk.file->settle(compressionName(compression_));
        if (!s) log_.error("Cannot settle chunk " + chunk.meta.id + ": " + s.message());
        chunk.settled = true;
        uint64_t now_size = chunk.file->meta().compress != "text" ? chunk.file->fileSize() : chunk.stored;
        chunk.meta.compress = chunk.file->meta().compress;
        std::lock_guard<std::mutex> relock(mu_);
        stored_ = stored_ - std::min(stored_, chunk.stored) + now_size;
        chunk.stored = now_size;
      }
      // A file chunk appends its events to `data` itself (left as it was on an error); a memory
      // chunk is copied into `data` when first, else through `part`.
      const bool direct = chunk.file != nullptr;
      FormattedEvents& into = direct || data.ends.empty() ? data : part;
      Status read = direct ? chunk.file->appendInto(data) : dataOf(chunk, into);
      if (!read) {
        if (!direct) into.clear();
        unreadable.emplace_back(std::move(taken[k]), read);
        continue;
      }
      if (&into == &part) {
        const uint32_t base = static_cast<uint32_t>(data.bytes.size());
        data.bytes.append(part.bytes);
        for (uint32_t e : part.ends) data.ends.push_back(base + e);
      }
      sent.push_back(std::move(taken[k]));
      bounds.push_back(data.ends.size());
    }
    taken.swap(sent);
    sent.clear();
    std::vector<Settled> settled;
    for (auto& [chunk, why] : unreadable) settled.push_back(this->unreadable(std::move(chunk), why));
    if (!taken.empty()) {
      const ChunkKey& key = taken.front()->meta.key;
      auto start = std::chrono::steady_clock::now();
      chunk_ids.clear();
      for (const ChunkPtr& c : taken) chunk_ids.push_back(c->meta.id);
      ChunkView view(data.bytes, data.ends, &key);
      view.chunk_ends = std::span<const size_t>(bounds).subspan(1);
      view.chunk_ids = chunk_ids;
      WriteResult result = output_.write(view);
      write_duration_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      for (size_t k = 0; k < taken.size(); ++k) {
        EventRange range{&data, bounds[k], bounds[k + 1]};
        if (taken.size() == 1 || result.kind != WriteResult::Kind::Partial) {
          settled.push_back(settle(std::move(taken[k]), result, range));
          continue;
        }
        // One write for several chunks: each gets the part of the answer about its events.
        WriteResult mine;
        mine.kind = WriteResult::Kind::Partial;
        mine.reason = result.reason;
        mine.retry_after_ns = result.retry_after_ns;
        for (size_t i : result.retry_events) {
          if (i >= range.begin && i < range.end) mine.retry_events.push_back(i - range.begin);
        }
        for (const auto& [i, why] : result.failed_events) {
          if (i >= range.begin && i < range.end) mine.failed_events.emplace_back(i - range.begin, why);
        }
        settled.push_back(settle(std::move(taken[k]), mine, range));
      }
    }
    taken.clear();
    lock.lock();
    for (Settled& s : settled) applyLocked(std::move(s));
  }
}

void Buffer::flushNow() {
  std::lock_guard<std::mutex> lock(mu_);
  while (!staged_.empty()) sealLocked(*staged_.front());
  // Chunks waiting out a retry delay keep it (the sink may have asked for it with Retry-After).
  flush_cv_.notify_all();
}

void Buffer::flushForShutdown(bool last) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    draining_ = true;
    last_run_ = last;
    space_cv_.notify_all();
  }
  if (opts_.config.flush_at_shutdown) flushNow();
}

}  // namespace sluice::buffer
