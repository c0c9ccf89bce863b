// SPDX-License-Identifier: Apache-2.0
#include "buffer/buffer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

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

std::string deadLetterLine(std::string_view output_id, std::string_view reason, const ChunkKey& key,
                           std::string_view event, int64_t now_ns) {
  std::string line = "{\"time\":\"";
  formatTime(line, now_ns, "%Y-%m-%dT%H:%M:%S.%NZ", true);
  line += "\",\"output\":";
  appendJsonString(line, output_id);
  line += ",\"reason\":";
  appendJsonString(line, reason);
  line += ",\"tag\":";
  appendJsonString(line, key.tag);
  line += ",\"event\":";
  appendJsonString(line, event);
  line += "}\n";
  return line;
}

Buffer::Buffer(Options options, Output& output, Output* secondary, PluginMetrics& m, SourceLogger log)
    : opts_(std::move(options)), output_(output), secondary_(secondary), log_(std::move(log)) {
  const BufferConfig& c = opts_.config;
  file_ = c.type == "file";
  mode_ = c.flush_mode;
  if (mode_ == "default") mode_ = opts_.keys.time ? "lazy" : "interval";
  sent_records_ = &m.counter("sent_records_total", "Events the output delivered.");
  sent_bytes_ = &m.counter("sent_bytes_total", "Bytes written, before compression.");
  retries_ = &m.counter("retries_total", "Chunk writes retried.");
  exhausted_ = &m.counter("retries_exhausted_total", "Chunks whose retries ran out.");
  errors_ = &m.counter("errors_total", "Failed writes.", {{"error_type", "write"}, {"stage", "write"}});
  dropped_ = &m.counter("discarded_records_total", "Events dropped by overflow_action drop_oldest_chunk.",
                        {{"intentional", "true"}});
  dead_lettered_ = &m.counter("dead_letter_records_total", "Events written to the dead letters (or lost without them).");
  secondary_records_ = &m.counter("secondary_records_total", "Events handed to <secondary>.");
  write_duration_ = &m.histogram("write_duration_seconds", "Time spent in write().");
  queued_gauge_ = &m.registry().gauge("sluice_buffer_queued_chunks", "Sealed chunks waiting to be sent.",
                                      {{"plugin_id", opts_.output_id}, {"type", c.type}});
  stored_gauge_ = &m.registry().gauge("sluice_buffer_stored_bytes", "Bytes held by the buffer.",
                                      {{"plugin_id", opts_.output_id}, {"type", c.type}});
}

Buffer::~Buffer() { stop(0); }

Status Buffer::start() {
  if (file_) {
    if (!opts_.config.path) return Status::invalidConfig("<buffer> @type file needs a path");
    auto rec = FileChunk::recover(*opts_.config.path, opts_.sync, log_);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto* list : {&rec.queued, &rec.staged}) {
      for (auto& f : *list) {
        auto c = std::make_unique<Chunk>();
        c->meta = f->meta();
        c->stored = f->meta().bytes;
        if (!f->sealed()) {
          Status s = f->seal(nowNs());  // resumed chunks are sent first
          if (!s) log_.error("Cannot seal a recovered chunk: " + s.message());
          c->meta = f->meta();
        }
        c->file = std::move(f);
        stored_ += c->stored;
        queue_.push_back(std::move(c));
      }
    }
    if (!queue_.empty()) log_.info("Recovered " + std::to_string(queue_.size()) + " chunks from " + *opts_.config.path);
    queued_gauge_->set(static_cast<int64_t>(queue_.size()));
    stored_gauge_->set(static_cast<int64_t>(stored_));
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
  const BufferConfig& c = opts_.config;
  if (c.total_limit_size.bytes && stored_ + incoming > c.total_limit_size.bytes) return true;
  return c.queue_limit_length > 0 && queue_.size() >= static_cast<size_t>(c.queue_limit_length);
}

