// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_record_transformer/record_transformer_filter.h"

namespace sluice::plugins::filter_record_transformer {
namespace {

using C = TransformerConfig;
const std::array<Param<C>, 6> kParams = {{
    {"enable_ruby", &C::enable_ruby, "false", "sluice runs no Ruby; accepted so that configs using only ${record[...]}-style placeholders load. Other Ruby expressions are a config error."},
    {"auto_typecast", &C::auto_typecast, "false", "A value that is a single placeholder keeps the referenced field's type."},
    {"renew_record", &C::renew_record, "false", "Start from an empty record (plus keep_keys) instead of the original."},
    {"renew_time_key", &C::renew_time_key, nullptr, "Set the event time from this field (epoch seconds) after the transformation."},
    {"keep_keys", &C::keep_keys, "", "With renew_record: fields copied from the original record."},
    {"remove_keys", &C::remove_keys, "", "Fields removed after the transformation (record_accessor syntax allowed)."},
}};

}  // namespace

Result<std::unique_ptr<RecordTransformerFilter>> RecordTransformerFilter::create(
    const TransformerConfig& config, PluginContext& ctx) {
  if (config.enable_ruby) {
    ctx.log().warn("enable_ruby: sluice runs no Ruby; placeholders are evaluated without it.");
  }
  std::vector<Field> fields;
  for (const config::Element* rec : ctx.element().children("record")) {
    for (const config::Param& p : rec->params) {
      p.used = true;
      auto value = RecordTemplate::compile(p.value, TemplateDialect::RecordTransformer);
      if (!value) return value.status().withPrefix(p.where.str() + ": ");
      fields.push_back(Field{p.key, std::move(*value)});
    }
  }
  std::vector<FieldPath> remove;
  for (const std::string& k : config.remove_keys) {
    auto path = FieldPath::parse(k);
    if (!path) return path.takeStatus();
    remove.push_back(std::move(*path));
  }
  return std::unique_ptr<RecordTransformerFilter>(
      new RecordTransformerFilter(config, std::move(fields), std::move(remove), ctx.hostname()));
}

RecordTransformerFilter::RecordTransformerFilter(const TransformerConfig& config,
                                                 std::vector<Field> fields,
                                                 std::vector<FieldPath> remove, std::string hostname)
    : config_(config), fields_(std::move(fields)), remove_(std::move(remove)), hostname_(std::move(hostname)) {}

void RecordTransformerFilter::process(Batch& batch) {
  Arena& arena = batch.arena();
  std::string scratch;
  TagParts parts;
  for (Event& e : batch.events()) {
    const Value source = e.record;
    Value out;
    if (config_.renew_record) {
      out = Value::emptyObject();
      for (const std::string& k : config_.keep_keys) {
        if (const Value* v = source.find(k)) out.setMember(k, *v, arena);
      }
    } else {
      // A copy of the top level, so that templates read the original values.
      out = source.isObject() ? source.shallowCopy(arena) : Value::emptyObject();
    }
    const RecordTemplate::Input in{e, source, parts.of(e.tag), hostname_};
    for (const Field& f : fields_) out.setMember(f.key, f.value.expand(in, config_.auto_typecast, scratch, arena), arena);
    for (const FieldPath& p : remove_) p.remove(out);
    if (config_.renew_time_key) {
      if (const Value* t = out.find(*config_.renew_time_key); t && t->isNumber()) {
        double secs = t->asDouble();
        if (secs > -9.2e9 && secs < 9.2e9) e.time_ns = static_cast<int64_t>(secs * 1e9);
      }
    }
    e.record = out;
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<RecordTransformerFilter>(
      PluginKind::Filter, "record_transformer",
      "Adds, rewrites and removes record fields with templates (no Ruby).", kParams,
      {{"record", "field_name template: one line per field to set.", {}}});
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_record_transformer
