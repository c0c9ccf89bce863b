// SPDX-License-Identifier: Apache-2.0
#pragma once

// OutputStage: where a route ends. Owned by the Pipeline; emit() runs on the emitting input's
// thread (a <buffer>'s flush threads then write, see buffer/buffer.h).

#include <memory>
#include <mutex>
#include <vector>

#include "buffer/buffer.h"
#include "core/chunk_view.h"
#include "core/output.h"
#include "engine/instance.h"
#include "monitor/metrics.h"
#include "monitor/tap.h"

namespace sluice::engine {

// Delivers batches to one output: routing outputs (copy, relabel, null) get the batch; an
// output with a <buffer> section appends to its buffer (flush threads write); the others get
// format() then write() synchronously, under a lock, per batch.
class OutputStage : public EventSink {
 public:
  OutputStage(Output* output, Instance* instance);
  Status emit(Batch& batch) override;
  Instance* instance() const { return instance_; }
  Output* output() const { return output_; }
  void setBuffer(std::unique_ptr<buffer::Buffer> b, Output* secondary) {
    buffer_ = std::move(b);
    secondary_ = secondary;
  }
  buffer::Buffer* buffer() const { return buffer_.get(); }
  Output* secondary() const { return secondary_; }
  void setTap(TapHub* tap, const std::vector<Filter*>* redactors) {
    tap_ = tap;
    redactors_ = redactors;
  }
  // A <match>'s output (not a <store> of copy, nor a <secondary>): where tag taps look.
  void setMatched() { matched_ = true; }

 private:
  Output* output_;
  Instance* instance_;
  EventSink* routing_;
  std::unique_ptr<buffer::Buffer> buffer_;
  Output* secondary_ = nullptr;
  TapHub* tap_ = nullptr;  // `sluice tap`, when <monitor> enable_tap
  bool matched_ = false;
  const std::vector<Filter*>* redactors_ = nullptr;
  std::mutex mu_;
  FormattedEvents scratch_;  // guarded by mu_; reused across batches
  Counter* received_;
  Counter* sent_;
  Counter* sent_bytes_;
  Counter* errors_;
  Counter* retries_;
  Histogram* write_duration_;
};

}  // namespace sluice::engine
