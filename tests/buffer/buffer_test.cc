// SPDX-License-Identifier: Apache-2.0
// The buffer with an output that fails on demand: retries, partial results, dead letters,
// <secondary>, overflow actions, chunk keys, compression, recovery and retry state across
// restarts, acknowledgements.

#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <condition_variable>
#include <functional>
#include <future>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "buffer/buffer.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/time.h"
#include "support/buffer_support.h"
#include "support/test_support.h"

namespace sluice::buffer {
namespace {

using testing::TempDir;
using testing::waitFor;

// Formats each record as JSON + "\n"; write() answers what the test says.
class ScriptedOutput : public Output {
 public:
  void format(const Batch& batch, FormattedEvents& out) override {
    for (const Event& e : batch.events()) {
      appendJson(out.bytes, e.record);
      out.bytes += '\n';
      out.endEvent();
    }
  }
  WriteResult write(const ChunkView& chunk) override {
    std::unique_lock<std::mutex> lock(mu);
    const int mine = ++calls;
    ++writing;
    cv.notify_all();
    cv.wait(lock, [&] { return mine <= allowed; });  // the test holds writes to pile chunks up
    --writing;
    keys.push_back(chunk.key ? chunk.key->tag : "");
    sizes.push_back(chunk.events());
    if (answer) return answer(chunk);
    if (fail_times > 0) {
      --fail_times;
      WriteResult r = WriteResult::retry("server says 503");
      r.retry_after_ns = retry_after_ns;
      return r;
    }
    if (permanent) return WriteResult::fail("mapping error");
    if (partial_retry_all) {  // every item answered 429, every time
      WriteResult r;
      r.kind = WriteResult::Kind::Partial;
      r.reason = "items answered 429";
      for (size_t i = 0; i < chunk.events(); ++i) r.retry_events.push_back(i);
      return r;
    }
    if (partial && chunk.events() >= 3) {
      partial = false;
      WriteResult r;
      r.kind = WriteResult::Kind::Partial;
      r.retry_events = {1};
      r.failed_events = {{2, "document_parsing_exception"}};
      for (size_t i : {size_t(0)}) delivered.emplace_back(chunk.event(i));
      return r;
    }
    for (size_t i = 0; i < chunk.events(); ++i) delivered.emplace_back(chunk.event(i));
    return WriteResult::ok();
  }
  size_t deliveredCount() {
    std::lock_guard<std::mutex> lock(mu);
    return delivered.size();
  }
  // What the test polls while flush threads write reads `calls` under the mutex.
  int callCount() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  // Write number n (from 1) waits until n <= allowed; release() lets every write go.
  void allow(int n) {
    std::lock_guard<std::mutex> lock(mu);
    allowed = n;
    cv.notify_all();
  }
  void release() { allow(INT_MAX); }
  bool waitWriting(int n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return writing >= n; });
  }
  std::mutex mu;
  std::condition_variable cv;
  int allowed = INT_MAX;
  int writing = 0;
  std::vector<size_t> sizes;  // events per write
  std::function<WriteResult(const ChunkView&)> answer;  // overrides the scripted answers
  int calls = 0;
  int fail_times = 0;
  int64_t retry_after_ns = 0;
  bool permanent = false;
  bool partial = false;
  bool partial_retry_all = false;
  std::vector<std::string> delivered;
  std::vector<std::string> keys;
};

BufferConfig config(std::string type = "memory") { return testing::testBufferConfig(std::move(type)); }

struct Harness {
  ~Harness() { out.release(); }  // a test that failed with writes held still ends
  MetricsRegistry metrics;
  PluginMetrics m{metrics, "output", "scripted", "out1"};
  ScriptedOutput out;
  std::unique_ptr<Buffer> buffer;
  Clock* clock = &Clock::system();  // a test that drives time sets a ManualClock before make()
  void make(BufferConfig c, std::string dead_letters = "", Output* secondary = nullptr, std::string keys = "") {
    Buffer::Options o;
    o.config = c;
    o.clock = clock;
    o.keys = *parseChunkKeys(keys, c);
    o.output_id = "out1";
    o.dead_letter_dir = std::move(dead_letters);
    buffer = std::make_unique<Buffer>(std::move(o), out, secondary, m, SourceLogger("[out:scripted:out1]"));
    ASSERT_TRUE(buffer->start().isOk());
  }
  Status send(int from, int to, std::string_view tag = "t", std::shared_ptr<void> ack = nullptr) {
    Batch b;
    b.setAck(std::move(ack));
    for (int i = from; i < to; ++i) {
      b.add(tag, 1795309323LL * kNanosPerSecond, *parseJson("{\"n\":" + std::to_string(i) + "}", b.arena()));
    }
    return buffer->append(b);
  }
  double value(std::string_view name) { return metrics.valueForTest(name); }
};

