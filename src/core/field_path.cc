// SPDX-License-Identifier: Apache-2.0
#include "core/field_path.h"

namespace sluice {

FieldPath FieldPath::key(std::string_view name) {
  FieldPath p;
  p.text_ = std::string(name);
  p.segments_.push_back(Segment{std::string(name), -1});
  return p;
}

Result<FieldPath> FieldPath::parse(std::string_view text) {
  if (!text.starts_with("$.") && !text.starts_with("$[")) return key(text);
  FieldPath p;
  p.text_ = std::string(text);
  size_t i = 1;
  auto bad = [&](std::string_view why) {
    return Status::invalidConfig("invalid record accessor '" + std::string(text) + "': " +
                                 std::string(why));
  };
  while (i < text.size()) {
    if (text[i] == '.') {
      size_t start = ++i;
      while (i < text.size() && text[i] != '.' && text[i] != '[') ++i;
      if (i == start) return bad("empty key");
      p.segments_.push_back(Segment{std::string(text.substr(start, i - start)), -1});
    } else if (text[i] == '[') {
      ++i;
      if (i < text.size() && (text[i] == '\'' || text[i] == '"')) {
        char q = text[i++];
        size_t end = text.find(q, i);
        if (end == std::string_view::npos) return bad("unterminated quoted key");
        p.segments_.push_back(Segment{std::string(text.substr(i, end - i)), -1});
        i = end + 1;
      } else {
        int64_t idx = 0;
        size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') idx = idx * 10 + (text[i++] - '0');
        if (i == start) return bad("expected a quoted key or an index inside [ ]");
        if (i - start > 9) return bad("index too large");
        p.segments_.push_back(Segment{"", idx});
      }
      if (i >= text.size() || text[i] != ']') return bad("missing ']'");
      ++i;
    } else {
      return bad("unexpected character");
    }
    if (p.segments_.size() > kMaxFieldPathDepth) {
      return bad("deeper than " + std::to_string(kMaxFieldPathDepth) + " levels");
    }
  }
  if (p.segments_.empty()) return bad("no key");
  return p;
}

const Value* FieldPath::find(const Value& record) const {
  const Value* cur = &record;
  for (const Segment& s : segments_) {
    if (s.index >= 0) {
      if (!cur->isArray() || uint64_t(s.index) >= cur->size()) return nullptr;
      cur = &cur->items()[s.index];
    } else {
      cur = cur->find(s.key);
      if (cur == nullptr) return nullptr;
    }
  }
  return cur;
}

Value* FieldPath::find(Value& record) const {
  return const_cast<Value*>(find(static_cast<const Value&>(record)));
}

void FieldPath::set(Value& record, Value value, Arena& arena) const {
  Value* cur = &record;
  for (size_t k = 0; k < segments_.size(); ++k) {
    const Segment& s = segments_[k];
    bool last = k + 1 == segments_.size();
    if (s.index >= 0) {
      if (!cur->isArray() || uint64_t(s.index) >= cur->size()) return;
      if (last) {
        cur->items()[s.index] = value;
        return;
      }
      cur = &cur->items()[s.index];
      continue;
    }
    if (last) {
      cur->setMember(s.key, value, arena);
      return;
    }
    Value* next = cur->find(s.key);
    if (next == nullptr || !next->isObject()) {
      cur->setMember(s.key, Value::emptyObject(), arena);
      next = cur->find(s.key);
    }
    cur = next;
  }
}

bool FieldPath::remove(Value& record) const {
  Value* parent = &record;
  for (size_t k = 0; k + 1 < segments_.size(); ++k) {
    const Segment& s = segments_[k];
    if (s.index >= 0) {
      if (!parent->isArray() || uint64_t(s.index) >= parent->size()) return false;
      parent = &parent->items()[s.index];
    } else {
      parent = parent->find(s.key);
      if (parent == nullptr) return false;
    }
  }
  const Segment& last = segments_.back();
  if (last.index >= 0) return false;
  return parent->removeMember(last.key);
}

}  // namespace sluice
