// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <mutex>

#include "core/format_compat.h"
#include "core/inject.h"
#include "core/plugin_api.h"

namespace sluice::plugins::filter_stdout {

using StdoutFilterConfig = V012FormatKeys;  // v0.12: format (the formatter's @type), output_type

// Fluentd's filter_stdout: prints every event (default `time tag: {json}`, or the <format>
// section), with the fields of its <inject> section added to what is printed, to standard
// output and passes the batch on unchanged. A batch is formatted on the calling thread and
// written with one write under a lock, so concurrent batches do not interleave mid-line.
// Threading: immutable after create() (but for the output lock); process() runs concurrently
// on the threads of the inputs whose events reach it.
class StdoutFilter final : public Filter {
 public:
  static Result<std::unique_ptr<StdoutFilter>> create(const StdoutFilterConfig& config, PluginContext& ctx);

  // sluice::Filter
  void process(Batch& batch) override;

  void setFdForTest(int fd) { fd_ = fd; }

 private:
  StdoutFilter(FormatterPtr formatter, std::unique_ptr<config::Element> v012_section, Injector injector)
      : v012_section_(std::move(v012_section)), formatter_(std::move(formatter)), injector_(std::move(injector)) {}
  const std::unique_ptr<config::Element> v012_section_;  // the <format> made from v0.12 keys
  const FormatterPtr formatter_;
  const Injector injector_;
  std::mutex write_mutex_;
  int fd_ = 1;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::filter_stdout
