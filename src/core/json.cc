// SPDX-License-Identifier: Apache-2.0
// JSON in and out of arena Values (see core/json.h); any thread, one simdjson parser per thread.
// Why one file of ~680 lines: the fast path (simdjson DOM into Values), the tolerant reader that
// must accept exactly the documents the fast path refuses (invalid UTF-8, lone surrogates, -0,
// numbers beyond 64 bits), and the encoder share the UTF-8 and duplicate-key helpers, and the
// tolerant reader is only ever called from the fast path's failure.
#include "core/json.h"
#include "core/json_borrow.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

namespace sluice {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
size_t utf8SequenceLength(std::string_view s, size_t i);

// Removes duplicate keys from members[0..n): the last value wins, at the position of the
// first. Returns the new count. Small objects use a bit filter and compare only suspects;
// large ones use a hash table in the arena.
uint32_t dedupeMembers(Member* members, uint32_t n, Arena& arena, JsonRepairs* repairs) {
  if (n < 2) return n;
  uint32_t out = n;
  auto drop = [&](uint32_t keep, uint32_t later) {
    members[keep].value = members[later].value;
    members[later].key = std::string_view(nullptr, 0);
    members[later].value = Value();
    --out;
  };
  // A dropped member is marked by a null key pointer (real keys point into the arena, even
  // when empty).
  if (n <= 32) {
    // A 64-bit filter of (length, first and last byte): only a key whose bit is already set
    // is compared with the ones before it (measured: a pairwise compare of an 11-key record
    // cost 45 ns per line, a fifth of the parse).
    uint64_t seen = 0;
    for (uint32_t j = 0; j < n; ++j) {
      std::string_view k = members[j].key;
      unsigned h = static_cast<unsigned>(k.size() * 7) +
                   (k.empty() ? 0u : static_cast<unsigned char>(k.front()) * 3u + static_cast<unsigned char>(k.back()));
      uint64_t bit = uint64_t{1} << (h & 63);
      if (seen & bit) {
        for (uint32_t i = 0; i < j; ++i) {
          if (members[i].key.data() != nullptr && members[i].key == k) {
            drop(i, j);
            break;
          }
        }
      }
      seen |= bit;
    }
  } else {
    uint32_t cap = std::bit_ceil(n * 2);
    uint32_t* table = arena.allocArray<uint32_t>(cap);
    std::fill(table, table + cap, UINT32_MAX);
    std::hash<std::string_view> hash;
    for (uint32_t j = 0; j < n; ++j) {
      size_t h = hash(members[j].key) & (cap - 1);
      while (table[h] != UINT32_MAX && members[table[h]].key != members[j].key) h = (h + 1) & (cap - 1);
      if (table[h] == UINT32_MAX) {
        table[h] = j;
      } else {
        drop(table[h], j);
      }
    }
  }
  if (out == n) return n;
  if (repairs) repairs->duplicate_keys += n - out;
  uint32_t w = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (members[i].key.data() != nullptr) members[w++] = members[i];
  }
  return w;
}

// Whether p[0..n) holds a '\\', 8 bytes at a time without a loop over the last ones: a
// word ending at p + n covers them, or, for a string shorter than a word, one word from p
// when `end` leaves room, masked to n bytes (most strings are short: memchr's call and a
// byte loop cost more than the copy this check saves).
inline bool hasBackslash(const char* p, size_t n, const char* end) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto has = [&](uint64_t w) {
    w ^= kOnes * '\\';
    return ((w - kOnes) & ~w & kHigh) != 0;
  };
  if (n >= 8) {
    uint64_t w;
    for (size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&w, p + i, 8);
      if (has(w)) return true;
    }
    std::memcpy(&w, p + n - 8, 8);
    return has(w);
  }
  if (n == 0) return false;
  if (static_cast<size_t>(end - p) >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    // Bytes past n become ones that are not '\\' (0x01 ^ 0x5C has no zero byte).
    const uint64_t keep = ~uint64_t{0} >> (64 - 8 * n);
    return has((w & keep) | (kOnes & ~keep));
  }
  for (size_t i = 0; i < n; ++i) {
    if (p[i] == '\\') return true;
  }
  return false;
}

struct Converter {
  Arena& arena;
  JsonRepairs* repairs;
  bool saw_zero = false;  // an integer 0: it may have been written -0, which simdjson folds
  // Borrowing (parseJsonBorrowing): where the next string (key or value) of the input is looked
  // for, in document order, which is the order convert() visits them; nullptr: copy every string.
  const char* cursor = nullptr;
  const char* end = nullptr;

