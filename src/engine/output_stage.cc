// SPDX-License-Identifier: Apache-2.0
// OutputStage: hands a batch to its output on the emitting input's thread (see
// engine/output_stage.h).
#include "engine/output_stage.h"

#include <unistd.h>

#include <chrono>

namespace sluice::engine {

OutputStage::OutputStage(Output* output, Instance* instance)
    : output_(output), instance_(instance), routing_(output->asSink()) {
  PluginMetrics& m = *instance->metrics;
  received_ = &m.counter("received_records_total", "Events handed to the output.");
  sent_ = &m.counter("sent_records_total", "Events the output delivered.");
  sent_bytes_ = &m.counter("sent_bytes_total", "Bytes written, before compression.");
  errors_ = &m.counter("errors_total", "Failed writes.", {{"error_type", "write"}, {"stage", "write"}});
  retries_ = &m.counter("retries_total", "Write retries.");
  write_duration_ = &m.histogram("write_duration_seconds", "Time spent in write().");
}

Status OutputStage::emit(Batch& batch) {
  if (batch.empty()) return Status::ok();
  received_->add(batch.size());
  if (tap_ != nullptr && tap_->active()) tap_->offer(instance_->id, matched_, batch, *redactors_);
  if (routing_ != nullptr) {
    Status s = routing_->emit(batch);
    if (s) sent_->add(batch.size());
    return s;
  }
  if (buffer_) return buffer_->append(batch);
  std::lock_guard<std::mutex> lock(mu_);
  scratch_.clear();
  output_->format(batch, scratch_);
  // Synchronous delivery with a short bounded retry; the buffer issue replaces this.
  constexpr int kAttempts = 3;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto start = std::chrono::steady_clock::now();
    WriteResult r = output_->write(ChunkView(scratch_.bytes, scratch_.ends, nullptr));
    write_duration_->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (r.kind == WriteResult::Kind::Ok) {
      sent_->add(batch.size());
      sent_bytes_->add(scratch_.bytes.size());
      return Status::ok();
    }
    errors_->add(1);
    if (r.kind == WriteResult::Kind::Fail || attempt + 1 == kAttempts) {
      instance_->log.error("Write failed; " + std::to_string(batch.size()) +
                           " events were lost. reason=\"" + r.reason + "\"");
      return Status::ioError(r.reason);
    }
    retries_->add(1);
    instance_->log.warn("Write failed, retrying. reason=\"" + r.reason + "\"");
    ::usleep(100000 << attempt);
  }
  return Status::ok();
}

}  // namespace sluice::engine
