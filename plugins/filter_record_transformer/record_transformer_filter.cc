// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_record_transformer/record_transformer_filter.h"

#include <charconv>

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

Status unsupportedPlaceholder(std::string_view inner) {
  return Status::invalidConfig("unsupported placeholder ${" + std::string(inner) +
                               "}: sluice runs no Ruby (supported: ${tag}, ${tag_parts[N]}, "
                               "${tag_prefix[N]}, ${tag_suffix[N]}, ${hostname}, ${time}, "
                               "${field}, ${record[\"a\"][\"b\"]})");
}

Result<FieldPath> parseRecordRef(std::string_view inner) {
  // record["a"]["b"] or record['a'] → $['a']['b']
  std::string path = "$";
  std::string_view rest = inner.substr(6);
  while (!rest.empty()) {
    if (rest.size() < 4 || rest[0] != '[' || (rest[1] != '"' && rest[1] != '\'')) {
      return unsupportedPlaceholder(inner);
    }
    char q = rest[1];
    size_t end = rest.find(q, 2);
    if (end == std::string_view::npos || end + 1 >= rest.size() || rest[end + 1] != ']') {
      return unsupportedPlaceholder(inner);
    }
    path += "['" + std::string(rest.substr(2, end - 2)) + "']";
    rest = rest.substr(end + 2);
  }
  return FieldPath::parse(path);
}

bool parseIndexed(std::string_view inner, std::string_view name, int& index) {
  if (!inner.starts_with(name) || inner.size() < name.size() + 3 || inner[name.size()] != '[' ||
      inner.back() != ']') {
    return false;
  }
  std::string_view num = inner.substr(name.size() + 1, inner.size() - name.size() - 2);
  auto r = std::from_chars(num.data(), num.data() + num.size(), index);
  return r.ec == std::errc() && r.ptr == num.data() + num.size();
}

void appendText(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::Null: break;  // Ruby's nil.to_s
    case Kind::String: out += v.asString(); break;
    default: appendJson(out, v);
  }
}

}  // namespace

Result<std::vector<RecordTransformerFilter::Segment>> compileTemplate(std::string_view text) {
  using Segment = RecordTransformerFilter::Segment;
  std::vector<Segment> out;
  size_t i = 0;
  std::string literal;
  while (i < text.size()) {
    size_t open = text.find("${", i);
    if (open == std::string_view::npos) {
      literal += text.substr(i);
      break;
    }
    size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos) {
      literal += text.substr(i);
      break;
    }
    literal += text.substr(i, open - i);
    if (!literal.empty()) {
      out.push_back(Segment{Segment::Kind::Literal, literal});
      literal.clear();
    }
    std::string_view inner = text.substr(open + 2, close - open - 2);
    Segment s{Segment::Kind::Literal, std::string(text.substr(open, close - open + 1))};
    int idx = 0;
    if (inner == "tag") {
      s.kind = Segment::Kind::Tag;
    } else if (inner == "hostname") {
      s.kind = Segment::Kind::Hostname;
    } else if (inner == "time") {
      s.kind = Segment::Kind::Time;
    } else if (parseIndexed(inner, "tag_parts", idx)) {
      s.kind = Segment::Kind::TagPart;
      s.index = idx;
    } else if (parseIndexed(inner, "tag_prefix", idx)) {
      s.kind = Segment::Kind::TagPrefix;
      s.index = idx;
    } else if (parseIndexed(inner, "tag_suffix", idx)) {
      s.kind = Segment::Kind::TagSuffix;
      s.index = idx;
    } else if (inner.starts_with("record[")) {
      auto path = parseRecordRef(inner);
      if (!path) return path.takeStatus();
      s.kind = Segment::Kind::Field;
      s.path = std::move(*path);
    } else if (!inner.empty() && inner.find_first_of("()[]. +-*/\"'") == std::string_view::npos) {
      s.kind = Segment::Kind::Field;
      s.path = FieldPath::key(inner);
    } else {
      return unsupportedPlaceholder(inner);
    }
    out.push_back(std::move(s));
    i = close + 1;
  }
  if (!literal.empty()) out.push_back(Segment{Segment::Kind::Literal, literal});
  return out;
}

Result<std::unique_ptr<RecordTransformerFilter>> RecordTransformerFilter::create(
    const TransformerConfig& config, PluginContext& ctx) {
  if (config.enable_ruby) {
    ctx.log().warn("enable_ruby: sluice runs no Ruby; placeholders are evaluated without it.");
  }
  std::vector<Field> fields;
  for (const config::Element* rec : ctx.element().children("record")) {
    for (const config::Param& p : rec->params) {
      p.used = true;
      auto segments = compileTemplate(p.value);
      if (!segments) return segments.status().withPrefix(p.where.str() + ": ");
      fields.push_back(Field{p.key, std::move(*segments)});
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

Value RecordTransformerFilter::expand(const Field& field, const Event& event, const Value& source,
                                      std::span<const std::string_view> parts, std::string& scratch,
                                      Arena& arena) const {
  const auto& segs = field.segments;
  if (segs.size() == 1 && segs[0].kind == Segment::Kind::Field && config_.auto_typecast) {
    const Value* v = segs[0].path.find(source);
    return v ? *v : Value();
  }
  if (segs.size() == 1 && segs[0].kind == Segment::Kind::Literal) return Value::string(segs[0].text);
  scratch.clear();
  const int n = static_cast<int>(parts.size());
  auto join = [&](int from, int to) {  // parts[from, to)
    for (int k = from; k < to; ++k) {
      if (k > from) scratch += '.';
      scratch += parts[k];
    }
  };
  for (const Segment& s : segs) {
    switch (s.kind) {
      case Segment::Kind::Literal: scratch += s.text; break;
      case Segment::Kind::Tag: scratch += event.tag; break;
      case Segment::Kind::Hostname: scratch += hostname_; break;
      case Segment::Kind::Time: formatTime(scratch, event.time_ns, "%Y-%m-%d %H:%M:%S %z", false); break;
      case Segment::Kind::TagPart: {
        int k = s.index < 0 ? n + s.index : s.index;
        if (k >= 0 && k < n) scratch += parts[k];
        break;
      }
      case Segment::Kind::TagPrefix: {
        int k = s.index < 0 ? n + s.index : s.index;
        if (k >= 0 && k < n) join(0, k + 1);
        break;
      }
      case Segment::Kind::TagSuffix: {
        int k = s.index < 0 ? n + s.index : s.index;
        if (k >= 0 && k < n) join(k, n);
        break;
      }
      case Segment::Kind::Field: {
        const Value* v = s.path.find(source);
        if (v) {
          appendText(scratch, *v);
        } else {
          scratch += s.text;  // Fluentd leaves an unknown placeholder as written.
        }
        break;
      }
    }
  }
  return Value::string(arena.copy(scratch));
}

void RecordTransformerFilter::process(Batch& batch) {
  Arena& arena = batch.arena();
  std::string scratch;
  std::vector<std::string_view> parts;
  std::string_view parts_of;  // tag `parts` was split from
  for (Event& e : batch.events()) {
    if (e.tag.data() != parts_of.data() || e.tag.size() != parts_of.size()) {
      parts.clear();
      size_t start = 0;
      while (true) {
        size_t dot = e.tag.find('.', start);
        parts.push_back(e.tag.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
      }
      parts_of = e.tag;
    }
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
    for (const Field& f : fields_) out.setMember(f.key, expand(f, e, source, parts, scratch, arena), arena);
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
