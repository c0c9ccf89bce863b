// SPDX-License-Identifier: Apache-2.0
#include "buffer/buffer_config.h"

#include <algorithm>

#include "config/bind.h"
#include "config/parser.h"

namespace sluice {

const std::array<Param<BufferConfig>, kBufferParamCount>& bufferParams() {
  using B = BufferConfig;
  static constexpr std::array<Param<B>, kBufferParamCount> kParams = {{
      {"@type", enumMember<&B::type, kBufferTypes>(), "memory", "Buffer storage."},
      {"path", &B::path, nullptr, "Directory (or path prefix) of a file buffer's chunks."},
      {"timekey", &B::timekey, "0", "Time-slice chunks by this period when `time` is a chunk key."},
      {"timekey_wait", &B::timekey_wait, "600", "Wait this long after a time slice ends before flushing it."},
      {"timekey_use_utc", &B::timekey_use_utc, "false", "sluice aligns time slices to UTC in any case; outputs format their strftime placeholders in local time.", {}, kIgnored},
      {"chunk_limit_size", &B::chunk_limit_size, "8m", "Maximum bytes of a chunk (with frame headers for a file buffer); an event larger than this gets a chunk alone."},
      {"chunk_limit_records", &B::chunk_limit_records, "0", "Maximum events in a chunk (0: no limit)."},
      {"total_limit_size", &B::total_limit_size, "512m", "Maximum bytes of all chunks of this buffer (a file buffer counts each event's 8-byte frame header); appends beyond it follow overflow_action."},
      {"queue_limit_length", &B::queue_limit_length, "0", "As in Fluentd: when set, total_limit_size becomes chunk_limit_size × queue_limit_length (input is held back by bytes, never by a count of chunks)."},
      {"queued_chunks_limit_size", &B::queued_chunks_limit_size, "0", "While this many sealed chunks wait for a flush thread, flush_interval seals no more (the staged chunk keeps growing). 0: flush_thread_count, as in Fluentd. Chunks waiting for a retry do not count."},
      {"chunk_full_threshold", &B::chunk_full_threshold, "0.95", "Seal a chunk when it is this full."},
      {"compress", enumMember<&B::compress, kChunkCompressions>(), "text", "Compression of sealed chunks."},
      {"flush_mode", enumMember<&B::flush_mode, kFlushModes>(), "default", "When chunks are flushed."},
      {"flush_interval", &B::flush_interval, "60", "Flush period in interval mode."},
      {"flush_thread_count", &B::flush_thread_count, "1", "Threads sending chunks."},
      {"flush_thread_interval", &B::flush_thread_interval, "1", "Sleep of an idle flush thread."},
      {"flush_at_shutdown", &B::flush_at_shutdown, "true", "Flush every chunk on shutdown (within 10 s): a memory buffer also sends the retries due by then; a file buffer sends what is due and leaves chunks waiting for a retry on disk for the next start (unless every input finished, as stdin at its end: then it waits for them too)."},
      {"delayed_commit_timeout", &B::delayed_commit_timeout, "60", "sluice outputs commit synchronously (no delayed commit).", {}, kIgnored},
      {"overflow_action", enumMember<&B::overflow_action, kOverflowActions>(), "throw_exception", "What a full buffer does to new events."},
      {"retry_type", enumMember<&B::retry_type, kRetryTypes>(), "exponential_backoff", "Retry schedule."},
      {"retry_wait", &B::retry_wait, "1", "First retry delay."},
      {"retry_exponential_backoff_base", &B::retry_exponential_backoff_base, "2", "Growth factor of retry delays."},
      {"retry_max_interval", &B::retry_max_interval, "0", "Cap of a retry delay (0: none)."},
      {"retry_randomize", &B::retry_randomize, "true", "Add jitter to retry delays."},
      {"retry_timeout", &B::retry_timeout, "72h", "Give up retrying a chunk after this long."},
      {"retry_max_times", &B::retry_max_times, "0", "Give up after this many retries (0: no limit but retry_timeout)."},
      {"retry_forever", &B::retry_forever, "false", "Never give up."},
      {"retry_secondary_threshold", &B::retry_secondary_threshold, "0.8", "Fluentd switches to <secondary> after this fraction of retry_timeout; sluice hands a chunk to <secondary> when its retries are exhausted.", {}, kIgnored},
      {"dead_letter_path", &B::dead_letter_path, nullptr, "Directory of the dead-letter files (events that failed for good, without <secondary>). Default: `<path>/dead-letter` for a file buffer; a memory buffer without it logs and counts them."},
      {"fsync", enumMember<&B::fsync, kSyncPolicies>(), "seal", "When chunk files are fsync'ed: seal (when a chunk is sealed), append (every append), none. write() alone already survives SIGKILL; fsync makes data survive power loss."},
  }};
  return kParams;
}

Result<BufferConfig> bufferConfigFromText(std::string_view body) {
  auto root = config::parseConfigText("<buffer>\n" + std::string(body) + "\n</buffer>\n", "(buffer)", ".",
                                      config::EvalEnvironment{});
  if (!root) return root.takeStatus();
  BufferConfig c;
  Status s = bindParams(std::span<const Param<BufferConfig>>(bufferParams()), root->elements.at(0), c);
  if (!s) return s;
  return c;
}

int64_t flushThreadCountOf(const config::Element& output) {
  auto sections = output.children("buffer");
  if (sections.empty()) return 1;
  BufferConfig c;
  if (!bindParams(std::span<const Param<BufferConfig>>(bufferParams()), *sections.front(), c)) return 1;
  return std::max<int64_t>(1, c.flush_thread_count);
}

}  // namespace sluice
