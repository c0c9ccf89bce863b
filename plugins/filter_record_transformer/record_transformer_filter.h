// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"
#include "core/record_template.h"

namespace sluice::plugins::filter_record_transformer {

struct TransformerConfig {
  bool enable_ruby = false;
  bool auto_typecast = false;
  bool renew_record = false;
  std::optional<std::string> renew_time_key;
  StringList keep_keys;
  StringList remove_keys;
};

// Fluentd's record_transformer without Ruby: sets the fields of <record> from templates with
// ${tag}, ${tag_parts[N]}, ${tag_prefix[N]}, ${tag_suffix[N]}, ${hostname}, ${time},
// ${field} and ${record["a"]["b"]} (core/record_template.h); then remove_keys / keep_keys /
// renew_record. Templates are compiled once; expansion writes into the batch arena.
// Threading: immutable after create(); process() runs concurrently on the threads of the inputs
// whose events reach it.
class RecordTransformerFilter final : public Filter {
 public:
  static Result<std::unique_ptr<RecordTransformerFilter>> create(const TransformerConfig& config,
                                                                 PluginContext& ctx);

  // sluice::Filter
  void process(Batch& batch) override;

  struct Field {
    std::string key;
    RecordTemplate value;
  };

 private:
  RecordTransformerFilter(const TransformerConfig& config, std::vector<Field> fields,
                          std::vector<FieldPath> remove, std::string hostname);

  const TransformerConfig config_;
  const std::vector<Field> fields_;
  const std::vector<FieldPath> remove_;
  const std::string hostname_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::filter_record_transformer
