// SPDX-License-Identifier: Apache-2.0
// The Buffer's construction (modes and limits decided once from the bound <buffer> config),
// start (recovery of a file buffer's chunks, the flush threads), stop and stats, and the free
// functions of buffer.h (chunk keys, retry delays, dead-letter lines). start/stop run on the
// engine's thread, stats() on the monitor's. The input side is buffer_append.cc, the flush
// threads' side buffer_flush.cc.
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
  if (c.retry_type != RetryType::Periodic && attempts > 1) {
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
  file_ = c.type == BufferType::File;
  // Modes and limits are decided here, once (the config's enums were bound at config time).
  switch (c.flush_mode) {
    case sluice::FlushMode::Lazy: mode_ = FlushMode::Lazy; break;
    case sluice::FlushMode::Immediate: mode_ = FlushMode::Immediate; break;
    case sluice::FlushMode::Interval: mode_ = FlushMode::Interval; break;
    case sluice::FlushMode::Default: mode_ = opts_.keys.time ? FlushMode::Lazy : FlushMode::Interval; break;
  }
  switch (c.overflow_action) {
    case OverflowAction::Block: overflow_ = Overflow::Block; break;
    case OverflowAction::DropOldestChunk: overflow_ = Overflow::DropOldestChunk; break;
    case OverflowAction::ThrowException: overflow_ = Overflow::ThrowException; break;
  }
  compression_ = c.compress;
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
                                      {{"plugin_id", opts_.output_id}, {"type", std::string(choiceName(kBufferTypes, c.type))}});
  stored_gauge_ = &m.registry().gauge("sluice_buffer_stored_bytes", "Bytes held by the buffer.",
                                      {{"plugin_id", opts_.output_id}, {"type", std::string(choiceName(kBufferTypes, c.type))}});
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
