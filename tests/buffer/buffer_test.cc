// SPDX-License-Identifier: Apache-2.0
// The buffer with an output that fails on demand: retries, partial results, dead letters,
// <secondary>, overflow actions, chunk keys, compression, recovery and retry state across
// restarts, acknowledgements.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "buffer/buffer.h"
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
    std::lock_guard<std::mutex> lock(mu);
    ++calls;
    keys.push_back(chunk.key ? chunk.key->tag : "");
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
  std::mutex mu;
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
  MetricsRegistry metrics;
  PluginMetrics m{metrics, "output", "scripted", "out1"};
  ScriptedOutput out;
  std::unique_ptr<Buffer> buffer;
  void make(BufferConfig c, std::string dead_letters = "", Output* secondary = nullptr, std::string keys = "") {
    Buffer::Options o;
    o.config = c;
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
  c.retry_type = "periodic";
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
  EXPECT_EQ(h.out.calls, 4);
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
  EXPECT_NE(dead.find("\"output\":\"out1\",\"reason\":\"document_parsing_exception\",\"tag\":\"\",\"event\":\"{\\\"n\\\":2}\\n\""),
            std::string::npos) << dead;
  EXPECT_EQ(h.value("sluice_output_dead_letter_records_total"), 1);
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
  EXPECT_EQ(h.out.calls, 3);
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
  EXPECT_EQ(h.out.calls, 3);  // the first try and 2 retries
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
    c.overflow_action = "drop_oldest_chunk";
    c.flush_interval.seconds = 0;  // seal at once
    c.retry_wait.seconds = 100;    // and keep them queued
    h.make(c);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(h.send(i * 10, i * 10 + 10).isOk());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_GT(h.value("sluice_output_discarded_records_total"), 0);
    EXPECT_LE(h.buffer->storedBytes(), 200u);
  }
  {
    Harness h;
    h.out.fail_times = 3;
    BufferConfig c = config();
    c.total_limit_size.bytes = 100;
    c.overflow_action = "block";
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
  c.flush_at_shutdown = false;
  {
    Harness h;
    h.out.fail_times = 1;
    h.make(c);
    ASSERT_TRUE(h.send(0, 50).isOk());
    ASSERT_TRUE(waitFor([&] { return h.out.calls == 1; }));
    h.buffer->stop(0);
  }
  // Restart: the chunk is recovered with attempts=1 and its next retry an hour away.
  c.retry_wait.seconds = 0.01;
  Harness h2;
  h2.make(c);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(h2.out.calls, 0) << "a recovered chunk keeps its retry schedule";
  h2.buffer->stop(0);
  // The chunk files are still there; make it due now and start again.
  for (const auto& e : std::filesystem::directory_iterator(dir.file("buf"))) {
    if (e.path().extension() != ".meta") continue;
    std::string meta = testing::readFile(e.path());
    auto parsed = ChunkMeta::fromJson(meta);
    ASSERT_TRUE(parsed.isOk());
    EXPECT_EQ(parsed->attempts, 1u);
    parsed->next_retry_ns = 0;
    testing::writeFile(e.path(), parsed->toJson());
  }
  Harness h3;
  h3.make(c);
  ASSERT_TRUE(waitFor([&] { return h3.out.deliveredCount() == 50; }));
  EXPECT_TRUE(waitFor([&] { return h3.buffer->storedBytes() == 0; }));
}

TEST(BufferTest, CompressedChunksDeliverTheSameBytes) {
  for (const char* compression : {"zstd", "gzip"}) {
    for (const char* type : {"memory", "file"}) {
      TempDir dir;
      BufferConfig c = config(type);
      c.path = dir.file("buf");
      c.compress = compression;
      Harness h;
      h.make(c);
      ASSERT_TRUE(h.send(0, 200).isOk());
      ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 200; })) << compression << " " << type;
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
  h.make(c);
  ASSERT_TRUE(h.send(0, 25).isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 20; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(h.out.deliveredCount(), 20u);  // the last 5 wait in the staged chunk
  EXPECT_EQ(h.out.calls, 2);
}

TEST(BufferParamsTest, QueueLimitLengthRefusesWithThrowException) {
  Harness h;
  h.out.fail_times = 1000000;
  BufferConfig c = config();
  c.queue_limit_length = 2;
  c.flush_mode = "immediate";
  c.retry_wait.seconds = 100;
  h.make(c);
  ASSERT_TRUE(h.send(0, 1).isOk());
  ASSERT_TRUE(h.send(1, 2).isOk());
  ASSERT_TRUE(waitFor([&] { return h.out.calls >= 2; }));
  EXPECT_FALSE(h.send(2, 3).isOk());
}

TEST(BufferParamsTest, LazyModeSealsAfterTheTimeSliceAndTimekeyWait) {
  Harness h;
  BufferConfig c = config();
  c.flush_mode = "lazy";
  c.timekey.seconds = 60;
  c.timekey_wait.seconds = 0;
  h.make(c, "", nullptr, "time");
  // Events of a slice long over are sealed at once; nothing seals a current slice early.
  ASSERT_TRUE(h.send(0, 3).isOk());  // time 2026-11-22T01:02:03Z: in the past
  ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 3; }));
  Batch now;
  now.add("t", nowNs(), *parseJson("{\"n\":99}", now.arena()));
  c.timekey.seconds = 3600;
  ASSERT_TRUE(h.buffer->append(now).isOk());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(h.out.deliveredCount(), 3u);
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
  for (const char* policy : {"append", "none"}) {
    TempDir dir;
    BufferConfig c = config("file");
    c.path = dir.file("buf");
    c.fsync = policy;
    Harness h;
    Buffer::Options o;
    h.make(c);
    ASSERT_TRUE(h.send(0, 10).isOk());
    ASSERT_TRUE(waitFor([&] { return h.out.deliveredCount() == 10; })) << policy;
  }
}

}  // namespace
}  // namespace sluice::buffer
