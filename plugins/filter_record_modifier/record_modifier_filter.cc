// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_record_modifier/record_modifier_filter.h"

#include <errno.h>
#include <iconv.h>

#include <algorithm>

namespace sluice::plugins::filter_record_modifier {
namespace {

using C = RecordModifierConfig;
const std::array<Param<C>, 4> kParams = {{
    {"prepare_value", &C::prepare_value, nullptr,
     "Ruby code run at start whose values <record> reads: not supported (sluice runs no Ruby); setting it is a config error."},
    {"char_encoding", &C::char_encoding, nullptr,
     "`enc`: the strings' encoding (bytes are kept as they are); `from:to`: convert every string value, invalid or "
     "unmappable characters replaced (U+FFFD for a Unicode target, `?` otherwise)."},
    {"remove_keys", &C::remove_keys, "", "Fields removed after <record> is applied (record_accessor syntax allowed). Exclusive with whitelist_keys."},
    {"whitelist_keys", &C::whitelist_keys, "",
     "Keep only these top-level fields (after <record> is applied). Exclusive with remove_keys.", {}, 0, "allowlist_keys"},
}};

using RC = ReplaceConfig;
const std::array<Param<RC>, 3> kReplaceParams = {{
    {"key", &RC::key, nullptr, "The field whose string value is rewritten.", {}, kRequired},
    {"expression", &RC::expression, nullptr, "The regexp (`/re/`), Ruby dialect.", {}, kRequired | kRegexp},
    {"replace", &RC::replace, nullptr, "The replacement: text with \\1…\\9, \\k<name>, \\0.", {}, kRequired},
}};

// Parameters that are not <record> fields at the top level (Fluentd's BUILTIN_CONFIGURATIONS).
bool builtin(std::string_view key) {
  if (key.starts_with("@") || key == "type" || key == "id" || key == "log_level") return true;
  for (const auto& p : kParams) {
    if (p.name == key || (!p.alias.empty() && p.alias == key)) return true;
  }
  return false;
}

std::string lower(std::string_view s) {
  std::string e(s);
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  return e;
}
bool unicode(std::string_view encoding) { return lower(encoding).starts_with("utf") || lower(encoding).starts_with("ucs"); }
bool utf8(std::string_view encoding) { return lower(encoding) == "utf-8" || lower(encoding) == "utf8"; }

Status checkEncoding(const std::string& name) {
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return Status::invalidConfig("char_encoding: unknown encoding '" + name + "'");
  }
  iconv_close(cd);
  return Status::ok();
}

// Converts `in` with `cd`, replacing what cannot be converted: an invalid byte, or a whole
// character the target lacks (a UTF-8 source's character is skipped whole). False on an
// unexpected error.
bool convert(iconv_t cd, std::string_view in, bool from_utf8, std::string_view replacement, std::string& out) {
  out.clear();
  iconv(cd, nullptr, nullptr, nullptr, nullptr);
  char* src = const_cast<char*>(in.data());
  size_t left = in.size();
  char buf[1024];
  while (left > 0) {
    char* dst = buf;
    size_t room = sizeof buf;
    size_t r = iconv(cd, &src, &left, &dst, &room);
    out.append(buf, static_cast<size_t>(dst - buf));
    if (r != static_cast<size_t>(-1)) continue;
    if (errno == E2BIG) continue;
    if (errno == EILSEQ || errno == EINVAL) {  // invalid input, or no mapping in the target
      out += replacement;
      size_t skip = 1;
      if (from_utf8) {
        std::string_view rest(src, left);
        size_t n = utf8CharLength(rest, 0);
        skip = n == 0 ? 1 : n;
      }
      src += skip;
      left -= skip;
      continue;
    }
    return false;
  }
  char* dst = buf;
  size_t room = sizeof buf;
  iconv(cd, nullptr, nullptr, &dst, &room);
  out.append(buf, static_cast<size_t>(dst - buf));
  return true;
}

struct Conversion {
  iconv_t cd;
  bool from_utf8;
  std::string_view replacement;
};

// Converts every string of `v`. Nested arrays and objects are copied into `arena` first: the
// record's top level is already this filter's copy, the values below it may be shared.
void convertAll(Value& v, const Conversion& c, std::string& scratch, Arena& arena) {
  if (v.isString() && !v.isNumberText()) {
    if (convert(c.cd, v.asString(), c.from_utf8, c.replacement, scratch)) v = Value::string(arena.copy(scratch));
  } else if (v.isArray()) {
    v = v.shallowCopy(arena);
    for (Value& item : v.items()) convertAll(item, c, scratch, arena);
  } else if (v.isObject()) {
    v = v.shallowCopy(arena);
    for (Member& m : v.members()) convertAll(m.value, c, scratch, arena);
  }
}

}  // namespace