TEST(RetryScheduleTest, ExponentialCappedPeriodicAndExhaustion) {
  BufferConfig c = config();
  c.retry_wait.seconds = 1;
  EXPECT_EQ(retryDelayNs(c, 1, 0.5), 1 * kNanosPerSecond);
  EXPECT_EQ(retryDelayNs(c, 4, 0.5), 8 * kNanosPerSecond);
  c.retry_max_interval.seconds = 5;
  EXPECT_EQ(retryDelayNs(c, 10, 0.5), 5 * kNanosPerSecond);
  c.retry_randomize = true;
  EXPECT_EQ(retryDelayNs(c, 10, 0.0), static_cast<int64_t>(5 * 0.875 * 1e9));
  EXPECT_EQ(retryDelayNs(c, 10, 1.0), static_cast<int64_t>(5 * 1.125 * 1e9));
  c.retry_type = RetryType::Periodic;
  c.retry_randomize = false;
  EXPECT_EQ(retryDelayNs(c, 7, 0.5), 1 * kNanosPerSecond);
  c.retry_timeout.seconds = 60;
  EXPECT_FALSE(retriesExhausted(c, 100, 1, 1 + 59 * kNanosPerSecond));
  EXPECT_TRUE(retriesExhausted(c, 100, 1, 1 + 60 * kNanosPerSecond));
  c.retry_max_times = 3;
  EXPECT_FALSE(retriesExhausted(c, 3, 1, 2));
  EXPECT_TRUE(retriesExhausted(c, 4, 1, 2));
  c.retry_forever = true;
  EXPECT_FALSE(retriesExhausted(c, 1000, 1, kNanosPerSecond * 100000));
}

TEST(ChunkKeysTest, ParseAndPlaceholders) {
  BufferConfig c = config();
  EXPECT_FALSE(parseChunkKeys("tag, time", c).isOk());  // time needs timekey
  c.timekey.seconds = 3600;
  auto k = parseChunkKeys("tag, time, $.kubernetes.namespace_name", c);
  ASSERT_TRUE(k.isOk());
  EXPECT_TRUE(k->tag);
  EXPECT_TRUE(k->time);
  ASSERT_EQ(k->names.size(), 1u);
  ChunkKey key{"kube.var.log", 1795309200, {{"$.kubernetes.namespace_name", "prod"}}};
  EXPECT_EQ(expandPlaceholders("logs-${tag[0]}-${$.kubernetes.namespace_name}-%Y.%m.%d/${tag}.log", key, true),
            "logs-kube-prod-2026.11.22/kube.var.log.log");
}

TEST(BufferTest, DeliversOnTheFlushInterval) {
  Harness h;
  h.make(config());
  ASSERT_TRUE(h.send(0, 100).isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 100; }));
  EXPECT_EQ(h.out.delivered[99], "{\"n\":99}\n");
  EXPECT_EQ(h.value("sluice_output_sent_records_total"), 100);
  EXPECT_TRUE(waitFor([&] { return h.buffer->storedBytes() == 0; }));
}

TEST(BufferTest, RetriesWithBackoffThenDeliversOnce) {
  Harness h;
  h.out.fail_times = 3;
  h.make(config());
  ASSERT_TRUE(h.send(0, 10).isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 10; }));
  EXPECT_EQ(h.out.callCount(), 4);
  EXPECT_EQ(h.value("sluice_output_retries_total"), 3);
}

TEST(BufferTest, RetryAfterIsHonoured) {
  Harness h;
  h.out.fail_times = 1;
  h.out.retry_after_ns = 400 * 1000000LL;
  h.make(config());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(h.send(0, 1).isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 1; }));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
}

TEST(BufferTest, PartialResultsRetryTheRestAndDeadLetterTheFailed) {
  TempDir dir;
  Harness h;
  h.out.partial = true;
  h.make(config(), dir.file("dead"));
  ASSERT_TRUE(h.send(0, 3).isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 2; }));
  EXPECT_EQ(h.out.delivered, (std::vector<std::string>{"{\"n\":0}\n", "{\"n\":1}\n"}));
  std::string dead = testing::readFile(dir.file("dead/out1.jsonl"));
  EXPECT_NE(dead.find("\"output\":\"out1\",\"reason\":\"document_parsing_exception\",\"tag\":null,\"event\":\"{\\\"n\\\":2}\\n\""),
            std::string::npos) << dead;
  EXPECT_EQ(h.value("sluice_output_dead_letter_records_total"), 1);
}