  // `s` (simdjson's unescaped copy) as a view of the input when the input holds it without any
  // escape, else copied into the arena. Between two strings the input holds only structure,
  // whitespace, numbers and literals, none with a '"': the next '"' opens the string. When no
  // backslash comes before input[len] and that byte is the closing '"', the input's bytes are
  // the string's (no escape, and simdjson validated the UTF-8).
  std::string_view str(std::string_view s) {
    if (cursor != nullptr) {
      const char* q = cursor;
      while (q < end && *q != '"') ++q;
      const char* body = q + 1;
      const size_t len = s.size();
      if (q < end && len < static_cast<size_t>(end - body) && body[len] == '"' && !hasBackslash(body, len, end)) {
        cursor = body + len + 1;
        return {body, len};
      }
      // Escaped (or not found, which a valid document cannot give): skip the raw string.
      const char* p = body;
      while (p < end && *p != '"') p += *p == '\\' ? 2 : 1;
      cursor = p < end ? p + 1 : nullptr;
    }
    return arena.copy(s);
  }
  std::string_view key(std::string_view k) {
    std::string_view out = str(k);
    // dedupeMembers marks dropped members with a null data pointer: an empty key needs a real one.
    return out.data() != nullptr ? out : std::string_view("", 0);
  }

  Value convert(simdjson::dom::element el) {
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
          std::string_view k = key(field.key);
          members[i++] = Member{k, convert(field.value)};
        }
        return Value::object(members, dedupeMembers(members, i, arena, repairs), true);
      }
      case element_type::ARRAY: {
        simdjson::dom::array arr = el.get_array().value_unsafe();
        size_t n = arr.size();
        uint32_t cap = n <= 4 ? 4 : std::bit_ceil(static_cast<uint32_t>(n));
        Value* items = arena.allocArray<Value>(cap);
        uint32_t i = 0;
        for (auto item : arr) {
          if (i == cap) break;
          items[i++] = convert(item);
        }
        return Value::array(items, i, true);
      }
      case element_type::STRING:
        return Value::string(str(el.get_string().value_unsafe()));
      case element_type::INT64: {
        int64_t v = el.get_int64().value_unsafe();
        saw_zero |= v == 0;
        return Value::integer(v);
      }
      case element_type::UINT64: {
        // Beyond int64: an integer literal's canonical text is the number itself.
        char buf[24];
        auto res = std::to_chars(buf, buf + sizeof(buf), el.get_uint64().value_unsafe());
        if (repairs) ++repairs->number_text;
        return Value::numberText(arena.copy(std::string_view(buf, res.ptr - buf)));
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
};

// Whether `text` holds the number -0 (not -0.5, -0e1 or -01…): an integer zero with a sign,
// which simdjson reads as plain 0. Strings may hold "-0" too; then the tolerant reader runs
// for nothing, which only costs time.
bool mayHoldNegativeZero(std::string_view text) {
  for (size_t p = text.find("-0"); p != std::string_view::npos; p = text.find("-0", p + 2)) {
    char after = p + 2 < text.size() ? text[p + 2] : ' ';
    if (!(after >= '0' && after <= '9') && after != '.' && after != 'e' && after != 'E') return true;
  }
  return false;
}

// The tolerant reader: strict JSON structure, but invalid UTF-8, lone surrogates, numbers no
// 64-bit type holds and duplicate keys are repaired (see parseJson). Recursive to
// kMaxJsonDepth. Only runs for documents simdjson refused, so it favours clarity over speed.
class TolerantReader {
 public:
  TolerantReader(std::string_view text, Arena& arena, JsonRepairs& repairs)
      : s_(text), arena_(arena), repairs_(repairs) {}

  Result<Value> document() {
    Value v;
    if (!value(v, 0)) return Status::rejected(error_);
    space();
    if (p_ != s_.size()) return Status::rejected(at("unexpected text after the JSON document"));
    return v;
  }

