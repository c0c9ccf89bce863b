// SPDX-License-Identifier: Apache-2.0
#include "core/value.h"

#include <atomic>

#include <cstring>

namespace sluice {

namespace {

// Whether `a` and `b` are equal: sizes, then the first byte, before memcmp (a libc call), as
// most keys of a record differ in size or first byte.
inline bool sameKey(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || (a[0] == b[0] && std::memcmp(a.data(), b.data(), a.size()) == 0));
}

}  // namespace

const Value* Value::find(std::string_view key) const {
  if (kind_ != Kind::Object) return nullptr;
  for (uint32_t i = 0; i < size_; ++i) {
    if (sameKey(obj_[i].key, key)) return &obj_[i].value;
  }
  return nullptr;
}

Value* Value::find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Value*>(this)->find(key));
}

void Value::setMember(std::string_view key, Value value, Arena& arena) {
  if (kind_ != Kind::Object) {
    *this = emptyObject();
  }
  if (Value* existing = find(key)) {
    *existing = value;
    return;
  }
  if (!(flags_ & kGrowable) || size_ + 1 > capacityOf(size_) || obj_ == nullptr) {
    uint32_t cap = capacityOf(size_ + 1);
    Member* grown = arena.allocArray<Member>(cap);
    if (size_) std::memcpy(static_cast<void*>(grown), obj_, sizeof(Member) * size_);
    obj_ = grown;
    flags_ = kGrowable;  // a template copy's new array has no template slot
  }
  obj_[size_++] = Member{key, value};
}

bool Value::removeMember(std::string_view key) {
  if (kind_ != Kind::Object) return false;
  for (uint32_t i = 0; i < size_; ++i) {
    if (sameKey(obj_[i].key, key)) {
      std::memmove(static_cast<void*>(obj_ + i), obj_ + i + 1, sizeof(Member) * (size_ - i - 1));
      --size_;
      return true;
    }
  }
  return false;
}

void Value::appendItem(Value item, Arena& arena) {
  if (kind_ != Kind::Array) {
    *this = array(nullptr, 0, true);
  }
  if (!(flags_ & kGrowable) || size_ + 1 > capacityOf(size_) || arr_ == nullptr) {
    uint32_t cap = capacityOf(size_ + 1);
    Value* grown = arena.allocArray<Value>(cap);
    if (size_) std::memcpy(static_cast<void*>(grown), arr_, sizeof(Value) * size_);
    arr_ = grown;
    flags_ |= kGrowable;
  }
  arr_[size_++] = item;
}

Value Value::shallowCopy(Arena& arena) const {
  if (kind_ == Kind::Object) {
    Member* members = arena.allocArray<Member>(capacityOf(size_));
    if (size_) std::memcpy(static_cast<void*>(members), obj_, sizeof(Member) * size_);
    return object(members, size_, true);
  }
  if (kind_ == Kind::Array) {
    Value* items = arena.allocArray<Value>(capacityOf(size_));
    if (size_) std::memcpy(static_cast<void*>(items), arr_, sizeof(Value) * size_);
    return array(items, size_, true);
  }
  return *this;
}

Value Value::deepCopy(Arena& arena) const {
  switch (kind_) {
    case Kind::String:
      return isNumberText() ? numberText(arena.copy(asString())) : string(arena.copy(asString()));
    case Kind::Array: {
      Value* items = arena.allocArray<Value>(size_);
      for (uint32_t i = 0; i < size_; ++i) items[i] = arr_[i].deepCopy(arena);
      return array(items, size_);
    }
    case Kind::Object: {
      Member* members = arena.allocArray<Member>(size_);
      for (uint32_t i = 0; i < size_; ++i) {
        members[i] = Member{arena.copy(obj_[i].key), obj_[i].value.deepCopy(arena)};
      }
      return object(members, size_);
    }
    default:
      return *this;
  }
}

Value Value::copyStructure(Arena& arena) const {
  if (kind_ == Kind::Object) {
    Member* members = arena.allocArray<Member>(size_ == 0 ? 1 : size_);
    for (uint32_t i = 0; i < size_; ++i) {
      members[i].key = obj_[i].key;
      const Value& child = obj_[i].value;
      members[i].value = child.isObject() || child.isArray() ? child.copyStructure(arena) : child;
    }
    return object(members, size_);
  }
  if (kind_ == Kind::Array) {
    Value* items = arena.allocArray<Value>(size_ == 0 ? 1 : size_);
    for (uint32_t i = 0; i < size_; ++i) {
      const Value& child = arr_[i];
      items[i] = child.isObject() || child.isArray() ? child.copyStructure(arena) : child;
    }
    return array(items, size_);
  }
  return *this;
}

