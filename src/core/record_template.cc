// SPDX-License-Identifier: Apache-2.0
#include "core/record_template.h"

#include <charconv>

#include "core/json.h"
#include "core/record_text.h"
#include "core/time.h"

namespace sluice {

std::span<const std::string_view> TagParts::of(std::string_view tag) {
  if (tag.data() == of_.data() && tag.size() == of_.size() && !parts_.empty()) return parts_;
  parts_.clear();
  size_t start = 0;
  while (true) {
    size_t dot = tag.find('.', start);
    parts_.push_back(tag.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  of_ = tag;
  return parts_;
}

namespace {

using Dialect = TemplateDialect;

Status unsupported(std::string_view inner, Dialect dialect) {
  if (dialect == Dialect::RecordTransformer) {
    return Status::invalidConfig("unsupported placeholder ${" + std::string(inner) +
                                 "}: sluice runs no Ruby (supported: ${tag}, ${tag_parts[N]}, "
                                 "${tag_prefix[N]}, ${tag_suffix[N]}, ${hostname}, ${time}, "
                                 "${field}, ${record[\"a\"][\"b\"]})");
  }
  return Status::invalidConfig("unsupported placeholder ${" + std::string(inner) +
                               "}: this is Ruby code and sluice runs no Ruby (supported: ${tag}, "
                               "${tag_parts[N]}, ${time}, ${record[\"a\"][\"b\"]}, ${record.dig(\"a\", \"b\")})");
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A quoted Ruby string literal at the start of `rest` ("a" or 'a', no escapes): its text, and
// `rest` moved past it.
bool readQuoted(std::string_view& rest, std::string& out) {
  if (rest.size() < 2 || (rest[0] != '"' && rest[0] != '\'')) return false;
  size_t end = rest.find(rest[0], 1);
  if (end == std::string_view::npos) return false;
  out = std::string(rest.substr(1, end - 1));
  if (out.find('\\') != std::string::npos || (rest[0] == '"' && out.find("#{") != std::string::npos)) return false;
  rest = rest.substr(end + 1);
  return true;
}

// record["a"]["b"], record['a'][0] → $['a']['b'], $['a'][0].
Result<FieldPath> parseRecordRef(std::string_view inner, Dialect dialect) {
  std::string path = "$";
  std::string_view rest = inner.substr(6);
  while (!rest.empty()) {
    if (rest[0] != '[') return unsupported(inner, dialect);
    rest.remove_prefix(1);
    std::string key;
    if (readQuoted(rest, key)) {
      path += "['" + key + "']";
    } else if (dialect == Dialect::RecordModifier) {
      size_t close = rest.find(']');
      int64_t index = 0;
      std::string_view num = close == std::string_view::npos ? std::string_view() : rest.substr(0, close);
      auto r = std::from_chars(num.data(), num.data() + num.size(), index);
      if (num.empty() || r.ec != std::errc() || r.ptr != num.data() + num.size() || index < 0) {
        return unsupported(inner, dialect);
      }
      path += "[" + std::string(num) + "]";
      rest = rest.substr(close);
    } else {
      return unsupported(inner, dialect);
    }
    if (rest.empty() || rest[0] != ']') return unsupported(inner, dialect);
    rest.remove_prefix(1);
  }
  if (path == "$") return unsupported(inner, dialect);
  return FieldPath::parse(path);
}

// record.dig("a", "b") → $['a']['b'].
Result<FieldPath> parseDig(std::string_view inner) {
  std::string_view rest = trim(inner.substr(11));  // after `record.dig(`
  std::string path = "$";
  while (true) {
    std::string key;
    if (!readQuoted(rest, key)) return unsupported(inner, Dialect::RecordModifier);
    path += "['" + key + "']";
    rest = trim(rest);
    if (rest == ")") break;
    if (rest.empty() || rest[0] != ',') return unsupported(inner, Dialect::RecordModifier);
    rest = trim(rest.substr(1));
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

Status placeholder(std::string_view raw_inner, Dialect dialect, RecordTemplate::Segment& s) {
  using Kind = RecordTemplate::Kind;
  std::string_view inner = dialect == Dialect::RecordModifier ? trim(raw_inner) : raw_inner;
  int idx = 0;
  if (inner == "tag") {
    s.kind = Kind::Tag;
  } else if (inner == "time") {
    s.kind = Kind::Time;
  } else if (parseIndexed(inner, "tag_parts", idx)) {
    s.kind = Kind::TagPart;
    s.index = idx;
  } else if (inner.starts_with("record[")) {
    auto path = parseRecordRef(inner, dialect);
    if (!path) return path.takeStatus();
    s.kind = Kind::Field;
    s.path = std::move(*path);
  } else if (dialect == Dialect::RecordModifier) {
    if (inner == "hostname") {
      return Status::invalidConfig("${hostname} placeholder is removed in record_modifier. Use \"#{Socket.gethostname}\" instead.");
    }
    if (!inner.starts_with("record.dig(")) return unsupported(raw_inner, dialect);
    auto path = parseDig(inner);
    if (!path) return path.takeStatus();
    s.kind = Kind::Field;
    s.path = std::move(*path);
  } else if (inner == "hostname") {
    s.kind = Kind::Hostname;
  } else if (parseIndexed(inner, "tag_prefix", idx)) {
    s.kind = Kind::TagPrefix;
    s.index = idx;
  } else if (parseIndexed(inner, "tag_suffix", idx)) {
    s.kind = Kind::TagSuffix;
    s.index = idx;
  } else if (!inner.empty() && inner.find_first_of("()[]. +-*/\"'") == std::string_view::npos) {
    s.kind = Kind::Field;
    s.path = FieldPath::key(inner);
  } else {
    return unsupported(raw_inner, dialect);
  }
  return Status::ok();
}

// Ruby's to_s of a record value, as string interpolation writes it.
void appendRubyText(std::string& out, const Value& v) {
  if (v.isNull()) return;
  if (v.isString()) {
    out += v.asString();
  } else {
    appendRubyInspect(out, v);
  }
}

void appendText(std::string& out, const Value& v) {
  switch (v.kind()) {
    case Kind::Null: break;  // Ruby's nil.to_s
    case Kind::String: out += v.asString(); break;
    default: appendJson(out, v);
  }
}

int64_t floorSeconds(int64_t ns) { return ns / kNanosPerSecond - (ns % kNanosPerSecond < 0 ? 1 : 0); }

}  // namespace

Result<RecordTemplate> RecordTemplate::compile(std::string_view text, TemplateDialect dialect) {
  RecordTemplate t;
  t.text_ = std::string(text);
  t.dialect_ = dialect;
  if (dialect == Dialect::RecordModifier && text.find("__HOSTNAME__") != std::string_view::npos) {
    return Status::invalidConfig("__HOSTNAME__ placeholder is removed in record_modifier. Use \"#{Socket.gethostname}\" instead.");
  }
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
      if (dialect == Dialect::RecordModifier) {
        return Status::invalidConfig("unterminated placeholder in '" + std::string(text) + "' (Ruby would not compile it)");
      }
      literal += text.substr(i);
      break;
    }
    literal += text.substr(i, open - i);
    if (!literal.empty()) {
      t.segments_.push_back(Segment{Kind::Literal, literal});
      literal.clear();
    }
    Segment s{Kind::Literal, std::string(text.substr(open, close - open + 1))};
    Status st = placeholder(text.substr(open + 2, close - open - 2), dialect, s);
    if (!st) return st;
    t.segments_.push_back(std::move(s));
    i = close + 1;
  }
  if (!literal.empty()) t.segments_.push_back(Segment{Kind::Literal, literal});
  return t;
}

Value RecordTemplate::expand(const Input& in, bool keep_type, std::string& scratch, Arena& arena) const {
  const auto& segs = segments_;
  const int n = static_cast<int>(in.parts.size());
  auto part = [&](int index) -> const std::string_view* {
    int k = index < 0 ? n + index : index;
    return k >= 0 && k < n ? &in.parts[k] : nullptr;
  };
  const bool ruby = dialect_ == Dialect::RecordModifier;
  if (segs.empty()) return Value::string("");
  if (segs.size() == 1) {
    const Segment& s = segs[0];
    if (s.kind == Kind::Literal) return Value::string(s.text);
    if (s.kind == Kind::Field && (keep_type || ruby)) {
      const Value* v = s.path.find(in.source);
      return v ? *v : Value();
    }
    if (ruby) {  // a whole Ruby value keeps its type
      switch (s.kind) {
        case Kind::Tag: return Value::string(arena.copy(in.event.tag));
        case Kind::TagPart: {
          const std::string_view* p = part(s.index);
          return p ? Value::string(arena.copy(*p)) : Value();
        }
        case Kind::Time: return Value::integer(floorSeconds(in.event.time_ns));
        default: break;
      }
    }
  }
  scratch.clear();
  auto join = [&](int from, int to) {  // parts[from, to)
    for (int k = from; k < to; ++k) {
      if (k > from) scratch += '.';
      scratch += in.parts[k];
    }
  };
  for (const Segment& s : segs) {
    switch (s.kind) {
      case Kind::Literal: scratch += s.text; break;
      case Kind::Tag: scratch += in.event.tag; break;
      case Kind::Hostname: scratch += in.hostname; break;
      case Kind::Time:
        if (ruby) {
          scratch += std::to_string(floorSeconds(in.event.time_ns));
        } else {
          formatTime(scratch, in.event.time_ns, "%Y-%m-%d %H:%M:%S %z", false);
        }
        break;
      case Kind::TagPart:
        if (const std::string_view* p = part(s.index)) scratch += *p;
        break;
      case Kind::TagPrefix: {
        int k = s.index < 0 ? n + s.index : s.index;
        if (k >= 0 && k < n) join(0, k + 1);
        break;
      }
      case Kind::TagSuffix: {
        int k = s.index < 0 ? n + s.index : s.index;
        if (k >= 0 && k < n) join(k, n);
        break;
      }
      case Kind::Field: {
        const Value* v = s.path.find(in.source);
        if (ruby) {
          if (v) appendRubyText(scratch, *v);  // nil interpolates as ""
        } else if (v) {
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

}  // namespace sluice
