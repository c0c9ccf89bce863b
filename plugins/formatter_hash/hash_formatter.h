// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::formatter_hash {

// Fluentd's hash formatter: the record as Ruby's Hash#to_s writes it, {"k"=>"v", "n"=>1}
// (core/record_text.h).
// Threading: immutable after create(); formatBatch() runs concurrently on the threads of the
// inputs whose batches reach the output (flush threads for a <secondary>).
class HashFormatter final : public FormatterBase<HashFormatter> {
 public:
  static Result<std::unique_ptr<HashFormatter>> create(const FormatConfig& config, PluginContext& ctx);

  // Called by FormatterBase::formatBatch for each event.
  void formatOne(const Event& event, std::string& out) const;

 private:
  explicit HashFormatter(const FormatConfig& c) : newline_(c.add_newline) {}

  const bool newline_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::formatter_hash
