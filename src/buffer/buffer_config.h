// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <string>

#include "buffer/chunk_file.h"
#include "codec/codec.h"
#include "config/element.h"
#include "config/params.h"

namespace sluice {

// The <buffer> section's enums, with Fluentd's spellings. Bound at config time (enumMember), so
// the buffer compares no config string while it runs.
enum class BufferType { Memory, File };
inline constexpr Choice<BufferType> kBufferTypes[] = {{"memory", BufferType::Memory}, {"file", BufferType::File}};
inline constexpr Choice<codec::Compression> kChunkCompressions[] = {
    {"text", codec::Compression::Text}, {"gzip", codec::Compression::Gzip}, {"zstd", codec::Compression::Zstd}};
// default: lazy when `time` is a chunk key, else interval (Fluentd).
enum class FlushMode { Default, Lazy, Interval, Immediate };
inline constexpr Choice<FlushMode> kFlushModes[] = {
    {"default", FlushMode::Default}, {"lazy", FlushMode::Lazy}, {"interval", FlushMode::Interval}, {"immediate", FlushMode::Immediate}};
enum class OverflowAction { ThrowException, Block, DropOldestChunk };
inline constexpr Choice<OverflowAction> kOverflowActions[] = {{"throw_exception", OverflowAction::ThrowException},
                                                              {"block", OverflowAction::Block},
                                                              {"drop_oldest_chunk", OverflowAction::DropOldestChunk}};
enum class RetryType { ExponentialBackoff, Periodic };
inline constexpr Choice<RetryType> kRetryTypes[] = {{"exponential_backoff", RetryType::ExponentialBackoff},
                                                    {"periodic", RetryType::Periodic}};
inline constexpr Choice<buffer::SyncPolicy> kSyncPolicies[] = {
    {"seal", buffer::SyncPolicy::Seal}, {"append", buffer::SyncPolicy::Append}, {"none", buffer::SyncPolicy::None}};

// The <buffer> section, with Fluentd's parameter names and defaults. Declared once here and
// used by every output.
struct BufferConfig {
  BufferType type = BufferType::Memory;
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
  codec::Compression compress = codec::Compression::Text;
  FlushMode flush_mode = FlushMode::Default;
  Duration flush_interval;
  int64_t flush_thread_count = 1;
  Duration flush_thread_interval;
  bool flush_at_shutdown = true;
  Duration delayed_commit_timeout;
  OverflowAction overflow_action = OverflowAction::ThrowException;
  RetryType retry_type = RetryType::ExponentialBackoff;
  Duration retry_wait;
  double retry_exponential_backoff_base = 2;
  Duration retry_max_interval;
  bool retry_randomize = true;
  Duration retry_timeout;
  int64_t retry_max_times = 0;
  bool retry_forever = false;
  double retry_secondary_threshold = 0.8;
  std::optional<std::string> dead_letter_path;
  buffer::SyncPolicy fsync = buffer::SyncPolicy::Seal;
};

inline constexpr size_t kBufferParamCount = 30;
const std::array<Param<BufferConfig>, kBufferParamCount>& bufferParams();

// A <buffer> section written as in a config file ("chunk_limit_size 2m\nflush_interval 0.2"),
// bound with the table's defaults for what it leaves out (benchmarks, tools).
Result<BufferConfig> bufferConfigFromText(std::string_view body);

// flush_thread_count of the <buffer> section of `output` (bound through the table), 1 when it
// has none or it does not bind. What PluginContext::flushThreadCount() answers in a pipeline.
int64_t flushThreadCountOf(const config::Element& output);

}  // namespace sluice
