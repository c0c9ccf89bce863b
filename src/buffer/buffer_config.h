// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <string>

#include "config/params.h"

namespace sluice {

// The <buffer> section, with Fluentd's parameter names and defaults. Declared once here and
// used by every output.
struct BufferConfig {
  std::string type;
  std::optional<std::string> path;
  Duration timekey;
  Duration timekey_wait;
  bool timekey_use_utc = false;
  ByteSize chunk_limit_size;
  int64_t chunk_limit_records = 0;
  ByteSize total_limit_size;
  int64_t queue_limit_length = 0;
  int64_t queued_chunks_limit_size = 0;
  double chunk_full_threshold = 0.95;
  std::string compress;
  std::string flush_mode;
  Duration flush_interval;
  int64_t flush_thread_count = 1;
  Duration flush_thread_interval;
  bool flush_at_shutdown = true;
  Duration delayed_commit_timeout;
  std::string overflow_action;
  std::string retry_type;
  Duration retry_wait;
  double retry_exponential_backoff_base = 2;
  Duration retry_max_interval;
  bool retry_randomize = true;
  Duration retry_timeout;
  int64_t retry_max_times = 0;
  bool retry_forever = false;
  double retry_secondary_threshold = 0.8;
  std::optional<std::string> dead_letter_path;
  std::string fsync;
};

inline constexpr size_t kBufferParamCount = 30;
const std::array<Param<BufferConfig>, kBufferParamCount>& bufferParams();

// A <buffer> section written as in a config file ("chunk_limit_size 2m\nflush_interval 0.2"),
// bound with the table's defaults for what it leaves out (benchmarks, tools).
Result<BufferConfig> bufferConfigFromText(std::string_view body);

}  // namespace sluice
