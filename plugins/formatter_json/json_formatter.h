// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::formatter_json {

// Fluentd's json formatter (and hash, which Ruby writes as JSON too): the record as one JSON
// object, then a newline unless add_newline false.
// Threading: immutable after create(); formatBatch() runs concurrently on the threads of the
// inputs whose batches reach the output (flush threads for a <secondary>).
class JsonFormatter final : public FormatterBase<JsonFormatter> {
 public:
  static Result<std::unique_ptr<JsonFormatter>> create(const FormatConfig& config, PluginContext& ctx);

  // Called by FormatterBase::formatBatch for each event.
  void formatOne(const Event& event, std::string& out) const;

 private:
  explicit JsonFormatter(const FormatConfig& c) : newline_(c.add_newline) {}

  const bool newline_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::formatter_json
