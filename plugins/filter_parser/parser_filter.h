// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::filter_parser {

struct ParserFilterConfig {
  std::string key_name;
  bool reserve_data = false;
  bool reserve_time = false;
  bool remove_key_name_field = false;
  bool replace_invalid_sequence = false;
  std::optional<std::string> inject_key_prefix;
  std::optional<std::string> hash_value_field;
  bool emit_invalid_record_to_error = true;
};

// Fluentd's filter_parser: parses one field of each record with its <parse> parser and
// replaces the record with the result (or merges it, with reserve_data). Records whose field
// is missing or does not parse go to @ERROR when emit_invalid_record_to_error, and are kept
// unchanged with reserve_data, else dropped. All lines of a batch go to the parser at once.
// Threading: immutable after create(); process() runs concurrently on the threads of the inputs
// whose events reach it (its parser is called line at a time, with no state).
class ParserFilter final : public Filter {
 public:
  static Result<std::unique_ptr<ParserFilter>> create(const ParserFilterConfig& config, PluginContext& ctx);

  // sluice::Filter
  void process(Batch& batch) override;

 private:
  ParserFilter(const ParserFilterConfig& config, FieldPath key, ParserPtr parser);
  // `drop`: a top-level member of `original` left out (remove_key_name_field), or nullptr.
  Value merge(const Value& original, const Value& parsed, Arena& arena, const std::string* drop = nullptr) const;

  const ParserFilterConfig config_;
  const FieldPath key_;
  const ParserPtr parser_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::filter_parser
