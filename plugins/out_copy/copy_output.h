// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::out_copy {

// Fluentd's copy_mode: no_copy and shallow share the batch, deep and marshal copy it.
enum class CopyMode { NoCopy, Shallow, Deep, Marshal };
inline constexpr Choice<CopyMode> kCopyModes[] = {
    {"no_copy", CopyMode::NoCopy}, {"shallow", CopyMode::Shallow}, {"deep", CopyMode::Deep}, {"marshal", CopyMode::Marshal}};

struct CopyConfig {
  CopyMode copy_mode = CopyMode::NoCopy;
};
struct StoreConfig {
  bool ignore_error = false;
};

// Fluentd's out_copy: hands each batch to every <store> in order. A store that routes events on
// (relabel, another copy: its events may meet filters), and with copy_mode deep/marshal every
// store, gets its own deep copy unless it is the last, so that one store cannot change what the
// next one sees. A failing store stops the others unless it has ignore_error.
// Threading: immutable after create(); emit() runs concurrently on the threads of the inputs
// whose batches reach it (a copy is built per batch, on that thread).
class CopyOutput final : public Output, public EventSink {
 public:
  struct Store {
    EventSink* sink;
    bool ignore_error;
    bool needs_copy;
  };

  static Result<std::unique_ptr<CopyOutput>> create(const CopyConfig& config, PluginContext& ctx);

  // sluice::Output
  EventSink* asSink() override { return this; }
  // sluice::EventSink
  Status emit(Batch& batch) override;

  const std::vector<Store>& storesForTest() const { return stores_; }

 private:
  explicit CopyOutput(std::vector<Store> stores) : stores_(std::move(stores)) {}
  const std::vector<Store> stores_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_copy