bool Buffer::dropOldestLocked() {
  // Staged chunks are the newest; seal them so that the oldest whole chunk can go.
  while (!staged_.empty() && queue_.empty()) sealLocked(*staged_.front());
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if ((*it)->in_flight) continue;
    dropped_->add((*it)->meta.records);
    log_.warn("Buffer full: dropped the oldest chunk (" + std::to_string((*it)->meta.records) +
              " events), as overflow_action drop_oldest_chunk says");
    removeLocked(**it);
    queue_.erase(it);
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
    c->meta.created_ns = nowNs();
  }
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
  int64_t now = nowNs();
  if (owned->file) {
    Status s = owned->file->seal(now);
    if (!s) {
      errors_->add(1);
      log_.error("Cannot seal chunk " + owned->meta.id + ": " + s.message());
    }
    owned->meta = owned->file->meta();
  } else {
    owned->meta.sealed_ns = now;
    if (opts_.config.compress != "text") {
      // Memory chunks are kept compressed once sealed.
      auto packed = compress(compressionFromName(opts_.config.compress), owned->events.bytes);
      if (packed) {
        stored_ -= owned->stored;
        owned->stored = packed->size();
        stored_ += owned->stored;
        owned->events.bytes = std::move(*packed);
        owned->meta.compress = opts_.config.compress;
      }
    }
  }
  queue_.push_back(std::move(owned));
  queued_gauge_->set(static_cast<int64_t>(queue_.size()));
  stored_gauge_->set(static_cast<int64_t>(stored_));
  flush_cv_.notify_one();
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
    std::unique_lock<std::mutex> lock(mu_);
    while (full(formatted.bytes.size())) {
      if (stopping_) return Status::unavailable("buffer of " + opts_.output_id + " is stopping");
      if (c.overflow_action == "block") {
        space_cv_.wait_for(lock, std::chrono::milliseconds(500));
        continue;
      }
      if (c.overflow_action == "drop_oldest_chunk" && dropOldestLocked()) continue;
      errors_->add(1);
      return Status::unavailable("buffer of " + opts_.output_id + " is full (total_limit_size " +
                                 std::to_string(c.total_limit_size.bytes) + " bytes)");
    }
    // The group's events go into the key's staged chunk, and into new chunks as chunks fill
    // (chunk_limit_size, chunk_limit_records); an event larger than a chunk gets one alone.
    const size_t n = formatted.ends.size();
    size_t next = 0;
    while (next < n) {
      auto staged = stagedFor(key);
      Status s = staged ? Status::ok() : staged.takeStatus();
      Chunk* chunk = staged ? *staged : nullptr;
      size_t take = 0;
      uint32_t begin = next == 0 ? 0 : formatted.ends[next - 1];
      if (s) {
        uint64_t room_bytes = c.chunk_limit_size.bytes > chunk->stored ? c.chunk_limit_size.bytes - chunk->stored : 0;
        uint64_t room_records = c.chunk_limit_records > 0
                                    ? (static_cast<uint64_t>(c.chunk_limit_records) > chunk->meta.records
                                           ? static_cast<uint64_t>(c.chunk_limit_records) - chunk->meta.records
                                           : 0)
                                    : UINT64_MAX;
        while (next + take < n && take < room_records &&
               formatted.ends[next + take] - begin <= room_bytes) {
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
        if (c.overflow_action == "block" && !stopping_) {
          space_cv_.wait_for(lock, std::chrono::seconds(1));
          continue;
        }
        return s;
      }
      next += take;
      chunk->stored += bytes.size();
      stored_ += bytes.size();
      if (!file_ && batch.ack()) chunk->acks.push_back(batch.ack());
      bool seal_now = mode_ == "immediate" ||
                      (c.chunk_limit_records > 0 && chunk->meta.records >= static_cast<uint64_t>(c.chunk_limit_records)) ||
                      chunk->stored >= static_cast<uint64_t>(c.chunk_limit_size.bytes * c.chunk_full_threshold);
      if (seal_now) sealLocked(*chunk);
    }
    stored_gauge_->set(static_cast<int64_t>(stored_));
  }
  return Status::ok();
}

void Buffer::sealDueLocked(int64_t now) {
  const BufferConfig& c = opts_.config;
  std::vector<Chunk*> due;
  for (auto& ch : staged_) {
    bool is_due = false;
    if (mode_ == "interval" || mode_ == "immediate") {
      is_due = now - ch->meta.created_ns >= c.flush_interval.nanos();
    }
    if (opts_.keys.time) {
      int64_t end = (ch->meta.key.time_slice + static_cast<int64_t>(c.timekey.seconds)) * kNanosPerSecond;
      if (now >= end + c.timekey_wait.nanos()) is_due = true;
    }
    if (is_due) due.push_back(ch.get());
  }
  for (Chunk* ch : due) sealLocked(*ch);
}

