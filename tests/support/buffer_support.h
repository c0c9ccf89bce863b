// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "buffer/buffer.h"
#include "buffer/buffer_config.h"

namespace sluice::testing {

// A <buffer> for tests: memory or file, 8 MiB chunks, interval flushing every 50 ms, one flush
// thread, fast retries without jitter (10 ms doubling), an hour's retry_timeout.
BufferConfig testBufferConfig(std::string type = "memory");

// The events of `data` one by one (a chunk read back, a scan's events).
inline std::vector<std::string> eventsOf(const FormattedEvents& data) {
  const ChunkView view(data.bytes, data.ends, nullptr);
  std::vector<std::string> out;
  for (size_t i = 0; i < view.events(); ++i) out.emplace_back(view.event(i));
  return out;
}

// A started buffer in front of an output under test, with its own metrics registry; events
// failed for good go to `<dead_letter_dir>/<id>.jsonl`.
class OutputBuffer {
 public:
  OutputBuffer(const BufferConfig& config, Output& output, const std::string& id, std::string dead_letter_dir);
  bool started() const { return started_; }
  buffer::Buffer* operator->() { return buffer_.get(); }

 private:
  MetricsRegistry registry_;
  PluginMetrics metrics_;
  std::unique_ptr<buffer::Buffer> buffer_;
  bool started_ = false;
};

}  // namespace sluice::testing
