// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_http/http_body.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include <msgpack.hpp>

namespace sluice::plugins::in_http {
namespace {

Status addTopLevel(const Value& v, std::vector<Value>& out, std::string_view what) {
  if (v.isObject()) {
    out.push_back(v);
    return Status::ok();
  }
  if (v.isArray()) {
    for (const Value& item : v.items()) {
      if (!item.isObject()) {
        return Status::rejected(std::string(what) + ": an array element is not an object (a record must be a map)");
      }
      out.push_back(item);
    }
    return Status::ok();
  }
  return Status::rejected(std::string(what) + ": the body is neither an object nor an array of objects");
}

// Builds Values from msgpack-c's parser events without letting a length prefix decide an
// allocation: containers grow as their elements arrive, in one scratch stack shared by all open
// containers (children close before their parent goes on). The parser stops at the first error.
class ValueBuilder {
 public:
  explicit ValueBuilder(Arena& arena) : arena_(arena) {}

  bool visit_nil() { return push(Value()); }
  bool visit_boolean(bool v) { return push(Value::boolean(v)); }
  bool visit_positive_integer(uint64_t v) {
    if (v <= static_cast<uint64_t>(INT64_MAX)) return push(Value::integer(static_cast<int64_t>(v)));
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    return push(Value::numberText(arena_.copy(std::string_view(buf, static_cast<size_t>(r.ptr - buf)))));
  }
  bool visit_negative_integer(int64_t v) { return push(Value::integer(v)); }
  bool visit_float32(float v) { return push(Value::real(v)); }
  bool visit_float64(double v) { return push(Value::real(v)); }
  bool visit_str(const char* v, uint32_t size) { return push(Value::string(std::string_view(v, size))); }
  bool visit_bin(const char* v, uint32_t size) { return push(Value::string(std::string_view(v, size))); }
  bool visit_ext(const char*, uint32_t) {
    error_ = "MessagePack extension types are not supported in records";
    return false;
  }
  bool start_array(uint32_t) { return open(false); }
  bool start_array_item() { return true; }
  bool end_array_item() { return true; }
  bool end_array() { return close(); }
  bool start_map(uint32_t) { return open(true); }
  bool start_map_key() {
    in_key_ = true;
    return true;
  }
  bool end_map_key() {
    in_key_ = false;
    return true;
  }
  bool start_map_value() { return true; }
  bool end_map_value() { return true; }
  bool end_map() { return close(); }
  void parse_error(size_t, size_t) {
    if (error_.empty()) error_ = "invalid MessagePack";
  }
  void insufficient_bytes(size_t, size_t) {
    if (error_.empty()) error_ = "MessagePack body ends inside an object";
  }
  bool referenced() const { return false; }
  void set_referenced(bool) {}

  // The finished top-level value; valid after a successful parse.
  const Value& result() const { return result_; }
  const std::string& error() const { return error_; }
  void reset() {
    frames_.clear();
    scratch_.clear();
    result_ = Value();
    in_key_ = false;
  }

 private:
  struct Frame {
    bool map;
    size_t start;          // first entry of this container in scratch_
    bool have_key = false;  // a map's key is waiting for its value
  };

  bool open(bool map) {
    if (frames_.size() >= kMaxMsgpackDepth) {
      error_ = "MessagePack nested deeper than " + std::to_string(kMaxMsgpackDepth);
      return false;
    }
    if (in_key_) {
      error_ = "a MessagePack map key is not a string";
      return false;
    }
    frames_.push_back(Frame{map, scratch_.size()});
    return true;
  }

  bool close() {
    Frame f = frames_.back();
    frames_.pop_back();
    const size_t n = scratch_.size() - f.start;
    Value v;
    if (f.map) {
      Member* members = arena_.allocArray<Member>(n);
      size_t kept = 0;
      // Duplicate keys: the last value wins at the first position, as JSON reading does.
      if (n <= 32) {
        for (size_t i = 0; i < n; ++i) {
          const Member& m = scratch_[f.start + i];
          size_t j = 0;
          while (j < kept && members[j].key != m.key) ++j;
          if (j < kept) {
            members[j].value = m.value;
          } else {
            members[kept++] = m;
          }
        }
      } else {
        std::unordered_set<std::string_view> seen;
        for (size_t i = 0; i < n; ++i) {
          const Member& m = scratch_[f.start + i];
          if (!seen.insert(m.key).second) {
            for (size_t j = 0; j < kept; ++j) {
              if (members[j].key == m.key) members[j].value = m.value;
            }
          } else {
            members[kept++] = m;
          }
        }
      }
      v = Value::object(members, static_cast<uint32_t>(kept));
    } else {
      Value* items = arena_.allocArray<Value>(n);
      for (size_t i = 0; i < n; ++i) items[i] = scratch_[f.start + i].value;
      v = Value::array(items, static_cast<uint32_t>(n));
    }
    scratch_.resize(f.start);
    return push(v);
  }

  bool push(Value v) {
    if (frames_.empty()) {
      result_ = v;
      return true;
    }
    Frame& f = frames_.back();
    if (!f.map) {
      scratch_.push_back(Member{{}, v});
      return true;
    }
    if (in_key_) {
      // Fluentd's records have string keys; a number key is kept as its text.
      std::string_view key;
      if (v.isString()) {
        key = v.asString();
      } else if (v.isInt()) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof(buf), v.asInt());
        key = arena_.copy(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
      } else {
        error_ = "a MessagePack map key is not a string";
        return false;
      }
      scratch_.push_back(Member{key, Value()});
      f.have_key = true;
      return true;
    }
    scratch_.back().value = v;
    f.have_key = false;
    return true;
  }

