// SPDX-License-Identifier: Apache-2.0
#include "support/buffer_support.h"

namespace sluice::testing {

BufferConfig testBufferConfig(std::string type) {
  BufferConfig c;
  c.type = type == "file" ? BufferType::File : BufferType::Memory;
  c.chunk_limit_size.bytes = 8 << 20;
  c.total_limit_size.bytes = 64 << 20;
  c.chunk_full_threshold = 0.95;
  c.compress = codec::Compression::Text;
  c.flush_mode = FlushMode::Interval;
  c.flush_interval.seconds = 0.05;
  c.flush_thread_count = 1;
  c.flush_thread_interval.seconds = 0.05;
  c.flush_at_shutdown = true;
  c.overflow_action = OverflowAction::ThrowException;
  c.retry_type = RetryType::ExponentialBackoff;
  c.retry_wait.seconds = 0.01;
  c.retry_exponential_backoff_base = 2;
  c.retry_randomize = false;
  c.retry_timeout.seconds = 3600;
  c.timekey.seconds = 0;
  c.fsync = buffer::SyncPolicy::Seal;
  return c;
}

OutputBuffer::OutputBuffer(const BufferConfig& config, Output& output, const std::string& id,
                           std::string dead_letter_dir)
    : metrics_(registry_, "output", id, id) {
  buffer::Buffer::Options o;
  o.config = config;
  o.keys = *buffer::parseChunkKeys("", config);
  o.output_id = id;
  o.dead_letter_dir = std::move(dead_letter_dir);
  buffer_ = std::make_unique<buffer::Buffer>(std::move(o), output, nullptr, metrics_, SourceLogger("[out:" + id + "]"));
  started_ = buffer_->start().isOk();
}

}  // namespace sluice::testing