// Issue 15 item 13: dead-letter lines carried "tag":"". With the tag a chunk key, the line
// carries the events' tag (bytes that are not UTF-8 made U+FFFD); without it the tag is not
// known per event, and the line says null rather than an empty tag.
TEST(BufferTest, DeadLettersCarryTheTagOfATagKeyedBuffer) {
  TempDir dir;
  Harness h;
  h.out.partial = true;
  h.make(config(), dir.file("dead"), nullptr, "tag");
  ASSERT_TRUE(h.send(0, 3, "app.web\xff").isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 2; }));
  ASSERT_TRUE(waitFor([&] { return h.value("sluice_output_dead_letter_records_total") == 1; }));
  std::string dead = testing::readFile(dir.file("dead/out1.jsonl"));
  EXPECT_NE(dead.find("\"tag\":\"app.web\xEF\xBF\xBD\",\"event\":\"{\\\"n\\\":2}\\n\""), std::string::npos) << dead;
  EXPECT_EQ(dead.find("\"tag\":\"\""), std::string::npos) << dead;
}

TEST(BufferTest, ExhaustedRetriesGoToSecondary) {
  Harness h;
  ScriptedOutput secondary;
  h.out.fail_times = 1000;
  BufferConfig c = config();
  c.retry_max_times = 2;
  h.make(c, "", &secondary);
  ASSERT_TRUE(h.send(0, 5).isOk());
  ASSERT_TRUE(waitFor([&] { return secondary.deliveredCount() == 5; }));
  EXPECT_EQ(h.out.callCount(), 3);
  EXPECT_EQ(h.value("sluice_output_retries_exhausted_total"), 1);
  EXPECT_EQ(h.value("sluice_output_secondary_records_total"), 5);
}

TEST(BufferTest, EventsRetriedItemByItemAlsoExhaustTheirRetries) {
  Harness h;
  ScriptedOutput secondary;
  h.out.partial_retry_all = true;
  BufferConfig c = config();
  c.retry_max_times = 2;
  h.make(c, "", &secondary);
  ASSERT_TRUE(h.send(0, 5).isOk());
  ASSERT_TRUE(waitFor([&] { return secondary.deliveredCount() == 5; }));
  EXPECT_EQ(h.out.callCount(), 3);  // the first try and 2 retries
  EXPECT_EQ(h.value("sluice_output_retries_exhausted_total"), 1);
  EXPECT_EQ(h.value("sluice_output_secondary_records_total"), 5);
}

TEST(BufferTest, OverflowActions) {
  {
    Harness h;
    h.out.fail_times = 1000000;  // nothing leaves
    BufferConfig c = config();
    c.total_limit_size.bytes = 200;
    h.make(c);
    EXPECT_TRUE(h.send(0, 10).isOk());  // ~80 bytes
    EXPECT_TRUE(h.send(10, 20).isOk());
    Status s = h.send(20, 40);
    EXPECT_FALSE(s.isOk());
    EXPECT_NE(s.message().find("is full"), std::string::npos);
  }
  {
    Harness h;
    h.out.fail_times = 1000000;
    BufferConfig c = config();
    c.total_limit_size.bytes = 200;
    c.overflow_action = OverflowAction::DropOldestChunk;
    c.flush_interval.seconds = 0;  // seal at once
    c.retry_wait.seconds = 100;    // and keep them queued
    h.make(c);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(h.send(i * 10, i * 10 + 10).isOk());
      // Each send its own chunk: the flush thread seals the staged one before the next send.
      ASSERT_TRUE(waitFor([&] { return h.buffer->stats().staged_chunks == 0; }));
    }
    EXPECT_GT(h.value("sluice_output_discarded_records_total"), 0);
    EXPECT_LE(h.buffer->storedBytes(), 200u);
  }
  {
    Harness h;
    h.out.fail_times = 3;
    BufferConfig c = config();
    c.total_limit_size.bytes = 100;
    c.overflow_action = OverflowAction::Block;
    h.make(c);
    ASSERT_TRUE(h.send(0, 10).isOk());
    // Blocks until the first chunk is delivered, then fits.
    ASSERT_TRUE(h.send(10, 20).isOk());
    ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 20; }));
  }
}

TEST(BufferTest, ChunkKeysSeparateChunks) {
  Harness h;
  h.make(config(), "", nullptr, "tag");
  ASSERT_TRUE(h.send(0, 2, "a").isOk());
  ASSERT_TRUE(h.send(2, 4, "b").isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 4; }));
  std::sort(h.out.keys.begin(), h.out.keys.end());
  EXPECT_EQ(h.out.keys, (std::vector<std::string>{"a", "b"}));
}

