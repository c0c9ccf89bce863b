// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "buffer/buffer_config.h"
#include "buffer/chunk_file.h"
#include "core/clock.h"
#include "core/field_path.h"
#include "core/placeholders.h"
#include "core/output.h"
#include "monitor/log.h"
#include "monitor/metrics.h"

namespace sluice::buffer {

// What <buffer ARG> keys chunks by: `tag`, `time` (with timekey) and record fields.
struct ChunkKeySpec {
  bool tag = false;
  bool time = false;
  std::vector<std::string> names;  // as written, e.g. "$.kubernetes.namespace_name"
  std::vector<FieldPath> fields;
};
Result<ChunkKeySpec> parseChunkKeys(std::string_view arg, const BufferConfig& config);

// The retry schedule, Fluentd's: exponential_backoff waits retry_wait × base^(n-1) (capped by
// retry_max_interval), periodic waits retry_wait; retry_randomize adds ±12.5%. `unit` is a
// uniform random number in [0, 1).
int64_t retryDelayNs(const BufferConfig& config, uint32_t attempts, double unit);
// Whether retrying a chunk is over (retry_forever never is).
bool retriesExhausted(const BufferConfig& config, uint32_t attempts, int64_t first_failure_ns, int64_t now_ns);

// A buffered output's chunks: staged per chunk key, sealed into a queue, sent by flush threads
// with retries, and on failure for good handed to <secondary> or the dead letters. Memory or
// files (see chunk_file.h). Thread-safe: appends come from input threads, writes from the
// flush threads; one mutex guards the chunk lists (taken per batch, not per event).
class Buffer {
 public:
  struct Options {
    BufferConfig config;
    ChunkKeySpec keys;
    std::string output_id;
    std::string dead_letter_dir;  // "" = none: events failed for good are logged and counted
    SyncPolicy sync = SyncPolicy::Seal;
    // What the flush threads read the time from and wait on: the system's unless a test
    // drives time (ManualClock). Outlives the buffer.
    Clock* clock = &Clock::system();
  };

  Buffer(Options options, Output& output, Output* secondary, PluginMetrics& metrics, SourceLogger log);
  ~Buffer();

  // Recovers the chunks a file buffer left on disk and starts the flush threads. A file
  // buffer's folder that cannot be written is an error.
  Status start();
  // What start() checks, without starting and without creating the buffer's folder (--dry-run).
  Status checkState() const;
  // Formats and appends a batch; applies overflow_action when the buffer is full (blocks with
  // `block`, until there is room or the buffer stops). Called from input threads.
  Status append(const Batch& batch);
  // Seals every staged chunk so that the flush threads send it now (SIGUSR1, and the stop's
  // flush). Chunks waiting out a retry delay keep it, as Fluentd's force_flush sends nothing
  // while its output waits for a retry: a sink that asked to wait is not hammered. Any thread.
  void flushNow();
  // The agent is stopping: appends that `block` on a full buffer return unavailable (the input
  // reads those lines again at the next start) instead of holding the shutdown; and
  // flushNow() if flush_at_shutdown (inputs wait a little for delivery). `last`: no start
  // follows (every input finished, as stdin at its end), so a file buffer too waits for the
  // retries due before stop()'s deadline. Called by the engine's thread.
  void flushForShutdown(bool last = false);
  // Seals every chunk; with flush_at_shutdown, sends what it can within `deadline_s` (a memory
  // buffer, or any after flushForShutdown(true), also the chunks whose retry comes before it; a
  // file buffer otherwise only what is due: its chunks are safe on disk for the next start, or
  // the pipeline a reload starts); stops the flush threads. What was not sent stays on disk
  // (file) or is reported lost (memory).
  void stop(double deadline_s = 10);

  // What the monitor shows (/metrics gauges, /api/plugins.json), read at a scrape: takes the
  // lock once. Chunks a flush thread is sending count in neither list.
  struct Stats {
    size_t staged_chunks = 0;
    uint64_t staged_bytes = 0;
    size_t queued_chunks = 0;
    uint64_t queued_bytes = 0;
    uint64_t stored_bytes = 0;     // counted against total_limit_size
    int64_t oldest_created_ns = 0;  // 0: empty
    uint32_t retry_steps = 0;       // failed writes of the queued chunk that failed most
    int64_t first_failure_ns = 0;   // of that chunk; 0: none failing
    int64_t next_retry_ns = 0;      // of that chunk
  };
  Stats stats();
  // For tests and metrics.
  size_t queuedChunks();
  uint64_t storedBytes();
  // The limits in effect: total_limit_size (chunk_limit_size × queue_limit_length when the
  // latter is set, as in Fluentd) and queued_chunks_limit_size (default flush_thread_count).
  uint64_t totalLimitBytes() const { return total_limit_; }
  const BufferConfig& config() const { return opts_.config; }
  size_t queuedChunksLimit() const { return queued_chunks_limit_; }

 private:
  struct Chunk {
    ChunkMeta meta;
    std::unique_ptr<FileChunk> file;       // file buffer
    FormattedEvents events;                // memory buffer (and the format scratch)
    std::vector<std::shared_ptr<void>> acks;  // inputs waiting for delivery (memory buffer)
    bool settled = false;                  // file chunk compressed/fsync'ed after sealing
    uint64_t stored = 0;                   // bytes counted against total_limit_size
  };
  using ChunkPtr = std::unique_ptr<Chunk>;
  enum class FlushMode { Lazy, Interval, Immediate };
  enum class Overflow { ThrowException, Block, DropOldestChunk };

