// SPDX-License-Identifier: Apache-2.0
#include "core/json.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>

namespace sluice {
namespace {

Value convert(simdjson::dom::element el, Arena& arena) {
  using simdjson::dom::element_type;
  switch (el.type()) {
    case element_type::OBJECT: {
      simdjson::dom::object obj = el.get_object().value_unsafe();
      size_t n = obj.size();  // O(1) below 0xFFFFFF fields; counts beyond that.
      uint32_t cap = n <= 4 ? 4 : std::bit_ceil(static_cast<uint32_t>(n));
      Member* members = arena.allocArray<Member>(cap);
      uint32_t i = 0;
      for (auto field : obj) {
        if (i == cap) break;  // Only reachable past 16M fields.
        members[i++] = Member{arena.copy(field.key), convert(field.value, arena)};
      }
      return Value::object(members, i, true);
    }
    case element_type::ARRAY: {
      simdjson::dom::array arr = el.get_array().value_unsafe();
      size_t n = arr.size();
      uint32_t cap = n <= 4 ? 4 : std::bit_ceil(static_cast<uint32_t>(n));
      Value* items = arena.allocArray<Value>(cap);
      uint32_t i = 0;
      for (auto item : arr) {
        if (i == cap) break;
        items[i++] = convert(item, arena);
      }
      return Value::array(items, i, true);
    }
    case element_type::STRING:
      return Value::string(arena.copy(el.get_string().value_unsafe()));
    case element_type::INT64:
      return Value::integer(el.get_int64().value_unsafe());
    case element_type::UINT64: {
      uint64_t u = el.get_uint64().value_unsafe();
      return Value::real(static_cast<double>(u));
    }
    case element_type::DOUBLE:
      return Value::real(el.get_double().value_unsafe());
    case element_type::BOOL:
      return Value::boolean(el.get_bool().value_unsafe());
    case element_type::NULL_VALUE:
      return Value();
  }
  return Value();
}

// Which ASCII bytes need escaping in a JSON string.
constexpr bool needsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

void appendEscapedAscii(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    default: {
      char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
      out.append(buf, 6);
    }
  }
}

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = s.size();
  auto cont = [&](size_t k) { return k < n && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;
    return 4;
  }
  return 0;
}

void appendDouble(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  std::string_view text(buf, res.ptr - buf);
  out += text;
  // Keep a float a float on the way back in (Ruby's JSON writes 1.0, not 1).
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

}  // namespace

Result<Value> parseJson(std::string_view text, Arena& arena, bool padded) {
  // simdjson would memcpy from a null pointer for an empty view.
  if (text.empty()) return Status::rejected("empty input: no JSON document");
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  auto error = parser.parse(text.data(), text.size(), !padded).get(root);
  if (error) {
    return Status::rejected(simdjson::error_message(error));
  }
  return convert(root, arena);
}

bool isValidUtf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

namespace {

// True when any of the 8 bytes of `w` needs attention: a control character, '"', '\\' or a
// byte >= 0x80 (SWAR: the classic has-zero-byte and has-less-than tricks).
inline bool wordNeedsWork(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto hasZero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  uint64_t lt_space = (w - kOnes * 0x20) & ~w & kHigh;
  return ((w & kHigh) | lt_space | hasZero(w ^ (kOnes * '"')) | hasZero(w ^ (kOnes * '\\'))) != 0;
}

}  // namespace

void appendJsonString(std::string& out, std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  // Fast path: most keys and values need no escaping. Check 8 bytes at a time, the last
  // partial word padded with spaces, then copy the string in one append.
  size_t i = 0;
  while (i + 8 <= n) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (wordNeedsWork(w)) break;
    i += 8;
  }
  if (i + 8 > n) {
    // The last 0..7 bytes, assembled in a register (fixed-size loads; a variable memcpy is a
    // libc call and partial stores then a wide load stall store forwarding), space-padded.
    const size_t r = n - i;
    const char* q = p + i;
    uint64_t w = 0;
    unsigned shift = 0;
    if (r & 4) {
      uint32_t v;
      std::memcpy(&v, q, 4);
      w |= uint64_t{v} << shift;
      shift += 32;
      q += 4;
    }
    if (r & 2) {
      uint16_t v;
      std::memcpy(&v, q, 2);
      w |= uint64_t{v} << shift;
      shift += 16;
      q += 2;
    }
    if (r & 1) {
      w |= uint64_t{static_cast<unsigned char>(*q)} << shift;
      shift += 8;
    }
    w |= 0x2020202020202020ULL << shift;  // shift <= 56
    if (!wordNeedsWork(w)) {
      out.push_back('"');
      out.append(p, n);
      out.push_back('"');
      return;
    }
  }
  out += '"';
  size_t start = 0;
  while (i < n) {
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (wordNeedsWork(w)) break;
      i += 8;
    }
    if (i >= n) break;
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c < 0x80) {
      if (needsEscape(c)) {
        out.append(p + start, i - start);
        appendEscapedAscii(out, c);
        start = ++i;
      } else {
        ++i;
      }
      continue;
    }
    size_t len = utf8SequenceLength(s, i);
    if (len == 0) {
      out.append(p + start, i - start);
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      start = ++i;
    } else {
      i += len;
    }
  }
  out.append(p + start, n - start);
  out += '"';
}

void appendJson(std::string& out, const Value& value) {
  switch (value.kind()) {
    case Kind::Null: out += "null"; return;
    case Kind::Bool: out += value.asBool() ? "true" : "false"; return;
    case Kind::Int: {
      char buf[24];
      auto res = std::to_chars(buf, buf + sizeof(buf), value.asInt());
      out.append(buf, res.ptr - buf);
      return;
    }
    case Kind::Double: appendDouble(out, value.asDouble()); return;
    case Kind::String: appendJsonString(out, value.asString()); return;
    case Kind::Array: {
      out += '[';
      bool first = true;
      for (const Value& item : value.items()) {
        if (!first) out += ',';
        first = false;
        appendJson(out, item);
      }
      out += ']';
      return;
    }
    case Kind::Object: {
      if (const JsonTemplate* t = value.unchangedTemplate()) {  // serialised once, copied as is
        out += t->json;
        return;
      }
      out += '{';
      appendJsonMembers(out, value, [](std::string_view) { return false; });
      out += '}';
      return;
    }
  }
}

std::string toJson(const Value& value) {
  std::string out;
  appendJson(out, value);
  return out;
}

}  // namespace sluice