TEST(BufferTest, FileBufferSurvivesARestartWithItsRetryState) {
  TempDir dir;
  BufferConfig c = config("file");
  c.path = dir.file("buf");
  c.retry_wait.seconds = 3600;  // the first failure schedules the next try far away
  c.retry_timeout.seconds = 86400;
  c.flush_at_shutdown = false;
  {
    Harness h;
    h.out.fail_times = 1;
    h.make(c);
    ASSERT_TRUE(h.send(0, 50).isOk());
    ASSERT_TRUE(waitFor([&] { return h.out.callCount() == 1; }));
    h.buffer->stop(0);
  }
  // Restart: the chunk is recovered with attempts=1 and its next retry an hour after the
  // failure, on a clock that moves only when told.
  c.retry_wait.seconds = 0.01;
  ManualClock clock(nowNs());
  Harness h2;
  h2.clock = &clock;
  h2.make(c);
  ASSERT_TRUE(clock.awaitWaiters(1));
  EXPECT_EQ(h2.out.callCount(), 0) << "a recovered chunk keeps its retry schedule";
  for (const auto& e : std::filesystem::directory_iterator(dir.file("buf"))) {
    if (e.path().extension() != ".meta") continue;
    auto parsed = ChunkMeta::fromJson(testing::readFile(e.path()));
    ASSERT_TRUE(parsed.isOk());
    EXPECT_EQ(parsed->attempts, 1u);
  }
  clock.advance(3590 * kNanosPerSecond);
  ASSERT_TRUE(clock.awaitWaiters(1));
  EXPECT_EQ(h2.out.callCount(), 0) << "10 s before the retry is due";
  clock.advance(20 * kNanosPerSecond);
  ASSERT_TRUE(waitFor([&] { return h2.out.deliveredCount() == 50; }));
  EXPECT_TRUE(waitFor([&] { return h2.buffer->storedBytes() == 0; }));
}

TEST(BufferTest, CompressedChunksDeliverTheSameBytes) {
  for (codec::Compression compression : {codec::Compression::Zstd, codec::Compression::Gzip}) {
    for (const char* type : {"memory", "file"}) {
      TempDir dir;
      BufferConfig c = config(type);
      c.path = dir.file("buf");
      c.compress = compression;
      Harness h;
      h.make(c);
      ASSERT_TRUE(h.send(0, 200).isOk());
      ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 200; })) << compressionName(compression) << " " << type;
      EXPECT_EQ(h.out.delivered[123], "{\"n\":123}\n");
    }
  }
}

TEST(BufferTest, MemoryBufferReleasesAcksOnlyWhenDelivered) {
  Harness h;
  h.out.fail_times = 2;
  BufferConfig c = config();
  c.retry_wait.seconds = 0.2;
  h.make(c);
  auto token = std::make_shared<char>(0);
  ASSERT_TRUE(h.send(0, 5, "t", token).isOk());
  EXPECT_GT(token.use_count(), 1);  // held by the chunk
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 5; }));
  EXPECT_TRUE(waitFor([&] { return token.use_count() == 1; }));
}

TEST(BufferTest, FileBufferDoesNotHoldAcks) {
  TempDir dir;
  BufferConfig c = config("file");
  c.path = dir.file("buf");
  Harness h;
  h.make(c);
  auto token = std::make_shared<char>(0);
  ASSERT_TRUE(h.send(0, 5, "t", token).isOk());
  EXPECT_EQ(token.use_count(), 1);  // safe once appended
}

}  // namespace
}  // namespace sluice::buffer

namespace sluice::buffer {
namespace {

TEST(BufferParamsTest, ChunkLimitRecordsSealsChunks) {
  Harness h;
  BufferConfig c = config();
  c.chunk_limit_records = 10;
  c.flush_interval.seconds = 3600;  // only the record limit can seal
  ManualClock clock(nowNs());
  h.clock = &clock;
  h.make(c);
  ASSERT_TRUE(h.send(0, 25).isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 20; }));
  ASSERT_TRUE(clock.awaitWaiters(1));
  EXPECT_EQ(h.out.deliveredCount(), 20u);  // the last 5 wait in the staged chunk
  EXPECT_EQ(h.out.callCount(), 2);
}

// Fluentd: queue_limit_length means total_limit_size = chunk_limit_size × queue_limit_length.
// Many small chunks (a sink that fails, flush_interval 1s) never hold the input back; bytes do.
TEST(BufferParamsTest, QueueLimitLengthLimitsBytesNotChunks) {
  Harness h;
  h.out.fail_times = 1000000;
  BufferConfig c = config();
  c.chunk_limit_size.bytes = 1000;
  c.queue_limit_length = 2;
  c.flush_mode = sluice::FlushMode::Immediate;
  c.retry_wait.seconds = 100;
  h.make(c);
  EXPECT_EQ(h.buffer->totalLimitBytes(), 2000u);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(h.send(i, i + 1).isOk()) << "chunk " << i;  // 20 chunks of 8 bytes
  EXPECT_TRUE(waitFor([&] { return h.buffer->queuedChunks() == 20; }));  // each failed once, waits 100 s
  Status full = h.send(100, 300);  // 200 events, ~1,800 bytes: over the 2,000
  EXPECT_FALSE(full.isOk());
  EXPECT_NE(full.message().find("total_limit_size 2000"), std::string::npos) << full.message();
  EXPECT_EQ(h.value("sluice_output_buffer_overflow_records_total"), 200);
  EXPECT_LE(h.buffer->storedBytes(), 2000u);
}