  // The events of one chunk inside the data a flush thread sent (chunks with one key may go in
  // one write): events [begin, end) of `data`.
  struct EventRange {
    const FormattedEvents* data;
    size_t begin;
    size_t end;
    size_t size() const { return end - begin; }
    std::string_view event(size_t i) const;  // i-th event of the range
    uint64_t bytes() const;
  };
  // What a write decided for one chunk, worked out by its flush thread without the lock (give
  // ups written, a chunk of the events to retry made, retry state saved) and applied under it.
  struct Settled {
    ChunkPtr chunk;
    bool requeue = false;  // the chunk waits for a retry; else it is removed
    ChunkPtr retry;        // Partial: the events answered "retry", as a chunk of their own
    uint64_t delivered = 0;
    uint64_t delivered_bytes = 0;
    bool quarantined = false;  // moved to corrupt/: only forgotten, not deleted
  };

  ChunkKey keyOf(const Event& e) const;
  Result<Chunk*> stagedFor(const ChunkKey& key);  // REQUIRES: mu_
  void sealLocked(Chunk& c);                     // REQUIRES: mu_; logs and counts its errors
  bool full(uint64_t incoming) const;            // REQUIRES: mu_
  // An append's place in the line of appends waiting for room: blocked appends are served in
  // the order they began to wait, so a stream of small batches cannot starve a large one. The
  // destructor (run with mu_ held) leaves the line and wakes the next in it.
  struct WaitTicket {
    Buffer& buffer;
    uint64_t id = 0;  // 0: not waiting in line
    ~WaitTicket();
  };
  // Until `need` bytes fit under total_limit_size (or, more than the whole buffer, it is
  // empty) and no append that began to wait earlier is still waiting: waits (block), drops
  // (drop_oldest_chunk) or refuses the group's remaining `events` (throw_exception, a stop).
  // `begun`: part of the group is in; it is then never refused. REQUIRES: mu_ (held by `lock`,
  // released while waiting)
  Status roomLocked(std::unique_lock<std::mutex>& lock, uint64_t need, bool begun, size_t events,
                    WaitTicket& ticket);
  bool dropOldestLocked();                       // REQUIRES: mu_
  void flushLoop();
  void sealDueLocked(int64_t now);               // REQUIRES: mu_
  size_t dueQueuedLocked(int64_t now) const;     // REQUIRES: mu_
  // Takes the oldest due chunk and, while they fit in one chunk's limits, more due chunks of
  // the same key (a backlog of small interval chunks, or the small chunks of events to retry,
  // goes in one request instead of many). REQUIRES: mu_
  void takeDueLocked(int64_t now, std::vector<ChunkPtr>& out);
  // Without mu_: the chunk is this flush thread's until applyLocked.
  Settled settle(ChunkPtr chunk, const WriteResult& r, const EventRange& events);
  // A chunk that cannot be read back: an I/O error waits for a retry like a failed write;
  // damaged frames move the chunk to corrupt/ with its events counted and logged as lost.
  Settled unreadable(ChunkPtr chunk, const Status& why);
  void applyLocked(Settled s);                   // REQUIRES: mu_
  // Hands events that failed for good to <secondary>, else the dead letters. Without mu_:
  // this writes and fdatasyncs.
  void giveUp(const Chunk& c, const EventRange& events, std::span<const size_t> which,
              const std::string& reason);
  void removeLocked(Chunk& c);                   // REQUIRES: mu_
  Status dataOf(const Chunk& c, FormattedEvents& out);
  uint64_t footprint(size_t events, uint64_t bytes) const;  // bytes held for these events

  Options opts_;
  Clock& clock_;
  Output& output_;
  Output* secondary_;
  SourceLogger log_;
  bool file_ = false;
  FlushMode mode_ = FlushMode::Interval;  // decided at construction, with the limits below
  Overflow overflow_ = Overflow::ThrowException;
  Compression compression_ = Compression::Text;
  uint64_t total_limit_ = 0;
  uint64_t chunk_limit_ = 0;
  size_t queued_chunks_limit_ = 1;

  std::mutex mu_;
  std::mutex give_up_mu_;  // one give-up at a time: <secondary> and the dead-letter file are shared
  std::condition_variable flush_cv_;
  std::condition_variable space_cv_;
  std::vector<ChunkPtr> staged_;   // guarded by mu_
  std::deque<ChunkPtr> queue_;     // guarded by mu_
  uint64_t stored_ = 0;            // guarded by mu_
  bool stopping_ = false;          // guarded by mu_
  std::deque<uint64_t> waiting_;   // guarded by mu_: WaitTicket ids, the first is served first
  uint64_t last_ticket_ = 0;       // guarded by mu_
  bool draining_ = false;          // guarded by mu_: a stop began; block waits no more
  bool last_run_ = false;          // guarded by mu_: the stop is for good (flushForShutdown)
  int64_t shutdown_deadline_ns_ = 0;  // guarded by mu_
  std::vector<std::thread> threads_;

  Counter* sent_records_;
  Counter* sent_bytes_;
  Counter* retries_;
  Counter* exhausted_;
  Counter* errors_;
  Counter* dropped_;
  Counter* refused_;
  Counter* dead_lettered_;
  Counter* secondary_records_;
  Histogram* write_duration_;
  Gauge* queued_gauge_;
  Gauge* stored_gauge_;
};

// One dead-letter line: {"time","output","reason","tag","event"} (JSON lines, documented in
// the README); `sluice replay` sends `event` through the output again.
// `tag` is null (and written as JSON null) when the chunk key does not hold the tag.
std::string deadLetterLine(std::string_view output_id, std::string_view reason, const std::string* tag,
                           std::string_view event, int64_t now_ns);

}  // namespace sluice::buffer
