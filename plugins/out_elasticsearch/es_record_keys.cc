// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_elasticsearch/es_record_keys.h"

namespace sluice::plugins::out_elasticsearch {

using C = EsConfig;

const std::array<Param<C>, kRecordParamCount> kRecordParams = {{
    {"target_index_key", &C::target_index_key, nullptr, "Record field whose value is the document's index (lower-cased) instead of index_name or the logstash index; the field is left out of the document. Dots reach nested fields (a.b)."},
    {"target_type_key", &C::target_type_key, nullptr, "Record field left out of the document, as Fluentd does on Elasticsearch 7 and later (the type is _doc on 7, none on 8). Dots reach nested fields."},
    {"routing_key", &C::routing_key, nullptr, "Record field whose value is the document's routing (the action line's routing, _routing before Elasticsearch 7). Dots reach nested fields."},
}};

namespace {

// fluent-plugin-elasticsearch splits these keys on dots (convert_compat_id_key, split '.').
Result<FieldPath> pathOf(const std::string& key) {
  if (key.find('.') != std::string::npos && !key.starts_with("$")) return FieldPath::parse("$." + key);
  return FieldPath::parse(key);
}

}  // namespace

Result<std::unique_ptr<RecordKeys>> RecordKeys::create(const EsConfig& c) {
  if (!c.target_index_key && !c.target_type_key && !c.routing_key) return nullptr;
  auto keys = std::make_unique<RecordKeys>();
  for (auto [param, value, out] : {std::tuple{"target_index_key", &c.target_index_key, &keys->index_},
                                   std::tuple{"target_type_key", &c.target_type_key, &keys->type_},
                                   std::tuple{"routing_key", &c.routing_key, &keys->routing_}}) {
    if (!*value) continue;
    auto path = pathOf(**value);
    if (!path) return Status::invalidConfig(std::string(param) + ": " + path.status().message());
    *out = std::move(*path);
  }
  return keys;
}

const Value& RecordKeys::apply(const Value& record, Arena& arena, Value& copy, std::string& index) const {
  index.clear();
  const Value* target = index_ ? index_->find(record) : nullptr;
  const Value* type = type_ ? type_->find(record) : nullptr;
  // As the plugin: a field that is nil (or false) is neither used nor removed.
  auto present = [](const Value* v) { return v != nullptr && !v->isNull() && !(v->isBool() && !v->asBool()); };
  if (present(target)) {
    if (target->isString()) {
      index = target->asString();
    } else {
      appendJson(index, *target);
    }
    for (char& ch : index) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (!present(target) && !present(type)) return record;
  copy = record.copyStructure(arena);
  if (present(target)) index_->remove(copy);
  if (present(type)) type_->remove(copy);
  return copy;
}

}  // namespace sluice::plugins::out_elasticsearch
