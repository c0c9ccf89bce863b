// SPDX-License-Identifier: Apache-2.0
// The input side of the Buffer: append() groups a batch's events by chunk key, has the output
// format each group and appends it to the staged chunk of its key under the buffer's mutex,
// waiting for room (overflow_action block), dropping the oldest chunk or refusing, and seals
// full chunks. Runs on the threads of the inputs whose batches reach the output. See
// buffer/buffer.h; the flush threads' side is buffer_flush.cc.
#include "buffer/buffer.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "core/json.h"
#include "core/time.h"

namespace sluice::buffer {
namespace {

void valueText(const Value& v, std::string& out) {
  if (v.isString()) {
    out.append(v.asString());
  } else if (!v.isNull()) {
    appendJson(out, v);
  }
}

}  // namespace

Buffer::WaitTicket::~WaitTicket() {
  if (id == 0) return;
  auto& line = buffer.waiting_;
  const bool first = !line.empty() && line.front() == id;
  line.erase(std::find(line.begin(), line.end(), id));
  if (first) buffer.space_cv_.notify_all();
}

ChunkKey Buffer::keyOf(const Event& e) const {
  ChunkKey k;
  if (opts_.keys.tag) k.tag = std::string(e.tag);
  if (opts_.keys.time) {
    int64_t tk = static_cast<int64_t>(opts_.config.timekey.seconds);
    int64_t secs = e.time_ns / kNanosPerSecond;
    k.time_slice = secs - ((secs % tk) + tk) % tk;
  }
  for (size_t i = 0; i < opts_.keys.fields.size(); ++i) {
    std::string v;
    if (const Value* f = opts_.keys.fields[i].find(e.record)) valueText(*f, v);
    k.vars.emplace_back(opts_.keys.names[i], std::move(v));
  }
  return k;
}

bool Buffer::full(uint64_t incoming) const {
  return total_limit_ != 0 && stored_ + incoming > total_limit_;
}

uint64_t Buffer::footprint(size_t events, uint64_t bytes) const {
  // A file chunk holds each event in a frame (length and CRC): those bytes count too, so that
  // chunk_limit_size and total_limit_size bound what is on disk.
  return bytes + (file_ ? events * kFrameHeaderBytes : 0);
}

bool Buffer::dropOldestLocked() {
  // Staged chunks are the newest; seal them so that the oldest whole chunk can go.
  while (!staged_.empty() && queue_.empty()) sealLocked(*staged_.front());
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    dropped_->add((*it)->meta.records);
    log_.warn("Buffer full: dropped the oldest chunk (" + std::to_string((*it)->meta.records) +
              " events), as overflow_action drop_oldest_chunk says");
    removeLocked(**it);
    queue_.erase(it);
    queued_gauge_->set(static_cast<int64_t>(queue_.size()));
    return true;
  }
  return false;
}

Result<Buffer::Chunk*> Buffer::stagedFor(const ChunkKey& key) {
  for (auto& c : staged_) {
    if (c->meta.key == key) return c.get();
  }
  auto c = std::make_unique<Chunk>();
  if (file_) {
    auto f = FileChunk::create(*opts_.config.path, key, opts_.sync);
    if (!f) return f.takeStatus();
    c->meta = (*f)->meta();
    c->file = std::move(*f);
  } else {
    c->meta.key = key;
    // A memory chunk's id names it to the output for its life (ChunkView::chunk_ids).
    static std::atomic<uint64_t> memory_chunks{0};
    c->meta.id = "m" + std::to_string(::getpid()) + "-" + std::to_string(clock_.nowNs()) + "-" +
                 std::to_string(memory_chunks.fetch_add(1, std::memory_order_relaxed));
  }
  c->meta.created_ns = clock_.nowNs();  // flush_interval counts from here, on the buffer's clock
  staged_.push_back(std::move(c));
  return staged_.back().get();
}

