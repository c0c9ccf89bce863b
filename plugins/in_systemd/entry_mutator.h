// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace sluice::plugins::in_systemd {

struct EntryConfig {
  std::string field_map;
  bool field_map_strict = false;
  bool fields_strip_underscores = false;
  bool fields_lowercase = false;
};

// fluent-plugin-systemd's SystemdEntryMutator (<entry>): maps journal fields to new names
// (several sources joined by a space, in field_map order), and strips leading underscores from
// and lowercases the names of the other fields. Immutable after create(); apply() is called on
// the input's thread.
class EntryMutator {
 public:
  static Result<EntryMutator> create(const EntryConfig& config);

  // The record for an entry's `fields` (in journal order; keys and values live in `arena` or
  // longer). `scratch` is the caller's reused vector.
  Value apply(std::span<const Member> fields, Arena& arena, std::vector<Member>& scratch) const;

 private:
  struct Mapping {
    std::string to;
    std::vector<std::string> from;  // in field_map order
  };
  std::vector<Mapping> map_;
  std::vector<std::string> sources_;  // every mapped source field
  bool strict_ = false;
  bool strip_ = false;
  bool lower_ = false;
};

// An object of `members` in `arena` with room to grow (later filters add fields in place).
Value objectOf(std::span<const Member> members, Arena& arena);

}  // namespace sluice::plugins::in_systemd
