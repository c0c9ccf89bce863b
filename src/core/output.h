// SPDX-License-Identifier: Apache-2.0
#pragma once

// The output plugin interface. Part of the plugin API (core/plugin_api.h).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/batch.h"
#include "core/chunk_view.h"
#include "core/plugin_base.h"

namespace sluice {

// What Output::write reports; the engine (the buffer) owns retries and accounting.
// Partial: `retry_events` are written again in a new chunk, `failed_events` go to <secondary>
// or the dead letters with their reason; the other events were delivered.
struct WriteResult {
  enum class Kind { Ok, Retry, Fail, Partial };
  Kind kind = Kind::Ok;
  std::string reason;
  std::vector<size_t> retry_events;
  std::vector<std::pair<size_t, std::string>> failed_events;
  int64_t retry_after_ns = 0;  // a server's Retry-After, if it gave one
  static WriteResult ok() { return {}; }
  static WriteResult retry(std::string r) { return {Kind::Retry, std::move(r), {}, {}, 0}; }
  static WriteResult fail(std::string r) { return {Kind::Fail, std::move(r), {}, {}, 0}; }
};

// Fluentd's output split: format() serialises events into the output's wire format (on the
// input's thread, a batch at a time, one event after another); write() sends a chunk of
// formatted events (on a flush thread when buffered). Outputs that route rather than send
// (copy, relabel, null) return themselves from asSink() instead.
class Output : public Plugin {
 public:
  virtual void format(const Batch& batch, FormattedEvents& out) { (void)batch; (void)out; }
  virtual WriteResult write(const ChunkView& chunk) { (void)chunk; return WriteResult::ok(); }
  virtual EventSink* asSink() { return nullptr; }
};
using OutputPtr = std::unique_ptr<Output>;

}  // namespace sluice
