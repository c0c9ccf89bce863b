// SPDX-License-Identifier: Apache-2.0
// The buffer across its life: chunks per key, compression, acknowledgements of memory and file
// buffers, a restart with the retry state, flushes at a stop (retry delays kept), damaged chunks
// quarantined, an unwritable path, lazy mode and timekey_wait, several flush threads, fsync
// modes. Shared ScriptedOutput and Harness: buffer_test_support.h.

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "buffer/buffer_test_support.h"

namespace sluice::buffer::buffer_test {
namespace {

using testing::TempDir;
using testing::waitFor;

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
}  // namespace sluice::buffer::buffer_test