Result<std::string> rubyReplacement(std::string_view text, const RE2& re) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '\\' || i + 1 == text.size()) {
      out += c;
      continue;
    }
    char n = text[++i];
    if (n >= '0' && n <= '9') {
      if (n - '0' > re.NumberOfCapturingGroups()) {
        return Status::invalidConfig("replace: \\" + std::string(1, n) + " names no group of the expression");
      }
      out += '\\';
      out += n;
    } else if (n == '&') {
      out += "\\0";
    } else if (n == '\\') {
      out += "\\\\";
    } else if (n == 'k' && i + 1 < text.size() && text[i + 1] == '<') {
      size_t close = text.find('>', i + 2);
      if (close == std::string_view::npos) return Status::invalidConfig("replace: unterminated \\k<name>");
      std::string name(text.substr(i + 2, close - i - 2));
      auto it = re.NamedCapturingGroups().find(name);
      if (it == re.NamedCapturingGroups().end()) {
        return Status::invalidConfig("replace: \\k<" + name + "> names no group of the expression");
      }
      if (it->second > 9) return Status::invalidConfig("replace: \\k<" + name + "> is group " + std::to_string(it->second) + " (at most 9)");
      out += '\\';
      out += std::to_string(it->second);
      i = close;
    } else {
      out += "\\\\";  // Ruby keeps an unknown escape as written
      out += n;
    }
  }
  return out;
}

Result<std::unique_ptr<RecordModifierFilter>> RecordModifierFilter::create(const RecordModifierConfig& config,
                                                                           PluginContext& ctx) {
  const config::Element& element = ctx.element();
  if (config.prepare_value) {
    return Status::invalidConfig(
        "prepare_value is Ruby code run at start (its values are read by Ruby in <record>); sluice runs no Ruby: "
        "set the values in <record> directly, or with \"#{ENV['NAME']}\" in the config");
  }
  if (element.find("include_tag_key") != nullptr || element.find("tag_key") != nullptr) {
    return Status::invalidConfig("include_tag_key and tag_key parameters are removed. Use 'tag ${tag}' in <record> section");
  }
  if (!config.remove_keys.empty() && !config.whitelist_keys.empty()) {
    return Status::invalidConfig("remove_keys and whitelist_keys are exclusive with each other.");
  }
  std::unique_ptr<RecordModifierFilter> f(new RecordModifierFilter());
  auto addField = [&](const config::Param& p) -> Status {
    p.used = true;
    auto value = RecordTemplate::compile(p.value, TemplateDialect::RecordModifier);
    if (!value) return value.status().withPrefix(p.where.str() + ": " + p.key + ": ");
    f->fields_.push_back(Field{p.key, std::move(*value)});
    return Status::ok();
  };
  // Fields at the top level: the plugin's older form, still read (with Fluentd's warning).
  for (const config::Param& p : element.params) {
    if (builtin(p.key)) continue;
    ctx.log().warn(p.where.str() + ": top level definition is deprecated. Please put parameters inside <record>: '" +
                   p.key + " " + p.value + "'");
    Status s = addField(p);
    if (!s) return s;
  }
  for (const config::Element* rec : element.children("record")) {
    for (const config::Param& p : rec->params) {
      Status s = addField(p);
      if (!s) return s;
    }
  }
  for (const std::string& k : config.remove_keys) {
    auto path = FieldPath::parse(k);
    if (!path) return path.takeStatus().withPrefix("remove_keys: ");
    f->remove_.push_back(std::move(*path));
  }
  f->keep_ = config.whitelist_keys;
  for (const config::Element* section : element.children("replace")) {
    ReplaceConfig rc;
    Status s = ctx.bind(std::span<const Param<ReplaceConfig>>(kReplaceParams), *section, rc);
    if (!s) return s.withPrefix(section->where.str() + ": <replace>: ");
    auto re = compileRubyRegex(rc.expression);
    if (!re) return re.takeStatus().withPrefix(section->where.str() + ": <replace> expression: ");
    auto rewrite = rubyReplacement(rc.replace, **re);
    if (!rewrite) return rewrite.takeStatus().withPrefix(section->where.str() + ": <replace>: ");
    f->replaces_.push_back(Replace{rc.key, std::move(*re), std::move(*rewrite)});
  }
  if (config.char_encoding) {
    const std::string& ce = *config.char_encoding;
    size_t colon = ce.find(':');
    std::string from = ce.substr(0, colon);
    Status s = checkEncoding(from);
    if (!s) return s;
    if (colon != std::string::npos) {
      std::string to = ce.substr(colon + 1);
      s = checkEncoding(to);
      if (!s) return s;
      iconv_t cd = iconv_open(to.c_str(), from.c_str());
      if (cd == reinterpret_cast<iconv_t>(-1)) {
        return Status::invalidConfig("char_encoding: no conversion from " + from + " to " + to);
      }
      iconv_close(cd);
      f->from_encoding_ = from;
      f->to_encoding_ = to;
    }
  }
  return f;
}

