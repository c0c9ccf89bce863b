// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/arena.h"
#include "core/status.h"
#include "core/value.h"

namespace sluice {

// A path into a record in Fluentd's record_accessor syntax: a plain key (`log`, dots are part
// of the name), `$.a.b`, `$['a']['b.c']`, `$.a[0]`. Parsed once at configuration time.
inline constexpr size_t kMaxFieldPathDepth = 64;

class FieldPath {
 public:
  static Result<FieldPath> parse(std::string_view text);
  static FieldPath key(std::string_view name);

  const Value* find(const Value& record) const;
  Value* find(Value& record) const;
  // Sets the value, creating intermediate objects. Array indices must exist.
  // The record links to this path's key strings: the path must outlive the record.
  void set(Value& record, Value value, Arena& arena) const;
  // Removes the field; returns whether it was there.
  bool remove(Value& record) const;

  const std::string& text() const { return text_; }
  bool isTopLevel() const { return segments_.size() == 1 && segments_[0].index < 0; }
  const std::string& topKey() const { return segments_[0].key; }

 private:
  struct Segment {
    std::string key;
    int64_t index = -1;  // >= 0 for array elements
  };
  std::string text_;
  std::vector<Segment> segments_;
};

}  // namespace sluice