void Buffer::sealLocked(Chunk& c) {
  auto it = std::find_if(staged_.begin(), staged_.end(), [&](const ChunkPtr& p) { return p.get() == &c; });
  if (it == staged_.end()) return;
  ChunkPtr owned = std::move(*it);
  staged_.erase(it);
  if (owned->meta.records == 0) {
    removeLocked(*owned);
    return;
  }
  int64_t now = clock_.nowNs();
  if (owned->file) {
    Status s = owned->file->seal(now);
    if (!s) {
      errors_->add(1);
      log_.error("Cannot seal chunk " + owned->meta.id + ": " + s.message());
    }
    owned->meta = owned->file->meta();
  } else {
    owned->meta.sealed_ns = now;
    if (compression_ != Compression::Text) {
      // Memory chunks are kept compressed once sealed.
      auto packed = compress(compression_, owned->events.bytes);
      if (packed) {
        stored_ -= owned->stored;
        owned->stored = packed->size();
        stored_ += owned->stored;
        owned->events.bytes = std::move(*packed);
        owned->meta.compress = std::string(compressionName(compression_));
      }
    }
  }
  queue_.push_back(std::move(owned));
  queued_gauge_->set(static_cast<int64_t>(queue_.size()));
  stored_gauge_->set(static_cast<int64_t>(stored_));
  flush_cv_.notify_one();
}

Status Buffer::roomLocked(std::unique_lock<std::mutex>& lock, uint64_t need, bool begun, size_t events,
                          WaitTicket& ticket) {
  need = std::min<uint64_t>(need, total_limit_ ? total_limit_ : UINT64_MAX);  // else: an empty buffer
  for (;;) {
    const bool no_room = full(need);
    const bool behind = !waiting_.empty() && waiting_.front() != ticket.id;  // others wait first
    if (!no_room && !behind) return Status::ok();
    if (!stopping_ && !(overflow_ == Overflow::Block && draining_)) {
      // Waits for a chunk to be delivered or dropped (space_cv_ is notified then), in line
      // behind the appends that began to wait before; a group half in waits even under
      // drop_oldest_chunk when nothing can be dropped (chunks in flight).
      if (no_room && !behind && overflow_ == Overflow::DropOldestChunk && dropOldestLocked()) continue;
      if (overflow_ == Overflow::Block || (begun && overflow_ == Overflow::DropOldestChunk) || !no_room) {
        if (ticket.id == 0) {
          ticket.id = ++last_ticket_;
          waiting_.push_back(ticket.id);
        }
        space_cv_.wait_for(lock, std::chrono::milliseconds(500));
        continue;
      }
    }
    if (!no_room) return Status::ok();  // a stop began: the line no longer matters
    // Part of the group is in: the rest follows over the limit (a stop began) rather than the
    // input reading the whole batch again.
    if (begun) return Status::ok();
    refused_->add(events);
    if (stopping_) return Status::unavailable("buffer of " + opts_.output_id + " is stopping");
    if (overflow_ == Overflow::Block) {
      // A stop began: an input blocked here would hold the shutdown forever (a sink that is
      // down, retry_forever). Refused, the input reads these lines again at the next start.
      return Status::unavailable("buffer of " + opts_.output_id + " is full and sluice is stopping");
    }
    errors_->add(1);
    return Status::unavailable("buffer of " + opts_.output_id + " is full (total_limit_size " +
                               std::to_string(total_limit_) + " bytes)");
  }
}