void RecordModifierFilter::process(Batch& batch) {
  Arena& arena = batch.arena();
  std::string scratch;
  TagParts parts;
  iconv_t cd = reinterpret_cast<iconv_t>(-1);
  if (!from_encoding_.empty()) cd = iconv_open(to_encoding_.c_str(), from_encoding_.c_str());
  const Conversion conversion{cd, utf8(from_encoding_), unicode(to_encoding_) ? "\xEF\xBF\xBD" : "?"};
  std::string converted;
  for (Event& e : batch.events()) {
    // Fluentd changes the record in place; a top-level copy keeps a record shared with other
    // stores as it was.
    Value record = e.record.isObject() ? e.record.shallowCopy(arena) : Value::emptyObject();
    if (!fields_.empty()) {
      const RecordTemplate::Input in{e, record, parts.of(e.tag), {}};
      for (const Field& f : fields_) {
        // Each template reads the record as the fields before it left it (record[k] = ...).
        Value v = f.value.expand(in, true, scratch, arena);
        record.setMember(f.key, v, arena);
      }
    }
    for (const FieldPath& p : remove_) p.remove(record);
    if (!keep_.empty()) {
      auto members = record.members();
      Member* kept = arena.allocArray<Member>(members.size());
      uint32_t n = 0;
      for (const Member& m : members) {
        if (std::find(keep_.begin(), keep_.end(), m.key) != keep_.end()) kept[n++] = m;
      }
      record = Value::object(kept, n);
    }
    for (const Replace& r : replaces_) {
      Value* v = record.find(r.key);
      if (v == nullptr || !v->isString()) continue;
      scratch.assign(v->asString());
      if (RE2::GlobalReplace(&scratch, *r.expression, r.rewrite) > 0) *v = Value::string(arena.copy(scratch));
    }
    if (cd != reinterpret_cast<iconv_t>(-1)) {
      for (Member& m : record.members()) convertAll(m.value, conversion, converted, arena);
    }
    e.record = record;
  }
  if (cd != reinterpret_cast<iconv_t>(-1)) iconv_close(cd);
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<RecordModifierFilter>(
      PluginKind::Filter, "record_modifier",
      "Sets record fields from templates, removes or keeps fields, rewrites values (fluent-plugin-record-modifier).",
      kParams,
      {{"record", "field_name template: one line per field, set in order (${tag}, ${tag_parts[N]}, ${time}, ${record[\"a\"]}).", {}},
       {"replace", "A regexp substitution in one field's string value (repeatable).",
        describeParams(std::span<const Param<ReplaceConfig>>(kReplaceParams))}});
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_record_modifier
