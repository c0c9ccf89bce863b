// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <bit>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/arena.h"

namespace sluice {

enum class Kind : uint8_t { Null, Bool, Int, Double, String, Array, Object };

struct Member;
class Value;

// An object a plugin builds once and copies into many records (kubernetes_metadata's pod
// metadata), with its JSON text serialised once. REQUIRES: both outlive every copy.
uint64_t nextJsonTemplateId();  // 1, 2, 3, ...: thread-safe

struct JsonTemplate {
  const Value* original = nullptr;  // an object
  std::string_view json;            // appendJson(*original)
  // Unique for the life of the process (an address can be reused; this is not): filters that
  // keep a verdict per template (redact) key their own caches by it.
  uint64_t id = nextJsonTemplateId();
};

// A JSON-like value: 16 bytes, trivially copyable. Strings, arrays and objects point into an
// Arena (or into the input buffer a batch keeps alive); a Value never owns memory.
// Objects keep their keys in insertion order, as Fluentd's Ruby hashes do.
class Value {
 public:
  constexpr Value() : kind_(Kind::Null), flags_(0), size_(0), i_(0) {}

  static Value boolean(bool b) { Value v(Kind::Bool); v.b_ = b; return v; }
  static Value integer(int64_t i) { Value v(Kind::Int); v.i_ = i; return v; }
  static Value real(double d) { Value v(Kind::Double); v.d_ = d; return v; }
  // REQUIRES: `s` outlives the value (arena, input buffer or static storage).
  static Value string(std::string_view s) {
    Value v(Kind::String);
    v.s_ = s.data();
    v.size_ = static_cast<uint32_t>(s.size());
    return v;
  }
  static Value array(Value* items, uint32_t n, bool growable = false) {
    Value v(Kind::Array);
    v.arr_ = items;
    v.size_ = n;
    v.flags_ = growable ? kGrowable : 0;
    return v;
  }
  static Value object(Member* members, uint32_t n, bool growable = false) {
    Value v(Kind::Object);
    v.obj_ = members;
    v.size_ = n;
    v.flags_ = growable ? kGrowable : 0;
    return v;
  }
  // A JSON number no 64-bit type holds exactly (beyond int64, -0, 1e999), kept as its literal
  // text: a string to every reader, written back unquoted by appendJson. REQUIRES: `text` is
  // a JSON number literal that outlives the value.
  static Value numberText(std::string_view text) {
    Value v = string(text);
    v.flags_ = kNumberText;
    return v;
  }
  // An empty object that can grow (setMember) in `arena`.
  static Value emptyObject() { return object(nullptr, 0, true); }

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isBool() const { return kind_ == Kind::Bool; }
  bool isInt() const { return kind_ == Kind::Int; }
  bool isDouble() const { return kind_ == Kind::Double; }
  bool isNumber() const { return kind_ == Kind::Int || kind_ == Kind::Double; }
  bool isString() const { return kind_ == Kind::String; }
  bool isArray() const { return kind_ == Kind::Array; }
  bool isObject() const { return kind_ == Kind::Object; }
  bool isNumberText() const { return kind_ == Kind::String && (flags_ & kNumberText); }

  bool asBool() const { return b_; }
  int64_t asInt() const { return i_; }
  double asDouble() const { return kind_ == Kind::Int ? static_cast<double>(i_) : d_; }
  std::string_view asString() const { return {s_, size_}; }
  uint32_t size() const { return size_; }

  std::span<Value> items() const { return {arr_, size_}; }
  std::span<Member> members() const;

  // Object look-ups: linear, as records are small and keys ordered. nullptr if absent or not
  // an object.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);

  // Object mutation. `arena` provides memory when the member array must grow.
  void setMember(std::string_view key, Value value, Arena& arena);
  bool removeMember(std::string_view key);
  void appendItem(Value item, Arena& arena);

  // Copies the top-level member or item array into `arena` (children are shared), so the
  // copy can be changed without touching the original.
  Value shallowCopy(Arena& arena) const;
  // Deep copy into `arena` (strings included).
  Value deepCopy(Arena& arena) const;
  // Copies objects and arrays into `arena`; strings and keys are shared (they are never changed
  // in place), so each copy can be changed on its own.
  Value copyStructure(Arena& arena) const;
  // copyStructure() of `t.original` that remembers `t`: while the copy is unchanged (member
  // for member, at every level), appendJson writes t.json instead of serialising it again.
  static Value copyOfTemplate(const JsonTemplate& t, Arena& arena);
  // The template this object was copied from, if it is still unchanged; nullptr otherwise.
  const JsonTemplate* unchangedTemplate() const;

  // Truthiness in Ruby's sense is not needed; this is JSON equality.
  bool operator==(const Value& other) const;

 private:
  explicit Value(Kind k) : kind_(k), flags_(0), size_(0), i_(0) {}
  static constexpr uint8_t kGrowable = 1;  // Capacity is max(4, bit_ceil(size)).
  // A copyOfTemplate(): the member array is preceded by one slot holding the template.
  static constexpr uint8_t kTemplate = 2;
  static constexpr uint8_t kNumberText = 4;  // a String holding a number literal (numberText)
  static uint32_t capacityOf(uint32_t size) {
    return size <= 4 ? 4 : std::bit_ceil(size);
  }

  Kind kind_;
  uint8_t flags_;
  uint32_t size_;
  union {
    bool b_;
    int64_t i_;
    double d_;
    const char* s_;
    Value* arr_;
    Member* obj_;
  };
};
static_assert(sizeof(Value) == 16);

struct Member {
  std::string_view key;
  Value value;
};

inline std::span<Member> Value::members() const { return {obj_, size_}; }

}  // namespace sluice