namespace {

// A Value's bytes as two words: kind, flags, size and the payload, without the two padding
// bytes after flags (never compared: a copy need not carry them).
struct ValueWords {
  uint64_t head, payload;
};
inline ValueWords wordsOf(const Value& v) {
  uint64_t w[2];
  std::memcpy(w, &v, sizeof w);
  return {w[0] & 0xFFFFFFFF0000FFFFull, w[1]};
}
static_assert(sizeof(Value) == 16 && sizeof(std::string_view) == 16);

// Whether the containers `copy` and `original` (same kind and size, checked by the caller) are
// still what copyStructure() made of `original`: the same keys (by identity), the same scalars
// (kind, flags, size and payload: strings by identity, doubles by bits) and, for containers,
// the same kind and size with the same contents, at every level. Called for every record the
// JSON writer and redact see with the pod metadata, so scalars are compared as words rather
// than by kind.
bool sameStructure(const Value& copy, const Value& original) {
  auto same = [](const Value& a, const Value& b) {
    if (b.isObject() || b.isArray()) {
      return a.kind() == b.kind() && a.size() == b.size() && sameStructure(a, b);
    }
    ValueWords x = wordsOf(a), y = wordsOf(b);
    return ((x.head ^ y.head) | (x.payload ^ y.payload)) == 0;
  };
  const uint32_t n = original.size();
  if (original.isObject()) {
    const Member* a = copy.members().data();
    const Member* b = original.members().data();
    for (uint32_t i = 0; i < n; ++i) {
      if (a[i].key.data() != b[i].key.data() || a[i].key.size() != b[i].key.size()) return false;
      if (!same(a[i].value, b[i].value)) return false;
    }
    return true;
  }
  const Value* a = copy.items().data();
  const Value* b = original.items().data();
  for (uint32_t i = 0; i < n; ++i) {
    if (!same(a[i], b[i])) return false;
  }
  return true;
}

}  // namespace

uint64_t nextJsonTemplateId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

Value Value::copyOfTemplate(const JsonTemplate& t, Arena& arena) {
  const Value& o = *t.original;
  Member* slots = arena.allocArray<Member>(o.size_ + 1);
  slots[0].key = std::string_view(reinterpret_cast<const char*>(&t), 0);  // the template, by address
  Member* members = slots + 1;
  for (uint32_t i = 0; i < o.size_; ++i) {
    members[i].key = o.obj_[i].key;
    const Value& child = o.obj_[i].value;
    members[i].value = child.isObject() || child.isArray() ? child.copyStructure(arena) : child;
  }
  Value v = object(members, o.size_);
  v.flags_ = kTemplate;
  return v;
}

const JsonTemplate* Value::unchangedTemplate() const {
  if (kind_ != Kind::Object || !(flags_ & kTemplate)) return nullptr;
  const auto* t = reinterpret_cast<const JsonTemplate*>(obj_[-1].key.data());
  const Value& o = *t->original;
  return size_ == o.size_ && sameStructure(*this, o) ? t : nullptr;
}

bool Value::operator==(const Value& other) const {
  if (isNumber() && other.isNumber()) {
    if (kind_ == Kind::Int && other.kind_ == Kind::Int) return i_ == other.i_;
    return asDouble() == other.asDouble();
  }
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::Null: return true;
    case Kind::Bool: return b_ == other.b_;
    case Kind::String: return asString() == other.asString();
    case Kind::Array:
      if (size_ != other.size_) return false;
      for (uint32_t i = 0; i < size_; ++i) {
        if (!(arr_[i] == other.arr_[i])) return false;
      }
      return true;
    case Kind::Object:
      if (size_ != other.size_) return false;
      for (uint32_t i = 0; i < size_; ++i) {
        const Value* v = other.find(obj_[i].key);
        if (v == nullptr || !(*v == obj_[i].value)) return false;
      }
      return true;
    default:
      return false;
  }
}

}  // namespace sluice
