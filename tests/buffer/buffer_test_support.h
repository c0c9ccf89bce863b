// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the buffer's tests share (buffer_*_test.cc in this folder): an output that answers what
// the test says (ScriptedOutput, which can also hold writes back to pile chunks up) and a
// Harness that builds a Buffer on it and appends numbered events {"n":i}. The test's thread
// makes and drives them; the buffer's flush threads call ScriptedOutput::write.

#include <gtest/gtest.h>

#include <climits>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "buffer/buffer.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/time.h"
#include "support/buffer_support.h"
#include "support/test_support.h"

namespace sluice::buffer::buffer_test {

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

inline BufferConfig config(std::string type = "memory") { return testing::testBufferConfig(std::move(type)); }

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

}  // namespace sluice::buffer::buffer_test