Status Buffer::dataOf(const Chunk& c, FormattedEvents& out) {
  if (c.file) return c.file->readInto(out);
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

void Buffer::giveUp(const Chunk& c, const FormattedEvents& data, std::span<const size_t> which,
                    const std::string& reason) {
  if (which.empty()) return;
  ChunkView all(data.bytes, data.ends, &c.meta.key);
  if (secondary_ != nullptr) {
    FormattedEvents sub;
    for (size_t i : which) {
      sub.bytes.append(all.event(i));
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
  int64_t now = nowNs();
  for (size_t i : which) lines += deadLetterLine(opts_.output_id, reason, c.meta.key, all.event(i), now);
  ::mkdir(opts_.dead_letter_dir.c_str(), 0700);
  std::string path = opts_.dead_letter_dir + "/" + opts_.output_id + ".jsonl";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size());
  if (fd >= 0) {
    ::fdatasync(fd);
    ::close(fd);
  }
  if (!ok) {
    log_.error(std::to_string(which.size()) + " events failed for good and could not be written to " + path +
               ": " + std::strerror(errno));
  } else {
    log_.warn(std::to_string(which.size()) + " events written to the dead letters (" + path + "): " + reason);
  }
}

void Buffer::finish(ChunkPtr chunk, const WriteResult& r, const FormattedEvents& data) {
  const BufferConfig& c = opts_.config;
  const int64_t now = nowNs();
  std::vector<size_t> all(data.ends.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  switch (r.kind) {
    case WriteResult::Kind::Ok:
      sent_records_->add(data.ends.size());
      sent_bytes_->add(data.bytes.size());
      removeLocked(*chunk);
      break;
    case WriteResult::Kind::Fail:
      errors_->add(1);
      giveUp(*chunk, data, all, r.reason);
      removeLocked(*chunk);
      break;
    case WriteResult::Kind::Partial: {
      ChunkView view(data.bytes, data.ends, &chunk->meta.key);
      std::vector<size_t> failed;
      for (const auto& [i, why] : r.failed_events) {
        failed.push_back(i);
        giveUp(*chunk, data, std::span<const size_t>(&failed.back(), 1), why);
      }
      size_t delivered = data.ends.size() - r.failed_events.size() - r.retry_events.size();
      sent_records_->add(delivered);
      const uint32_t attempts = chunk->meta.attempts + 1;
      const int64_t first_failure = chunk->meta.first_failure_ns ? chunk->meta.first_failure_ns : now;
      if (!r.retry_events.empty() && retriesExhausted(c, attempts, first_failure, now)) {
        // Items answered "retry" for as long as the chunk itself may be retried: given up alike.
        exhausted_->add(1);
        giveUp(*chunk, data, r.retry_events,
               "retries exhausted after " + std::to_string(attempts) + " attempts: " +
                   (r.reason.empty() ? std::string("events answered for retry") : r.reason));
      } else if (!r.retry_events.empty()) {
        // The events to retry make a chunk of their own; the retry state carries over.
        auto retry = std::make_unique<Chunk>();
        retry->meta = chunk->meta;
        retry->meta.records = r.retry_events.size();
        FormattedEvents sub;
        for (size_t i : r.retry_events) {
          sub.bytes.append(view.event(i));
          sub.endEvent();
        }
        retry->meta.bytes = sub.bytes.size();
        retry->meta.attempts = attempts;
        retry->meta.first_failure_ns = first_failure;
        retry->meta.next_retry_ns = now + std::max(r.retry_after_ns,
                                                   retryDelayNs(c, retry->meta.attempts,
                                                                std::uniform_real_distribution<>(0, 1)(rng_)));
        retry->acks = chunk->acks;
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
        retry->stored = retry->meta.bytes;
        stored_ += retry->stored;
        retries_->add(1);
        queue_.push_back(std::move(retry));
      }
      removeLocked(*chunk);
      break;
    }
    case WriteResult::Kind::Retry: {
      errors_->add(1);
      chunk->meta.attempts++;
      if (!chunk->meta.first_failure_ns) chunk->meta.first_failure_ns = now;
      if (retriesExhausted(c, chunk->meta.attempts, chunk->meta.first_failure_ns, now)) {
        exhausted_->add(1);
        giveUp(*chunk, data, all, "retries exhausted after " + std::to_string(chunk->meta.attempts) +
                                      " attempts: " + r.reason);
        removeLocked(*chunk);
        break;
      }
      retries_->add(1);
      int64_t delay = std::max(r.retry_after_ns, retryDelayNs(c, chunk->meta.attempts,
                                                              std::uniform_real_distribution<>(0, 1)(rng_)));
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
      chunk->in_flight = false;
      queue_.push_back(std::move(chunk));
      return;
    }
  }
  queued_gauge_->set(static_cast<int64_t>(queue_.size()));
  stored_gauge_->set(static_cast<int64_t>(stored_));
}

void Buffer::flushLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    int64_t now = nowNs();
    sealDueLocked(now);
    // The oldest chunk that is due.
    auto it = std::find_if(queue_.begin(), queue_.end(),
                           [&](const ChunkPtr& c) { return !c->in_flight && c->meta.next_retry_ns <= now; });
    if (it == queue_.end()) {
      if (stopping_ && (queue_.empty() || now >= shutdown_deadline_ns_ ||
                        std::all_of(queue_.begin(), queue_.end(), [&](const ChunkPtr& c) {
                          return c->in_flight || c->meta.next_retry_ns > shutdown_deadline_ns_;
                        }))) {
        return;
      }
      int64_t wake = now + static_cast<int64_t>(opts_.config.flush_thread_interval.seconds * 1e9);
      for (const auto& c : queue_) {
        if (!c->in_flight) wake = std::min(wake, c->meta.next_retry_ns);
      }
      for (const auto& c : staged_) {
        if (mode_ == "interval") wake = std::min(wake, c->meta.created_ns + opts_.config.flush_interval.nanos());
      }
      if (stopping_) wake = std::min(wake, shutdown_deadline_ns_);
      flush_cv_.wait_for(lock, std::chrono::nanoseconds(std::max<int64_t>(wake - now, 1000000)));
      continue;
    }
    ChunkPtr chunk = std::move(*it);
    queue_.erase(it);
    chunk->in_flight = true;
    ++in_flight_;
    lock.unlock();
    if (chunk->file && !chunk->settled) {
      // Compression and fsync happen here, off the inputs' threads and outside the lock.
      Status s = chunk->file->settle(opts_.config.compress);
      if (!s) log_.error("Cannot settle chunk " + chunk->meta.id + ": " + s.message());
      chunk->settled = true;
      lock.lock();
      uint64_t now_size = chunk->file->meta().compress != "text" ? chunk->file->fileSize() : chunk->stored;
      stored_ = stored_ - std::min(stored_, chunk->stored) + now_size;
      chunk->stored = now_size;
      chunk->meta.compress = chunk->file->meta().compress;
      lock.unlock();
    }
    // The chunk's bytes go into this thread's buffer, reused from chunk to chunk: no fresh
    // pages (and page faults) for every chunk sent.
    thread_local FormattedEvents data;
    Status read = dataOf(*chunk, data);
    WriteResult result;
    if (!read) {
      result = WriteResult::fail("cannot read the chunk: " + read.message());
      data.bytes.clear();
      data.ends.clear();
    } else {
      auto start = std::chrono::steady_clock::now();
      result = output_.write(ChunkView(data.bytes, data.ends, &chunk->meta.key));
      write_duration_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    lock.lock();
    --in_flight_;
    finish(std::move(chunk), result, data);
  }
}

void Buffer::stop(double deadline_s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (threads_.empty() && stopping_) return;
    if (opts_.config.flush_at_shutdown) {
      while (!staged_.empty()) sealLocked(*staged_.front());
    }
    stopping_ = true;
    shutdown_deadline_ns_ = nowNs() + static_cast<int64_t>((opts_.config.flush_at_shutdown ? deadline_s : 0) * 1e9);
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

size_t Buffer::queuedChunks() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

uint64_t Buffer::storedBytes() {
  std::lock_guard<std::mutex> lock(mu_);
  return stored_;
}

}  // namespace sluice::buffer
