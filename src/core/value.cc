// SPDX-License-Identifier: Apache-2.0
#include "core/value.h"

#include <atomic>

#include <cstring>

namespace sluice {

const Value* Value::find(std::string_view key) const {
  if (kind_ != Kind::Object) return nullptr;
  for (uint32_t i = 0; i < size_; ++i) {
    if (obj_[i].key == key) return &obj_[i].value;
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
    if (obj_[i].key == key) {
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

// Whether `copy` is still what copyStructure() made of `original`: same sizes, keys and scalar
// values (strings by identity), the same at every level.
bool sameStructure(const Value& copy, const Value& original) {
  if (copy.kind() != original.kind() || copy.size() != original.size()) return false;
  if (copy.isObject()) {
    const Member* a = copy.members().data();
    const Member* b = original.members().data();
    for (uint32_t i = 0; i < copy.size(); ++i) {
      if (a[i].key.data() != b[i].key.data() || a[i].key.size() != b[i].key.size()) return false;
      if (!sameStructure(a[i].value, b[i].value)) return false;
    }
    return true;
  }
  if (copy.isArray()) {
    for (uint32_t i = 0; i < copy.size(); ++i) {
      if (!sameStructure(copy.items()[i], original.items()[i])) return false;
    }
    return true;
  }
  switch (copy.kind()) {
    case Kind::Bool: return copy.asBool() == original.asBool();
    case Kind::Int: return copy.asInt() == original.asInt();
    case Kind::Double: {
      double a = copy.asDouble(), b = original.asDouble();
      return std::memcmp(&a, &b, sizeof a) == 0;
    }
    case Kind::String: return copy.asString().data() == original.asString().data();  // sizes compared above
    default: return true;
  }
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
  return sameStructure(*this, *t->original) ? t : nullptr;
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