// queued_chunks_limit_size (default flush_thread_count): while that many sealed chunks wait
// for a flush thread, flush_interval seals no more; the staged chunk keeps growing.
TEST(BufferParamsTest, QueuedChunksLimitKeepsTheStagedChunkGrowing) {
  Harness h;
  h.out.allowed = 0;
  BufferConfig c = config();
  c.flush_interval.seconds = 0;  // every staged chunk is due at once
  c.chunk_limit_records = 5;
  h.make(c);
  EXPECT_EQ(h.buffer->queuedChunksLimit(), 1u);
  ASSERT_TRUE(h.send(0, 1).isOk());
  ASSERT_TRUE(h.out.waitWriting(1));  // write 1 (one event) is held
  ASSERT_TRUE(h.send(1, 6).isOk());   // two chunks sealed by their record limit
  ASSERT_TRUE(h.send(6, 11).isOk());
  ASSERT_TRUE(h.send(11, 12).isOk());  // a staged chunk, due by the interval
  h.out.allow(1);  // write 1 ends; write 2 will be held
  ASSERT_TRUE(waitFor([&] {
    std::lock_guard<std::mutex> lock(h.out.mu);
    return h.out.calls == 2 && h.out.writing == 1;
  }));
  // Write 2 took one full chunk; the other still waits, so the staged one was not sealed.
  EXPECT_EQ(h.buffer->queuedChunks(), 1u);
  h.out.release();
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 12; }));
  std::lock_guard<std::mutex> lock(h.out.mu);
  EXPECT_EQ(h.out.sizes, (std::vector<size_t>{1, 5, 5, 1}));
}

// A backlog of small chunks of one key goes out in writes of up to chunk_limit_size, not one
// write per chunk; an answer about some events reaches the chunk they came from.
TEST(BufferTest, SmallDueChunksGoInOneWriteAndPartialAnswersFindTheirChunk) {
  TempDir dir;
  Harness h;
  h.out.allowed = 0;
  BufferConfig c = config();
  c.flush_mode = sluice::FlushMode::Immediate;
  h.make(c, dir.file("dead"));
  ASSERT_TRUE(h.send(0, 2).isOk());
  ASSERT_TRUE(h.out.waitWriting(1));
  ASSERT_TRUE(h.send(2, 4).isOk());  // two more chunks of two events
  ASSERT_TRUE(h.send(4, 6).isOk());
  bool first = true;
  h.out.answer = [&](const ChunkView& chunk) {
    if (first || chunk.events() != 4) {
      first = false;
      for (size_t i = 0; i < chunk.events(); ++i) h.out.delivered.emplace_back(chunk.event(i));
      return WriteResult::ok();
    }
    // The merged write of chunks 2 and 3: retry event 1 (n=3), fail event 2 (n=4).
    WriteResult r;
    r.kind = WriteResult::Kind::Partial;
    r.retry_events = {1};
    r.failed_events = {{2, "mapping"}};
    for (size_t i : {0, 3}) h.out.delivered.emplace_back(chunk.event(i));
    return r;
  };
  h.out.release();
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 5; }));
  std::lock_guard<std::mutex> lock(h.out.mu);
  EXPECT_EQ(h.out.sizes, (std::vector<size_t>{2, 4, 1}));
  EXPECT_EQ(h.out.delivered.back(), "{\"n\":3}\n");
  EXPECT_NE(testing::readFile(dir.file("dead/out1.jsonl")).find("{\\\"n\\\":4}"), std::string::npos);
}