 private:
  std::string at(std::string_view what) const {
    return std::string(what) + " at byte " + std::to_string(p_);
  }
  bool fail(std::string_view what) {
    error_ = at(what);
    return false;
  }
  void space() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) ++p_;
  }
  bool literal(std::string_view word) {
    if (s_.substr(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  bool value(Value& out, size_t depth) {
    space();
    if (p_ >= s_.size()) return fail("unexpected end of input");
    char c = s_[p_];
    if (c == '{' || c == '[') {
      if (depth >= kMaxJsonDepth) {
        return fail("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      }
      return c == '{' ? object(out, depth + 1) : array(out, depth + 1);
    }
    if (c == '"') {
      std::string_view str;
      if (!string(str)) return false;
      out = Value::string(str);
      return true;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number(out);
    if (literal("true")) {
      out = Value::boolean(true);
      return true;
    }
    if (literal("false")) {
      out = Value::boolean(false);
      return true;
    }
    if (literal("null")) {
      out = Value();
      return true;
    }
    return fail("unexpected character");
  }

  bool object(Value& out, size_t depth) {
    ++p_;  // '{'
    std::vector<Member> members;
    space();
    if (p_ < s_.size() && s_[p_] == '}') {
      ++p_;
    } else {
      while (true) {
        space();
        if (p_ >= s_.size() || s_[p_] != '"') return fail("expected a string key");
        Member m;
        if (!string(m.key)) return false;
        if (m.key.data() == nullptr) m.key = std::string_view("", 0);
        space();
        if (p_ >= s_.size() || s_[p_] != ':') return fail("expected ':'");
        ++p_;
        if (!value(m.value, depth)) return false;
        members.push_back(m);
        space();
        if (p_ < s_.size() && s_[p_] == ',') {
          ++p_;
          continue;
        }
        if (p_ < s_.size() && s_[p_] == '}') {
          ++p_;
          break;
        }
        return fail("expected ',' or '}'");
      }
    }
    uint32_t n = static_cast<uint32_t>(members.size());
    Member* stored = arena_.allocArray<Member>(n <= 4 ? 4 : std::bit_ceil(n));
    std::copy(members.begin(), members.end(), stored);
    out = Value::object(stored, dedupeMembers(stored, n, arena_, &repairs_), true);
    return true;
  }

  bool array(Value& out, size_t depth) {
    ++p_;  // '['
    std::vector<Value> items;
    space();
    if (p_ < s_.size() && s_[p_] == ']') {
      ++p_;
    } else {
      while (true) {
        Value v;
        if (!value(v, depth)) return false;
        items.push_back(v);
        space();
        if (p_ < s_.size() && s_[p_] == ',') {
          ++p_;
          continue;
        }
        if (p_ < s_.size() && s_[p_] == ']') {
          ++p_;
          break;
        }
        return fail("expected ',' or ']'");
      }
    }
    uint32_t n = static_cast<uint32_t>(items.size());
    Value* stored = arena_.allocArray<Value>(n <= 4 ? 4 : std::bit_ceil(n));
    std::copy(items.begin(), items.end(), stored);
    out = Value::array(stored, n, true);
    return true;
  }

  static int hexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  // Reads the 4 hex digits after "\u" at p_ (which points at 'u').
  bool hex4(uint32_t& out) {
    if (p_ + 5 > s_.size()) return fail("truncated \\u escape");
    out = 0;
    for (size_t k = 1; k <= 4; ++k) {
      int d = hexDigit(s_[p_ + k]);
      if (d < 0) return fail("invalid \\u escape");
      out = out * 16 + static_cast<uint32_t>(d);
    }
    p_ += 5;
    return true;
  }
  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool string(std::string_view& out) {
    ++p_;  // '"'
    buf_.clear();
    while (true) {
      if (p_ >= s_.size()) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(s_[p_]);
      if (c == '"') {
        ++p_;
        break;
      }
      if (c < 0x20) return fail("control character in a string");
      if (c >= 0x80) {
        size_t len = utf8SequenceLength(s_, p_);
        if (len == 0) {
          buf_ += "\xEF\xBF\xBD";
          ++repairs_.invalid_utf8;
          ++p_;
        } else {
          buf_.append(s_.substr(p_, len));
          p_ += len;
        }
        continue;
      }
      if (c != '\\') {
        buf_ += static_cast<char>(c);
        ++p_;
        continue;
      }
      if (++p_ >= s_.size()) return fail("unterminated string");
      char e = s_[p_];
      switch (e) {
        case '"': buf_ += '"'; break;
        case '\\': buf_ += '\\'; break;
        case '/': buf_ += '/'; break;
        case 'b': buf_ += '\b'; break;
        case 'f': buf_ += '\f'; break;
        case 'n': buf_ += '\n'; break;
        case 'r': buf_ += '\r'; break;
        case 't': buf_ += '\t'; break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF && s_.substr(p_, 2) == "\\u") {
            size_t save = p_;
            ++p_;
            uint32_t low;
            if (!hex4(low)) return false;
            if (low >= 0xDC00 && low <= 0xDFFF) {
              appendUtf8(buf_, 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00));
              continue;
            }
            p_ = save;  // not a pair: the second escape is read on its own
          }
          if (cp >= 0xD800 && cp <= 0xDFFF) {
            buf_ += "\xEF\xBF\xBD";
            ++repairs_.lone_surrogates;
          } else {
            appendUtf8(buf_, cp);
          }
          continue;
        }
        default: return fail("invalid escape in a string");
      }
      ++p_;
    }
    out = arena_.copy(buf_);
    return true;
  }

  bool number(Value& out) {
    size_t start = p_;
    auto digits = [&] {
      size_t d = p_;
      while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') ++p_;
      return p_ - d;
    };
    if (s_[p_] == '-') ++p_;
    if (p_ < s_.size() && s_[p_] == '0') {
      ++p_;
    } else if (digits() == 0) {
      return fail("invalid number");
    }
    bool integer = true;
    if (p_ < s_.size() && s_[p_] == '.') {
      ++p_;
      integer = false;
      if (digits() == 0) return fail("invalid number");
    }
    if (p_ < s_.size() && (s_[p_] == 'e' || s_[p_] == 'E')) {
      ++p_;
      integer = false;
      if (p_ < s_.size() && (s_[p_] == '+' || s_[p_] == '-')) ++p_;
      if (digits() == 0) return fail("invalid number");
    }
    std::string_view text = s_.substr(start, p_ - start);
    if (integer) {
      int64_t i;
      auto res = std::from_chars(text.data(), text.data() + text.size(), i);
      if (res.ec == std::errc() && text != "-0") {
        out = Value::integer(i);
        return true;
      }
    } else {
      std::string copy(text);  // strtod wants a terminated string; correctly rounded in glibc
      double d = std::strtod(copy.c_str(), nullptr);
      if (std::isfinite(d)) {  // underflow gives 0 (or a denormal), as simdjson does
        out = Value::real(d);
        return true;
      }
    }
    ++repairs_.number_text;
    out = Value::numberText(arena_.copy(text));
    return true;
  }

  std::string_view s_;
  size_t p_ = 0;
  Arena& arena_;
  JsonRepairs& repairs_;
  std::string buf_;
  std::string error_;
};

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

namespace {

Result<Value> parseWith(std::string_view text, Arena& arena, bool padded, JsonRepairs* repairs, bool borrow) {
  // simdjson would memcpy from a null pointer for an empty view.
  if (text.empty()) return Status::rejected("empty input: no JSON document");
  thread_local simdjson::dom::parser parser;  // depth limit: simdjson::DEFAULT_MAX_DEPTH
  simdjson::dom::element root;
  auto error = parser.parse(text.data(), text.size(), !padded).get(root);
  if (!error) {
    JsonRepairs found;
    Converter c{arena, &found};
    if (borrow) {
      c.cursor = text.data();
      c.end = text.data() + text.size();
    }
    Value v = c.convert(root);
    if (!c.saw_zero || !mayHoldNegativeZero(text)) {
      if (repairs) {
        repairs->number_text += found.number_text;
        repairs->duplicate_keys += found.duplicate_keys;
      }
      return v;
    }
  } else if (error == simdjson::DEPTH_ERROR) {
    return Status::rejected("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } else if (error == simdjson::CAPACITY || error == simdjson::MEMALLOC) {
    return Status::rejected(simdjson::error_message(error));
  }
  // Refused (or holding a -0): read again, repairing what a log line should not lose.
  JsonRepairs found;
  TolerantReader reader(text, arena, found);
  auto v = reader.document();
  if (!v) return v;
  if (repairs) *repairs += found;
  return v;
}

}  // namespace

Result<Value> parseJson(std::string_view text, Arena& arena, bool padded, JsonRepairs* repairs) {
  return parseWith(text, arena, padded, repairs, false);
}

Result<Value> parseJsonBorrowing(std::string_view text, Arena& arena, bool padded, JsonRepairs* repairs) {
  return parseWith(text, arena, padded, repairs, true);
}

bool isValidUtf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

size_t utf8CharLength(std::string_view s, size_t i) {
  return static_cast<unsigned char>(s[i]) < 0x80 ? 1 : utf8SequenceLength(s, i);
}

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

namespace {

// Whether JSON takes `s` as it is (no control character, '"', '\\' or byte >= 0x80). When not,
// `i` is left where the bytes that need a look may start (whole 8-byte words before it are plain).
// Branch-light: the end of the string is checked with loads that overlap what was checked
// before (lengths vary from string to string, and a branch per leftover byte mispredicts).
inline bool plainJsonText(std::string_view s, size_t& i) {
  const char* p = s.data();
  const size_t n = s.size();
  i = 0;
  uint64_t w;
  if (n >= 8) {
    for (; i + 8 <= n; i += 8) {
      std::memcpy(&w, p + i, 8);
      if (wordNeedsWork(w)) return false;
    }
    if (i == n) return true;
    std::memcpy(&w, p + n - 8, 8);  // the last 8 bytes, overlapping the word before
    return !wordNeedsWork(w);
  }
  if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    w = a | uint64_t{b} << 32;
  } else if (n > 0) {
    w = uint64_t{static_cast<unsigned char>(p[0])} | uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
        uint64_t{static_cast<unsigned char>(p[n - 1])} << 16 | 0x2020202020ULL << 24;
  } else {
    return true;
  }
  return !wordNeedsWork(w);
}

}  // namespace

namespace {

// memcpy for the short keys and values of records: up to 16 bytes with overlapping fixed-size
// moves (no call, no branch per byte), longer ones through memcpy.
inline void copyShort(char* dst, const char* src, size_t n) {
  if (n >= 8) {
    if (n > 16) {
      std::memcpy(dst, src, n);
      return;
    }
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n > 0) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  }
}

}  // namespace

void appendJsonMember(std::string& out, std::string_view key, const Value& value, bool comma,
                      FormattedEvents* events) {
  // `,"key":"value"` written in place after one resize: one size check instead of five
  // appends, for the plain keys and strings records are made of. (Not through a buffer on the
  // stack: copying its freshly written bytes stalls on store forwarding.)
  size_t at;
  if (!plainJsonText(key, at)) {
    if (comma) out += ',';
    appendJsonString(out, key);
    out += ':';
    appendJson(out, value, events);
    return;
  }
  std::string_view v;
  const bool plain_value = value.isString() && !value.isNumberText() && plainJsonText(v = value.asString(), at);
  const size_t start = out.size();
  out.resize(start + (comma ? 1 : 0) + key.size() + 3 + (plain_value ? v.size() + 2 : 0));
  char* w = out.data() + start;
  *w = ',';
  w += comma ? 1 : 0;
  *w++ = '"';
  copyShort(w, key.data(), key.size());
  w += key.size();
  *w++ = '"';
  *w++ = ':';
  if (plain_value) {
    *w++ = '"';
    copyShort(w, v.data(), v.size());
    w[v.size()] = '"';
    return;
  }
  appendJson(out, value, events);
}

void appendJsonString(std::string& out, std::string_view s) {
  const char* p = s.data();
  const size_t n = s.size();
  // Fast path: most keys and values need no escaping: checked, then copied in one append.
  size_t i = 0;
  if (plainJsonText(s, i)) {
    const size_t at = out.size();
    out.resize(at + n + 2);
    char* w = out.data() + at;
    w[0] = '"';
    copyShort(w + 1, p, n);
    w[n + 1] = '"';
    return;
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

void appendJson(std::string& out, const Value& value) { appendJson(out, value, nullptr); }

void appendJson(std::string& out, const Value& value, FormattedEvents* events) {
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
    case Kind::String:
      if (value.isNumberText()) {
        out += value.asString();  // a number literal, kept as written
      } else {
        appendJsonString(out, value.asString());
      }
      return;
    case Kind::Array: {
      out += '[';
      bool first = true;
      for (const Value& item : value.items()) {
        if (!first) out += ',';
        first = false;
        appendJson(out, item, events);
      }
      out += ']';
      return;
    }
    case Kind::Object: {
      if (const JsonTemplate* t = value.unchangedTemplate()) {  // serialised once, copied as is
        if (events != nullptr && events->splice_ok && &out == &events->bytes) {
          events->addSplice(t->id, t->json);
        } else {
          out += t->json;
        }
        return;
      }
      out += '{';
      appendJsonMembers(out, value, [](std::string_view) { return false; }, true, events);
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
