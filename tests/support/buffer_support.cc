// SPDX-License-Identifier: Apache-2.0
#include "support/buffer_support.h"

namespace sluice::testing {

BufferConfig testBufferConfig(std::string type) {
  BufferConfig c;
  c.type = type;
  c.chunk_limit_size.bytes = 8 << 20;
  c.total_limit_size.bytes = 64 << 20;
  c.chunk_full_threshold = 0.95;
  c.compress = "text";
  c.flush_mode = "interval";
  c.flush_interval.seconds = 0.05;
  c.flush_thread_count = 1;
  c.flush_thread_interval.seconds = 0.05;
  c.flush_at_shutdown = true;
  c.overflow_action = "throw_exception";
  c.retry_type = "exponential_backoff";
  c.retry_wait.seconds = 0.01;
  c.retry_exponential_backoff_base = 2;
  c.retry_randomize = false;
  c.retry_timeout.seconds = 3600;
  c.timekey.seconds = 0;
  c.fsync = "seal";
  return c;
}

}  // namespace sluice::testing