// Events given up go to <secondary> without the buffer's lock: a slow <secondary> does not
// stall the inputs' appends.
TEST(BufferTest, GivingUpDoesNotHoldBackAppends) {
  ScriptedOutput secondary;
  Harness h;
  secondary.allowed = 0;
  h.out.permanent = true;
  h.make(config(), "", &secondary);
  ASSERT_TRUE(h.send(0, 3).isOk());
  struct Release {
    ScriptedOutput& o;
    ~Release() { o.release(); }
  } release{secondary};
  ASSERT_TRUE(secondary.waitWriting(1));  // the flush thread is inside <secondary>'s write
  auto append = std::async(std::launch::async, [&] { return h.send(3, 4); });
  EXPECT_EQ(append.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  secondary.release();
  EXPECT_TRUE(append.get().isOk());
  ASSERT_TRUE(waitFor([&] { return secondary.deliveredCount() == 4; }));
}

// SIGUSR1's flush seals the staged chunks and sends them now; a chunk waiting out a retry delay
// keeps it (Fluentd's force_flush sends nothing while its output waits for a retry): a sink
// that asked to wait (Retry-After) is not sent to again before its time.
TEST(BufferTest, FlushNowSendsStagedChunksAndKeepsRetryDelays) {
  Harness h;
  h.out.fail_times = 1;
  h.out.retry_after_ns = 3600 * kNanosPerSecond;  // the sink says: come back in an hour
  BufferConfig c = config();
  c.flush_interval.seconds = 3600;
  h.make(c);
  ASSERT_TRUE(h.send(0, 2).isOk());
  h.buffer->flushNow();
  ASSERT_TRUE(waitFor([&] { return h.out.callCount() == 1; }));  // failed: waits an hour for its retry
  ASSERT_TRUE(waitFor([&] { return h.buffer->queuedChunks() == 1; }));  // back in the queue (not in flight)
  ASSERT_TRUE(h.send(2, 3).isOk());
  h.buffer->flushNow();
  // The new chunk goes; the waiting one would have gone in the same write (same key, room).
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() >= 1; }));
  EXPECT_EQ(h.out.deliveredCount(), 1u);
  EXPECT_EQ(h.out.delivered[0], "{\"n\":2}\n");
  EXPECT_EQ(h.buffer->queuedChunks(), 1u);
  EXPECT_EQ(h.value("sluice_output_retries_total"), 1);
}

// The stop's flush (flush_at_shutdown) alike: a chunk whose retry time lies beyond the stop's
// deadline is not sent; the stop ends at once instead of waiting the deadline out.
TEST(BufferTest, StopFlushKeepsRetryDelays) {
  Harness h;
  h.out.fail_times = 1;
  h.out.retry_after_ns = 3600 * kNanosPerSecond;
  BufferConfig c = config();
  c.flush_interval.seconds = 3600;
  h.make(c);
  ASSERT_TRUE(h.send(0, 2).isOk());
  h.buffer->flushNow();
  ASSERT_TRUE(waitFor([&] { return h.buffer->queuedChunks() == 1 && h.out.callCount() == 1; }));
  ASSERT_TRUE(h.send(2, 3).isOk());  // staged: sealed and sent by the stop
  const auto start = std::chrono::steady_clock::now();
  h.buffer->flushForShutdown();
  h.buffer->stop(30);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  EXPECT_EQ(h.out.deliveredCount(), 1u);
  EXPECT_EQ(h.out.callCount(), 2);
}

// A stop ends as soon as what was read is safe: a file buffer whose sink is down keeps its
// chunk on disk for the next start instead of retrying until the stop's deadline; a memory
// buffer (which loses what it holds at exit), or a file buffer that no start follows (every
// input finished), still sends the retries due before the deadline.
TEST(BufferTest, AStoppingFileBufferWaitsOutNoRetryUnlessNoStartFollows) {
  for (const auto& [type, last] : {std::pair<std::string, bool>{"file", false}, {"memory", false}, {"file", true}}) {
    SCOPED_TRACE(type + (last ? ", last run" : ""));
    TempDir dir;
    Harness h;
    h.out.fail_times = 1;
    BufferConfig c = config(type);
    if (type == "file") c.path = dir.file("buf");
    c.flush_interval.seconds = 3600;
    c.retry_wait.seconds = 2;
    h.make(c);
    ASSERT_TRUE(h.send(0, 2).isOk());
    h.buffer->flushNow();
    ASSERT_TRUE(waitFor([&] { return h.buffer->queuedChunks() == 1 && h.out.callCount() == 1; }));  // retry in 2 s
    const auto start = std::chrono::steady_clock::now();
    h.buffer->flushForShutdown(last);
    h.buffer->stop(30);
    const auto took = std::chrono::steady_clock::now() - start;
    if (type == "file" && !last) {
      EXPECT_LT(took, std::chrono::milliseconds(1500));
      EXPECT_EQ(h.out.callCount(), 1);
      EXPECT_EQ(h.buffer->queuedChunks(), 1u);  // on disk for the next start
    } else {
      EXPECT_EQ(h.out.deliveredCount(), 2u);  // the retry 2 s later, within the deadline
    }
  }
}

// overflow_action block: a full memory buffer holds the input until a chunk is delivered;
// nothing is refused and nothing is lost.
TEST(BufferTest, BlockWaitsForRoomAndLosesNothing) {
  Harness h;
  h.out.allowed = 0;
  BufferConfig c = config();
  c.chunk_limit_size.bytes = 100;
  c.total_limit_size.bytes = 200;
  c.overflow_action = OverflowAction::Block;
  c.flush_mode = sluice::FlushMode::Immediate;
  h.make(c);
  auto writer = std::async(std::launch::async, [&] {
    for (int i = 0; i < 200; ++i) {
      Status s = h.send(i, i + 1);
      if (!s) return s;
    }
    return Status::ok();
  });
  ASSERT_TRUE(h.out.waitWriting(1));
  // The buffer fills to its limit while the write is held; then the writer waits.
  ASSERT_TRUE(waitFor([&] { return h.buffer->storedBytes() > 150; }));
  EXPECT_EQ(writer.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);  // held back
  EXPECT_LE(h.buffer->storedBytes(), 200u);
  h.out.release();
  EXPECT_TRUE(writer.get().isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 200; }));
  EXPECT_EQ(h.value("sluice_output_buffer_overflow_records_total"), 0);
}

