// SPDX-License-Identifier: Apache-2.0
#pragma once

// For backpressure tests of inputs: an output that cannot deliver until its gate opens, and the
// sink that appends to a real buffer in front of it (tests/support/buffer_support.h).

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "support/buffer_support.h"
#include "support/test_support.h"

namespace sluice::testing {

// Formats each record as JSON; write() asks for a retry while the gate is closed, then keeps
// every event. Thread-safe.
class GateOutput : public Output {
 public:
  void format(const Batch& batch, FormattedEvents& out) override {
    for (const Event& e : batch.events()) {
      appendJson(out.bytes, e.record);
      out.endEvent();
    }
  }
  WriteResult write(const ChunkView& chunk) override {
    if (!open.load()) return WriteResult::retry("gate closed");
    std::lock_guard<std::mutex> lock(mu);
    for (size_t i = 0; i < chunk.events(); ++i) delivered.emplace_back(chunk.event(i));
    return WriteResult::ok();
  }
  size_t deliveredCount() {
    std::lock_guard<std::mutex> lock(mu);
    return delivered.size();
  }
  std::atomic<bool> open{false};
  std::mutex mu;
  std::vector<std::string> delivered;  // guarded by mu
};

// An input's next stage: the buffer itself (append blocks or refuses as configured).
class BufferSink : public EventSink {
 public:
  explicit BufferSink(OutputBuffer& b) : buffer_(b) {}
  Status emit(Batch& batch) override { return buffer_->append(batch); }

 private:
  OutputBuffer& buffer_;
};

// A memory buffer with overflow_action block in front of a closed GateOutput, and the sink an
// input under test emits into. Members in construction order.
struct GatedBuffer {
  GatedBuffer(uint64_t chunk_limit, uint64_t total_limit)
      : buffer(configFor(chunk_limit, total_limit), out, "gate", dir.path()), sink(buffer) {}
  static BufferConfig configFor(uint64_t chunk_limit, uint64_t total_limit) {
    BufferConfig bc = testBufferConfig();
    bc.chunk_limit_size.bytes = chunk_limit;
    bc.total_limit_size.bytes = total_limit;
    bc.overflow_action = OverflowAction::Block;
    return bc;
  }
  TempDir dir;
  GateOutput out;
  OutputBuffer buffer;
  BufferSink sink;
};

}  // namespace sluice::testing
