// SPDX-License-Identifier: Apache-2.0
#pragma once

// Per-record targets of the Elasticsearch output, as fluent-plugin-elasticsearch reads them:
// target_index_key (the field's value is the document's index, and the field leaves the
// document), target_type_key (the field leaves the document; _type stays _doc on
// Elasticsearch 7 and none on 8, as the plugin does there), routing_key (the field's value is
// the action line's routing). A key with dots is a nested path ("a.b", or record_accessor's
// $.a.b). Immutable after create(); apply() runs on the input threads under the output's
// format lock (it writes into the scratch arena it is given).

#include <memory>
#include <optional>
#include <string>

#include "core/plugin_api.h"
#include "plugins/out_elasticsearch/es_output.h"

namespace sluice::plugins::out_elasticsearch {

inline constexpr size_t kRecordParamCount = 3;
extern const std::array<Param<EsConfig>, kRecordParamCount> kRecordParams;

class RecordKeys {
 public:
  // nullptr when none of the keys is set.
  static Result<std::unique_ptr<RecordKeys>> create(const EsConfig& config);

  // The record to serialise: `record` itself, or (when a target field is present) a copy in
  // `arena` without the target fields. `index` gets target_index_key's value ("" when absent).
  const Value& apply(const Value& record, Arena& arena, Value& copy, std::string& index) const;
  // routing_key's value in `record`, or nullptr.
  const Value* routing(const Value& record) const { return routing_ ? routing_->find(record) : nullptr; }
  // "routing" (Elasticsearch 7 and later), "_routing" before; set by start(), before format().
  void setRoutingMeta(std::string name) { routing_meta_ = std::move(name); }
  const std::string& routingMeta() const { return routing_meta_; }

 private:
  std::optional<FieldPath> index_, type_, routing_;
  std::string routing_meta_ = "routing";
};

}  // namespace sluice::plugins::out_elasticsearch