// A batch larger than the whole buffer goes in chunk by chunk as room frees up (Fluentd splits
// a large write into chunks): never stuck behind a buffer that other inputs keep from being
// empty, never more than one chunk over total_limit_size, nothing lost or refused. Blocked
// appends are served in order: the trickle cannot take every byte a delivery frees before the
// large batch's next piece does (it did, on a quiet machine, before they were).
TEST(BufferTest, ABatchLargerThanTheBufferGoesInChunkByChunk) {
  Harness h;
  BufferConfig c = config();
  c.chunk_limit_size.bytes = 100;
  c.total_limit_size.bytes = 300;
  c.overflow_action = OverflowAction::Block;
  c.flush_mode = sluice::FlushMode::Immediate;
  h.out.answer = [&](const ChunkView& chunk) {  // called under h.out.mu
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a sink that takes its time
    for (size_t i = 0; i < chunk.events(); ++i) h.out.delivered.emplace_back(chunk.event(i));
    return WriteResult::ok();
  };
  h.make(c);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> most{0};
  std::atomic<int> trickled{0};
  std::thread trickle([&] {  // another input: small batches, as fast as the buffer takes them
    for (int i = 100000; !done; ++i) {
      ASSERT_TRUE(h.send(i, i + 1).isOk());
      ++trickled;
    }
  });
  std::thread watch([&] {
    while (!done) {
      uint64_t now = h.buffer->storedBytes();
      if (now > most) most = now;
      std::this_thread::yield();
    }
  });
  ASSERT_TRUE(waitFor([&] { return trickled > 50; }));
  auto big = std::async(std::launch::async, [&] { return h.send(0, 100); });  // ~1,000 bytes
  const bool went = big.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  done = true;
  trickle.join();
  watch.join();
  ASSERT_TRUE(went) << "the large batch never got in";
  EXPECT_TRUE(big.get().isOk());
  EXPECT_LE(most.load(), 300u + 100u);
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 100u + static_cast<size_t>(trickled.load()); }));
  EXPECT_EQ(h.value("sluice_output_buffer_overflow_records_total"), 0);
}

// Limits are limits: a file chunk on disk, frames included, stays within chunk_limit_size, and
// the buffer within total_limit_size.
TEST(BufferTest, FileChunksStayWithinTheirLimitsOnDisk) {
  TempDir dir;
  Harness h;
  h.out.allowed = 0;
  BufferConfig c = config("file");
  c.path = dir.file("buf");
  c.chunk_limit_size.bytes = 1000;
  c.total_limit_size.bytes = 8000;
  c.flush_interval.seconds = 3600;
  h.make(c);
  Status s = Status::ok();
  int sent = 0;
  while (s && sent < 5000) {
    s = h.send(sent, sent + 50);
    if (s) sent += 50;
  }
  EXPECT_FALSE(s.isOk());  // the 8,000 bytes were reached
  uint64_t on_disk = 0;
  for (const auto& f : std::filesystem::directory_iterator(*c.path)) {
    if (!f.path().string().ends_with(".chunk")) continue;
    EXPECT_LE(f.file_size(), 1000u) << f.path();
    on_disk += f.file_size();
  }
  EXPECT_LE(on_disk, 8000u);
  EXPECT_GT(on_disk, 6000u);
  h.out.release();
}

