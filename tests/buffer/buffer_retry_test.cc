// SPDX-License-Identifier: Apache-2.0
// The buffer's delivery when the output fails on demand: the retry schedule, Retry-After,
// partial results (the rest retried, the failed dead-lettered), <secondary>, retries item by
// item, small due chunks in one write, giving up without holding appends back; chunk keys and
// their placeholders. Shared ScriptedOutput and Harness: buffer_test_support.h.

#include <gtest/gtest.h>

#include <future>

#include "buffer/buffer_test_support.h"

namespace sluice::buffer::buffer_test {
namespace {

using testing::TempDir;
using testing::waitFor;

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

}  // namespace
}  // namespace sluice::buffer::buffer_test
