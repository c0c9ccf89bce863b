// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_parser/parser_filter.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace sluice::plugins::filter_parser {
namespace {

using C = ParserFilterConfig;
const std::array<Param<C>, 8> kParams = {{
    {"key_name", &C::key_name, nullptr, "Field to parse (record_accessor syntax such as $.a.b allowed).", {}, kRequired},
    {"reserve_data", &C::reserve_data, "false", "Keep the original fields; parsed fields are merged over them."},
    {"reserve_time", &C::reserve_time, "false", "Keep the event's time even if the parser found one."},
    {"remove_key_name_field", &C::remove_key_name_field, "false", "With reserve_data: drop key_name after a successful parse."},
    {"replace_invalid_sequence", &C::replace_invalid_sequence, "false", "Always on in sluice: invalid UTF-8 never stops parsing; JSON parsers replace it with U+FFFD as they read, other parsers when the record is written.", {}, kIgnored},
    {"inject_key_prefix", &C::inject_key_prefix, nullptr, "Prefix added to each parsed field name."},
    {"hash_value_field", &C::hash_value_field, nullptr, "Store the parsed fields under this one field."},
    {"emit_invalid_record_to_error", &C::emit_invalid_record_to_error, "true", "Send records whose field is missing or does not parse to @ERROR."},
}};

constexpr std::string_view kMissing = "key_name does not exist in the record";
constexpr std::string_view kNotMatched = "pattern not matched";

}  // namespace

Result<std::unique_ptr<ParserFilter>> ParserFilter::create(const ParserFilterConfig& config, PluginContext& ctx) {
  auto key = FieldPath::parse(config.key_name);
  if (!key) return key.takeStatus();
  auto sections = ctx.element().children("parse");
  if (sections.empty()) return Status::invalidConfig("a <parse> section is required");
  auto parser = ctx.createParser(*sections.front());
  if (!parser) return parser.takeStatus();
  return std::unique_ptr<ParserFilter>(new ParserFilter(config, std::move(*key), std::move(*parser)));
}

ParserFilter::ParserFilter(const ParserFilterConfig& config, FieldPath key, ParserPtr parser)
    : config_(config), key_(std::move(key)), parser_(std::move(parser)) {}

Value ParserFilter::merge(const Value& original, const Value& parsed, Arena& arena, const std::string* drop) const {
  Value values = parsed;
  if (config_.inject_key_prefix) {
    Value prefixed = Value::emptyObject();
    for (const Member& m : parsed.members()) {
      std::string_view prefix = *config_.inject_key_prefix;
      char* buf = static_cast<char*>(arena.allocate(prefix.size() + m.key.size(), 1));
      std::memcpy(buf, prefix.data(), prefix.size());
      std::memcpy(buf + prefix.size(), m.key.data(), m.key.size());
      prefixed.setMember(std::string_view(buf, prefix.size() + m.key.size()), m.value, arena);
    }
    values = prefixed;
  }
  if (config_.hash_value_field) {
    Value wrapped = Value::emptyObject();
    wrapped.setMember(*config_.hash_value_field, values, arena);
    values = wrapped;
  }
  if (!config_.reserve_data) return values;
  // record.merge(parsed): one member array sized for both; a parsed key replaces an original
  // one, others are appended. (setMember one by one would search and regrow repeatedly.)
  const auto orig = original.members();
  const auto add = values.members();
  const uint32_t cap = std::bit_ceil(std::max<uint32_t>(4, static_cast<uint32_t>(orig.size() + add.size())));
  Member* out = arena.allocArray<Member>(cap);
  uint32_t kept = 0;
  for (const Member& m : orig) {
    if (drop != nullptr && m.key == *drop) continue;  // the record.delete(key_name) before the merge
    out[kept++] = m;
  }
  uint32_t n = kept;
  for (const Member& m : add) {
    uint32_t k = 0;
    // Sizes and first bytes before memcmp (a libc call): most keys differ there.
    while (k < kept && !(out[k].key.size() == m.key.size() &&
                         (m.key.empty() || (out[k].key[0] == m.key[0] && out[k].key == m.key)))) {
      ++k;
    }
    if (k < kept) {
      out[k].value = m.value;
    } else {
      out[n++] = m;
    }
  }
  return Value::object(out, n, true);
}

void ParserFilter::process(Batch& batch) {
  auto& events = batch.events();
  Arena& arena = batch.arena();
  // Gather the values to parse, then parse them all in one call.
  std::vector<std::string_view> lines;
  std::vector<size_t> index(events.size(), SIZE_MAX);
  lines.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const Value* v = key_.find(events[i].record);
    if (v == nullptr || v->isNull()) continue;
    index[i] = lines.size();
    if (v->isString()) {
      lines.push_back(v->asString());
    } else {
      std::string text = toJson(*v);
      lines.push_back(arena.copy(text));
    }
  }
  std::vector<ParsedRecord> parsed(lines.size());
  parser_->parse(LineBatch{lines}, arena, parsed);

  std::vector<bool> drop(events.size(), false);
  for (size_t i = 0; i < events.size(); ++i) {
    Event& e = events[i];
    const bool missing = index[i] == SIZE_MAX;
    if (missing || !parsed[index[i]].ok()) {
      if (config_.emit_invalid_record_to_error) {
        batch.emitError(e, missing ? kMissing : kNotMatched);
      }
      if (!config_.reserve_data) drop[i] = true;
      continue;
    }
    ParsedRecord& r = parsed[index[i]];
    if (!config_.reserve_time && r.has_time) e.time_ns = r.time_ns;
    const bool remove_key = config_.reserve_data && config_.remove_key_name_field;
    if (remove_key && key_.isTopLevel()) {  // left out while merging: no removal, no memmove
      e.record = merge(e.record, r.record, arena, &key_.topKey());
      continue;
    }
    if (remove_key) key_.remove(e.record);
    e.record = merge(e.record, r.record, arena);
  }
  size_t k = 0;
  batch.eraseIf([&](const Event&) { return drop[k++]; });
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<ParserFilter>(
      PluginKind::Filter, "parser", "Parses one field of each record with a <parse> parser.",
      kParams, {{"parse", "The parser applied to key_name (required).", {}}})
      .needing("<parse>\n @type json\n</parse>\n");
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_parser