// A stop makes appends blocked on a full buffer give up (the input reads them again next
// start) instead of holding the shutdown forever behind a sink that is down.
TEST(BufferTest, AStopReleasesAppendsBlockedOnAFullBuffer) {
  Harness h;
  h.out.fail_times = 1000000;
  BufferConfig c = config();
  c.chunk_limit_size.bytes = 100;
  c.total_limit_size.bytes = 100;
  c.overflow_action = OverflowAction::Block;
  c.flush_mode = sluice::FlushMode::Immediate;
  c.retry_forever = true;
  h.make(c);
  ASSERT_TRUE(h.send(0, 10).isOk());
  auto blocked = std::async(std::launch::async, [&] { return h.send(10, 20); });
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  h.buffer->flushForShutdown();
  ASSERT_EQ(blocked.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_FALSE(blocked.get().isOk());
  EXPECT_EQ(h.value("sluice_output_buffer_overflow_records_total"), 10);
}

// A chunk whose frames are damaged when it is read for sending is moved to corrupt/ and its
// events are counted and logged as lost, not deleted in silence.
TEST(BufferTest, DamagedChunkIsQuarantinedAndCounted) {
  TempDir dir;
  Harness h;
  h.out.allowed = 0;
  BufferConfig c = config("file");
  c.path = dir.file("buf");
  c.flush_mode = sluice::FlushMode::Immediate;
  h.make(c, dir.file("dead"));
  ASSERT_TRUE(h.send(0, 2).isOk());
  ASSERT_TRUE(h.out.waitWriting(1));
  ASSERT_TRUE(h.send(2, 5).isOk());  // queued behind the held write
  for (const auto& f : std::filesystem::directory_iterator(*c.path)) {
    if (!f.path().string().ends_with(".q.chunk")) continue;
    std::string bytes = testing::readFile(f.path());
    if (bytes.find("\"n\":2") == std::string::npos) continue;
    bytes[0] = '\xff';  // the first frame's length: absurd
    bytes[1] = '\xff';
    bytes[2] = '\xff';
    bytes[3] = '\x7f';
    testing::writeFile(f.path(), bytes);
  }
  h.out.release();
  ASSERT_TRUE(waitFor([&] { return h.value("sluice_output_dead_letter_records_total") == 3; }));
  EXPECT_TRUE(waitFor([&] { return h.buffer->storedBytes() == 0; }));
  size_t quarantined = 0;
  for (const auto& f : std::filesystem::directory_iterator(*c.path + "/corrupt")) quarantined += f.path().string().ends_with(".chunk");
  EXPECT_EQ(quarantined, 1u);
  EXPECT_EQ(h.out.deliveredCount(), 2u);
}

// A file buffer whose folder cannot be made is a start-up error that names it.
TEST(BufferTest, UnwritableFileBufferPathFailsStart) {
  TempDir dir;
  testing::writeFile(dir.file("plain"), "x");
  BufferConfig c = config("file");
  c.path = dir.file("plain/buf");  // under a regular file: even root cannot create it
  MetricsRegistry metrics;
  PluginMetrics m{metrics, "output", "scripted", "out1"};
  ScriptedOutput out;
  Buffer::Options o;
  o.config = c;
  o.output_id = "out1";
  Buffer b(std::move(o), out, nullptr, m, SourceLogger("[out]"));
  EXPECT_FALSE(b.checkState().isOk());
  Status s = b.start();
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find(dir.file("plain")), std::string::npos) << s.message();
}

TEST(BufferParamsTest, LazyModeSealsAfterTheTimeSliceAndTimekeyWait) {
  Harness h;
  BufferConfig c = config();
  c.flush_mode = sluice::FlushMode::Lazy;
  c.timekey.seconds = 86400;
  c.timekey_wait.seconds = 60;
  const int64_t day = int64_t{86400} * kNanosPerSecond;
  ManualClock clock(1795392000LL * kNanosPerSecond + day / 2);  // noon UTC, 2026-11-23
  h.clock = &clock;
  h.make(c, "", nullptr, "time");
  // Events of a slice long over are sealed at once; nothing seals a current slice early.
  ASSERT_TRUE(h.send(0, 3).isOk());  // time 2026-11-22T01:02:03Z: in the past
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 3; }));
  Batch now;
  now.add("t", clock.nowNs(), *parseJson("{\"n\":99}", now.arena()));
  ASSERT_TRUE(h.buffer->append(now).isOk());
  ASSERT_TRUE(clock.awaitWaiters(1));
  EXPECT_EQ(h.out.deliveredCount(), 3u);
  clock.advance(day / 2);  // midnight: the slice is over, timekey_wait not yet
  ASSERT_TRUE(clock.awaitWaiters(1));
  EXPECT_EQ(h.out.deliveredCount(), 3u);
  clock.advance(60 * kNanosPerSecond);
  EXPECT_TRUE(waitFor([&] { return h.out.deliveredCount() == 4; }));
}

TEST(BufferParamsTest, SeveralFlushThreadsDeliverEverythingOnce) {
  Harness h;
  BufferConfig c = config();
  c.flush_thread_count = 4;
  c.chunk_limit_records = 7;
  h.make(c);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(h.send(i * 10, i * 10 + 10).isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 1000; }));
  std::set<std::string> unique(h.out.delivered.begin(), h.out.delivered.end());
  EXPECT_EQ(unique.size(), 1000u);
}

TEST(BufferParamsTest, FsyncAppendAndNoneStillDeliver) {
  for (SyncPolicy policy : {SyncPolicy::Append, SyncPolicy::None}) {
    TempDir dir;
    BufferConfig c = config("file");
    c.path = dir.file("buf");
    c.fsync = policy;
    Harness h;
    Buffer::Options o;
    h.make(c);
    ASSERT_TRUE(h.send(0, 10).isOk());
    ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 10; })) << static_cast<int>(policy);
  }
}

}  // namespace
}  // namespace sluice::buffer