Status Buffer::append(const Batch& batch) {
  if (batch.empty()) return Status::ok();
  const BufferConfig& c = opts_.config;
  // Group by chunk key (most configs have one key), format each group outside the lock.
  thread_local std::vector<std::pair<ChunkKey, std::vector<size_t>>> groups;
  thread_local FormattedEvents formatted;
  groups.clear();
  const bool keyed = opts_.keys.tag || opts_.keys.time || !opts_.keys.fields.empty();
  if (!keyed) {
    groups.emplace_back(ChunkKey{}, std::vector<size_t>{});
  } else {
    for (size_t i = 0; i < batch.size(); ++i) {
      ChunkKey k = keyOf(batch.events()[i]);
      auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == k; });
      if (it == groups.end()) {
        groups.emplace_back(std::move(k), std::vector<size_t>{i});
      } else {
        it->second.push_back(i);
      }
    }
  }
  // A file buffer takes splices: text shared by many events (a pod's metadata) is kept once
  // per chunk file. Sizes below are of whole events (splices put in): what the output sends.
  formatted.splice_ok = file_;
  for (auto& [key, indices] : groups) {
    formatted.clear();
    if (!keyed) {
      output_.format(batch, formatted);
    } else {
      Batch part;
      for (size_t i : indices) part.events().push_back(batch.events()[i]);
      output_.format(part, formatted);
    }
    const size_t n = formatted.ends.size();
    std::unique_lock<std::mutex> lock(mu_);
    WaitTicket ticket{*this};  // destroyed before `lock`: leaves the line with mu_ held
    // The group goes in piece by piece, a piece being what fits in one chunk, each when there is
    // room for it (Fluentd splits a large write into chunks): a group larger than the whole
    // buffer is never stuck waiting for an empty buffer, and the buffer never goes over
    // total_limit_size. throw_exception cannot wait: it takes the whole group or refuses it
    // (an input that is refused reads the batch again). Events go into the key's staged chunk,
    // and into new chunks as chunks fill (chunk_limit_size, chunk_limit_records); an event
    // larger than a chunk gets one alone.
    auto endOf = [&](size_t i) { return formatted.wholeEnd(i); };
    size_t next = 0, piece_end = 0;
    while (next < n) {
      if (next == piece_end) {
        const uint64_t from = next == 0 ? 0 : endOf(next - 1);
        piece_end = next + 1;
        while (piece_end < n && footprint(piece_end + 1 - next, endOf(piece_end) - from) <= chunk_limit_) {
          ++piece_end;
        }
        const bool whole = overflow_ == Overflow::ThrowException && next == 0;
        const size_t upto = whole ? n : piece_end;
        Status room = roomLocked(lock, footprint(upto - next, endOf(upto - 1) - from), next > 0, n - next, ticket);
        if (!room) return room;
      }
      auto staged = stagedFor(key);
      Status s = staged ? Status::ok() : staged.takeStatus();
      Chunk* chunk = staged ? *staged : nullptr;
      size_t take = 0;
      const uint64_t begin = next == 0 ? 0 : endOf(next - 1);
      if (s) {
        uint64_t room_bytes = chunk_limit_ > chunk->stored ? chunk_limit_ - chunk->stored : 0;
        uint64_t room_records = c.chunk_limit_records > 0
                                    ? (static_cast<uint64_t>(c.chunk_limit_records) > chunk->meta.records
                                           ? static_cast<uint64_t>(c.chunk_limit_records) - chunk->meta.records
                                           : 0)
                                    : UINT64_MAX;
        while (next + take < piece_end && take < room_records &&
               footprint(take + 1, endOf(next + take) - begin) <= room_bytes) {
          ++take;
        }
        if (take == 0) {
          if (chunk->meta.records > 0) {
            sealLocked(*chunk);  // full: seal it and start another
            continue;
          }
          take = 1;  // an event larger than chunk_limit_size goes alone
        }
      }
      const uint64_t whole_bytes = s ? endOf(next + take - 1) - begin : 0;
      if (s && chunk->file) {
        s = chunk->file->append(formatted, next, take);
        if (s) chunk->meta = chunk->file->meta();
      } else if (s) {
        // A memory chunk: no splices (splice_ok is off), so whole ends are the ends.
        const uint32_t from = next == 0 ? 0 : formatted.ends[next - 1];
        const std::string_view bytes = std::string_view(formatted.bytes).substr(from, formatted.ends[next + take - 1] - from);
        uint32_t base = static_cast<uint32_t>(chunk->events.bytes.size());
        chunk->events.bytes.append(bytes);
        for (size_t k = 0; k < take; ++k) chunk->events.ends.push_back(base + formatted.ends[next + k] - from);
        chunk->meta.records += take;
        chunk->meta.bytes += bytes.size();
      }
      if (!s) {
        // A write error (a full disk): with block, wait and try again; else refuse the rest.
        errors_->add(1);
        log_.error("Cannot append to the buffer of " + opts_.output_id + ": " + s.message());
        if (overflow_ == Overflow::Block && !stopping_) {
          space_cv_.wait_for(lock, std::chrono::seconds(1));
          continue;
        }
        refused_->add(n - next);
        return s;
      }
      next += take;
      const uint64_t added = footprint(take, whole_bytes);
      chunk->stored += added;
      stored_ += added;
      if (!file_ && batch.ack()) chunk->acks.push_back(batch.ack());
      bool seal_now = mode_ == FlushMode::Immediate ||
                      (c.chunk_limit_records > 0 && chunk->meta.records >= static_cast<uint64_t>(c.chunk_limit_records)) ||
                      chunk->stored >= static_cast<uint64_t>(static_cast<double>(chunk_limit_) * c.chunk_full_threshold);
      if (seal_now) sealLocked(*chunk);
    }
    stored_gauge_->set(static_cast<int64_t>(stored_));
  }
  return Status::ok();
}

}  // namespace sluice::buffer