  Arena& arena_;
  std::vector<Frame> frames_;
  std::vector<Member> scratch_;
  Value result_;
  bool in_key_ = false;
  std::string error_;
};

Status decodeMsgpack(std::string_view body, Arena& arena, std::vector<Value>& out) {
  if (body.empty()) return Status::rejected("msgpack: the body is empty");
  ValueBuilder builder(arena);
  size_t off = 0;
  while (off < body.size()) {
    builder.reset();
    bool ok = false;
    try {
      // msgpack-c's parser reports through the visitor; it throws only for an ext32 of size
      // 2^32-1 (and bad_alloc).
      ok = msgpack::parse(body.data(), body.size(), off, builder);
    } catch (const std::exception& e) {
      return Status::rejected(std::string("msgpack: ") + e.what());
    }
    if (!ok) return Status::rejected("msgpack: " + (builder.error().empty() ? std::string("invalid MessagePack") : builder.error()));
    if (Status s = addTopLevel(builder.result(), out, "msgpack"); !s) return s;
  }
  return Status::ok();
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding with '+' as a space; a '%' not followed by two hex digits is kept as it is
// (as Ruby's URI.decode_www_form_component is lenient with stray '%' in practice).
std::string_view decodeComponent(std::string_view s, Arena& arena) {
  if (s.find_first_of("%+") == std::string_view::npos) return s;
  char* buf = static_cast<char*>(arena.allocate(s.size(), 1));
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      buf[n++] = ' ';
    } else if (c == '%' && i + 2 < s.size() && hexDigit(s[i + 1]) >= 0 && hexDigit(s[i + 2]) >= 0) {
      buf[n++] = static_cast<char>(hexDigit(s[i + 1]) * 16 + hexDigit(s[i + 2]));
      i += 2;
    } else {
      buf[n++] = c;
    }
  }
  return std::string_view(buf, n);
}

}  // namespace

Status decodeRecords(BodyFormat format, std::string_view body, Arena& arena, std::vector<Value>& out) {
  switch (format) {
    case BodyFormat::Json: {
      auto v = parseJson(body, arena);
      if (!v) return Status::rejected("json: " + v.status().message());
      return addTopLevel(*v, out, "json");
    }
    case BodyFormat::Ndjson: {
      size_t line_no = 0;
      for (size_t s = 0; s < body.size();) {
        size_t nl = body.find('\n', s);
        if (nl == std::string_view::npos) nl = body.size();
        std::string_view line = body.substr(s, nl - s);
        s = nl + 1;
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
        auto v = parseJson(line, arena);
        if (!v) return Status::rejected("ndjson line " + std::to_string(line_no) + ": " + v.status().message());
        if (Status st = addTopLevel(*v, out, "ndjson line " + std::to_string(line_no)); !st) return st;
      }
      return Status::ok();
    }
    case BodyFormat::Msgpack:
      return decodeMsgpack(body, arena, out);
  }
  return Status::internal("unknown body format");
}

void parseFormParams(std::string_view text, Arena& arena, Params& out) {
  for (size_t s = 0; s <= text.size();) {
    size_t amp = text.find('&', s);
    if (amp == std::string_view::npos) amp = text.size();
    std::string_view pair = text.substr(s, amp - s);
    s = amp + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    out.emplace_back(decodeComponent(name, arena), decodeComponent(value, arena));
  }
}

std::optional<std::string_view> findParam(const Params& params, std::string_view name) {
  // The last occurrence wins, as in Rack's and WEBrick's parameter hashes.
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

std::optional<int64_t> parseEpochSeconds(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  double d = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), d);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !std::isfinite(d)) return std::nullopt;
  if (d < -9.2e9 || d > 9.2e9) return std::nullopt;
  // Integer seconds exactly; the fraction to the nanosecond (a double holds ~0.2 µs there).
  int64_t whole = static_cast<int64_t>(std::floor(d));
  int64_t frac = static_cast<int64_t>(std::llround((d - std::floor(d)) * 1e9));
  return whole * 1'000'000'000 + frac;
}

std::optional<int64_t> epochOfValue(const Value& value) {
  if (value.isInt()) {
    int64_t s = value.asInt();
    if (s < -9'200'000'000 || s > 9'200'000'000) return std::nullopt;
    return s * 1'000'000'000;
  }
  if (value.isDouble()) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), value.asDouble(), std::chars_format::fixed, 9);
    if (r.ec != std::errc()) return std::nullopt;
    return parseEpochSeconds(std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
  }
  if (value.isString()) return parseEpochSeconds(value.asString());
  return std::nullopt;
}

std::string_view headerFieldName(std::string_view header, Arena& arena) {
  char* buf = static_cast<char*>(arena.allocate(header.size() + 5, 1));
  std::memcpy(buf, "HTTP_", 5);
  for (size_t i = 0; i < header.size(); ++i) {
    char c = header[i];
    if (c == '-') {
      c = '_';
    } else if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
    buf[5 + i] = c;
  }
  return std::string_view(buf, header.size() + 5);
}

}  // namespace sluice::plugins::in_http
