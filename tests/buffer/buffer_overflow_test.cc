// SPDX-License-Identifier: Apache-2.0
// The buffer's limits: overflow actions; block (a full buffer holds the input, a batch larger
// than the buffer goes in chunk by chunk, a stop releases blocked appends); chunk and queue
// limits in records, bytes and chunks; file chunks within their limits on disk. Shared
// ScriptedOutput and Harness: buffer_test_support.h.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "buffer/buffer_test_support.h"

namespace sluice::buffer::buffer_test {
namespace {

using testing::TempDir;
using testing::waitFor;

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
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a slow sink (the load tested)
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

}  // namespace
}  // namespace sluice::buffer::buffer_test
