// SPDX-License-Identifier: Apache-2.0
#include "buffer/buffer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>

#include "core/json.h"
#include "core/time.h"

namespace sluice::buffer {
namespace {

std::string_view trimView(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void valueText(const Value& v, std::string& out) {
  if (v.isString()) {
    out.append(v.asString());
  } else if (!v.isNull()) {
    appendJson(out, v);
  }
}

}  // namespace

Result<ChunkKeySpec> parseChunkKeys(std::string_view arg, const BufferConfig& config) {
  ChunkKeySpec spec;
  size_t start = 0;
  while (start <= arg.size()) {
    size_t comma = arg.find(',', start);
    std::string_view item = trimView(arg.substr(start, comma == std::string_view::npos ? arg.npos : comma - start));
    if (!item.empty()) {
      if (item == "tag") {
        spec.tag = true;
      } else if (item == "time") {
        if (config.timekey.seconds <= 0) return Status::invalidConfig("<buffer time> needs a timekey");
        spec.time = true;
      } else {
        auto path = FieldPath::parse(item);
        if (!path) return path.takeStatus();
        spec.names.emplace_back(item);
        spec.fields.push_back(std::move(*path));
      }
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return spec;
}

int64_t retryDelayNs(const BufferConfig& c, uint32_t attempts, double unit) {
  double wait = c.retry_wait.seconds;
  if (c.retry_type != "periodic" && attempts > 1) {
    wait *= std::pow(c.retry_exponential_backoff_base, static_cast<double>(attempts - 1));
  }
  if (c.retry_max_interval.seconds > 0) wait = std::min(wait, c.retry_max_interval.seconds);
  if (c.retry_randomize) wait += wait * 0.125 * (2 * unit - 1);
  wait = std::clamp(wait, 0.0, 86400.0 * 365);
  return static_cast<int64_t>(wait * 1e9);
}

bool retriesExhausted(const BufferConfig& c, uint32_t attempts, int64_t first_failure_ns, int64_t now_ns) {
  if (c.retry_forever) return false;
  if (c.retry_max_times > 0 && attempts > static_cast<uint64_t>(c.retry_max_times)) return true;
  return first_failure_ns != 0 && now_ns - first_failure_ns >= c.retry_timeout.nanos();
}

std::string deadLetterLine(std::string_view output_id, std::string_view reason, const std::string* tag,
                           std::string_view event, int64_t now_ns) {
  std::string line = "{\"time\":\"";
  formatTime(line, now_ns, "%Y-%m-%dT%H:%M:%S.%NZ", true);
  line += "\",\"output\":";
  appendJsonString(line, output_id);
  line += ",\"reason\":";
  appendJsonString(line, reason);
  line += ",\"tag\":";
  if (tag != nullptr) {
    appendJsonString(line, *tag);
  } else {
    line += "null";
  }
  line += ",\"event\":";
  appendJsonString(line, event);
  line += "}\n";
  return line;
}

std::string_view Buffer::EventRange::event(size_t i) const {
  size_t k = begin + i;
  uint32_t from = k == 0 ? 0 : data->ends[k - 1];
  return std::string_view(data->bytes).substr(from, data->ends[k] - from);
}

uint64_t Buffer::EventRange::bytes() const {
  if (end == begin) return 0;
  return data->ends[end - 1] - (begin == 0 ? 0 : data->ends[begin - 1]);
}

Buffer::Buffer(Options options, Output& output, Output* secondary, PluginMetrics& m, SourceLogger log)
    : opts_(std::move(options)), clock_(*opts_.clock), output_(output), secondary_(secondary), log_(std::move(log)) {
  const BufferConfig& c = opts_.config;
  file_ = c.type == "file";
  // Modes and limits are decided here, once: nothing compares config strings while running.
  const std::string& mode = c.flush_mode;
  mode_ = mode == "lazy"        ? FlushMode::Lazy
          : mode == "immediate" ? FlushMode::Immediate
          : mode == "interval"  ? FlushMode::Interval
          : opts_.keys.time     ? FlushMode::Lazy
                                : FlushMode::Interval;
  overflow_ = c.overflow_action == "block"               ? Overflow::Block
              : c.overflow_action == "drop_oldest_chunk" ? Overflow::DropOldestChunk
                                                         : Overflow::ThrowException;
  compression_ = compressionFromName(c.compress);
  chunk_limit_ = c.chunk_limit_size.bytes;
  // Fluentd: queue_limit_length, when set, means total_limit_size = chunk_limit_size × it. Input
  // is held back by bytes stored, never by a count of (possibly small) chunks.
  total_limit_ = c.queue_limit_length > 0 ? chunk_limit_ * static_cast<uint64_t>(c.queue_limit_length)
                                          : c.total_limit_size.bytes;
  queued_chunks_limit_ = static_cast<size_t>(
      c.queued_chunks_limit_size > 0 ? c.queued_chunks_limit_size : std::max<int64_t>(1, c.flush_thread_count));
  sent_records_ = &m.counter("sent_records_total", "Events the output delivered.");
  sent_bytes_ = &m.counter("sent_bytes_total", "Bytes written, before compression.");
  retries_ = &m.counter("retries_total", "Chunk writes retried.");
  exhausted_ = &m.counter("retries_exhausted_total", "Chunks whose retries ran out.");
  errors_ = &m.counter("errors_total", "Failed writes.", {{"error_type", "write"}, {"stage", "write"}});
  dropped_ = &m.counter("discarded_records_total", "Events dropped by overflow_action drop_oldest_chunk.",
                        {{"intentional", "true"}});
  refused_ = &m.counter("buffer_overflow_records_total",
                        "Events refused because the buffer was full (overflow_action throw_exception, or "
                        "block while stopping).");
  dead_lettered_ = &m.counter("dead_letter_records_total", "Events written to the dead letters (or lost without them).");
  secondary_records_ = &m.counter("secondary_records_total", "Events handed to <secondary>.");
  write_duration_ = &m.histogram("write_duration_seconds", "Time spent in write().");
  queued_gauge_ = &m.registry().gauge("sluice_buffer_queued_chunks", "Sealed chunks waiting to be sent.",
                                      {{"plugin_id", opts_.output_id}, {"type", c.type}});
  stored_gauge_ = &m.registry().gauge("sluice_buffer_stored_bytes", "Bytes held by the buffer.",
                                      {{"plugin_id", opts_.output_id}, {"type", c.type}});
}

Buffer::~Buffer() { stop(0); }

Status Buffer::checkState() const {
  if (chunk_limit_ == 0) return Status::invalidConfig("<buffer> chunk_limit_size must be above 0");
  if (!file_) return Status::ok();
  if (!opts_.config.path) return Status::invalidConfig("<buffer> @type file needs a path");
  Status writable = checkWritableDir(*opts_.config.path, /*create=*/false);
  if (!writable) return writable.withPrefix("buffer of " + opts_.output_id + ": ");
  return Status::ok();
}

Status Buffer::start() {
  if (chunk_limit_ == 0) return Status::invalidConfig("<buffer> chunk_limit_size must be above 0");
  if (file_) {
    // State that cannot be kept is a start-up error, not a surprise at the first chunk.
    Status state = checkState();
    if (!state) return state;
    Status made = checkWritableDir(*opts_.config.path);
    if (!made) return made.withPrefix("buffer of " + opts_.output_id + ": ");
    auto rec = FileChunk::recover(*opts_.config.path, opts_.sync, log_);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto* list : {&rec.queued, &rec.staged}) {
      for (auto& f : *list) {
        auto c = std::make_unique<Chunk>();
        c->meta = f->meta();
        if (!f->sealed()) {
          Status s = f->seal(clock_.nowNs());  // resumed chunks are sent first
          if (!s) log_.error("Cannot seal a recovered chunk: " + s.message());
          c->meta = f->meta();
        }
        c->stored = c->meta.compress != "text" ? f->fileSize() : footprint(c->meta.records, c->meta.bytes);
        c->file = std::move(f);
        stored_ += c->stored;
        queue_.push_back(std::move(c));
      }
    }
    if (!queue_.empty()) log_.info("Recovered " + std::to_string(queue_.size()) + " chunks from " + *opts_.config.path);
    queued_gauge_->set(static_cast<int64_t>(queue_.size()));
    stored_gauge_->set(static_cast<int64_t>(stored_));
  }
  if (!opts_.dead_letter_dir.empty() && !secondary_) {
    Status writable = checkWritableDir(opts_.dead_letter_dir);
    if (!writable) {
      log_.warn("Dead letters cannot be written (" + writable.message() + "); events that fail for good " +
                "will only be logged and counted. Set <buffer> dead_letter_path or <system> root_dir.");
    }
  }
  int64_t n = std::max<int64_t>(1, opts_.config.flush_thread_count);
  for (int64_t i = 0; i < n; ++i) threads_.emplace_back([this] { flushLoop(); });
  return Status::ok();
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

Buffer::WaitTicket::~WaitTicket() {
  if (id == 0) return;
  auto& line = buffer.waiting_;
  const bool first = !line.empty() && line.front() == id;
  line.erase(std::find(line.begin(), line.end(), id));
  if (first) buffer.space_cv_.notify_all();
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
    size_t next = 0, piece_end = 0;
    while (next < n) {
      if (next == piece_end) {
        const uint32_t from = next == 0 ? 0 : formatted.ends[next - 1];
        piece_end = next + 1;
        while (piece_end < n && footprint(piece_end + 1 - next, formatted.ends[piece_end] - from) <= chunk_limit_) {
          ++piece_end;
        }
        const bool whole = overflow_ == Overflow::ThrowException && next == 0;
        const size_t upto = whole ? n : piece_end;
        Status room = roomLocked(lock, footprint(upto - next, formatted.ends[upto - 1] - from), next > 0, n - next, ticket);
        if (!room) return room;
      }
      auto staged = stagedFor(key);
      Status s = staged ? Status::ok() : staged.takeStatus();
      Chunk* chunk = staged ? *staged : nullptr;
      size_t take = 0;
      uint32_t begin = next == 0 ? 0 : formatted.ends[next - 1];
      if (s) {
        uint64_t room_bytes = chunk_limit_ > chunk->stored ? chunk_limit_ - chunk->stored : 0;
        uint64_t room_records = c.chunk_limit_records > 0
                                    ? (static_cast<uint64_t>(c.chunk_limit_records) > chunk->meta.records
                                           ? static_cast<uint64_t>(c.chunk_limit_records) - chunk->meta.records
                                           : 0)
                                    : UINT64_MAX;
        while (next + take < piece_end && take < room_records &&
               footprint(take + 1, formatted.ends[next + take] - begin) <= room_bytes) {
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
      uint32_t end = s ? formatted.ends[next + take - 1] : 0;
      std::string_view bytes = s ? std::string_view(formatted.bytes).substr(begin, end - begin) : std::string_view();
      if (s && chunk->file) {
        thread_local std::vector<uint32_t> ends;
        ends.clear();
        for (size_t k = 0; k < take; ++k) ends.push_back(formatted.ends[next + k] - begin);
        s = chunk->file->append(bytes, ends);
        if (s) chunk->meta = chunk->file->meta();
      } else if (s) {
        uint32_t base = static_cast<uint32_t>(chunk->events.bytes.size());
        chunk->events.bytes.append(bytes);
        for (size_t k = 0; k < take; ++k) chunk->events.ends.push_back(base + formatted.ends[next + k] - begin);
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
      const uint64_t added = footprint(take, bytes.size());
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

namespace {

double unitRandom() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<>(0, 1)(rng);
}

}  // namespace

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
        Status s = chunk.file->settle(opts_.config.compress);
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
      WriteResult result = output_.write(ChunkView(data.bytes, data.ends, &key));
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

void Buffer::stop(double deadline_s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (threads_.empty() && stopping_) return;
    if (opts_.config.flush_at_shutdown) {
      while (!staged_.empty()) sealLocked(*staged_.front());
    }
    stopping_ = true;
    shutdown_deadline_ns_ = clock_.nowNs() + static_cast<int64_t>((opts_.config.flush_at_shutdown ? deadline_s : 0) * 1e9);
    flush_cv_.notify_all();
    space_cv_.notify_all();
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t left = 0;
  for (const auto& c : queue_) left += c->meta.records;
  for (const auto& c : staged_) left += c->meta.records;
  if (left) {
    if (file_) {
      log_.warn(std::to_string(left) + " events stay in the file buffer for the next start");
    } else {
      log_.error(std::to_string(left) + " events in the memory buffer were not sent before shutdown; inputs "
                 "that wait for delivery read them again at the next start");
    }
  }
}

Buffer::Stats Buffer::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  s.stored_bytes = stored_;
  auto oldest = [&](const Chunk& c) {
    if (s.oldest_created_ns == 0 || c.meta.created_ns < s.oldest_created_ns) s.oldest_created_ns = c.meta.created_ns;
  };
  for (const auto& c : staged_) {
    ++s.staged_chunks;
    s.staged_bytes += c->meta.bytes;
    oldest(*c);
  }
  for (const auto& c : queue_) {
    ++s.queued_chunks;
    s.queued_bytes += c->meta.bytes;
    oldest(*c);
    if (c->meta.attempts > s.retry_steps) {
      s.retry_steps = c->meta.attempts;
      s.first_failure_ns = c->meta.first_failure_ns;
      s.next_retry_ns = c->meta.next_retry_ns;
    }
  }
  return s;
}

size_t Buffer::queuedChunks() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

uint64_t Buffer::storedBytes() {
  std::lock_guard<std::mutex> lock(mu_);
  return stored_;
}

}  // namespace sluice::buffer
