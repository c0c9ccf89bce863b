// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_systemd/entry_mutator.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace sluice::plugins::in_systemd {
namespace {

std::string_view joinSpace(std::string_view a, std::string_view b, Arena& arena) {
  char* p = static_cast<char*>(arena.allocate(a.size() + 1 + b.size(), 1));
  std::memcpy(p, a.data(), a.size());
  p[a.size()] = ' ';
  std::memcpy(p + a.size() + 1, b.data(), b.size());
  return {p, a.size() + 1 + b.size()};
}

const Member* findMember(std::span<const Member> members, std::string_view key) {
  for (const Member& m : members) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

}  // namespace

Value objectOf(std::span<const Member> members, Arena& arena) {
  const uint32_t n = static_cast<uint32_t>(members.size());
  const uint32_t cap = n <= 4 ? 4 : std::bit_ceil(n);
  Member* out = arena.allocArray<Member>(cap);
  if (n) std::memcpy(static_cast<void*>(out), members.data(), sizeof(Member) * n);
  return Value::object(out, n, true);
}

Result<EntryMutator> EntryMutator::create(const EntryConfig& config) {
  EntryMutator m;
  m.strict_ = config.field_map_strict;
  m.strip_ = config.fields_strip_underscores;
  m.lower_ = config.fields_lowercase;
  if (config.field_map.empty()) return m;
  Arena arena;
  auto parsed = parseJson(config.field_map, arena);
  if (!parsed || !parsed->isObject()) {
    return Status::invalidConfig("field_map must be a JSON hash like {\"MESSAGE\": \"log\", \"_PID\": [\"process\", \"pid\"]}");
  }
  // Fluentd inverts the map: each destination (in order of first appearance) takes its sources
  // in field_map order.
  for (const Member& src : parsed->members()) {
    std::vector<std::string_view> targets;
    if (src.value.isString()) {
      targets.push_back(src.value.asString());
    } else if (src.value.isArray()) {
      for (const Value& t : src.value.items()) {
        if (!t.isString()) return Status::invalidConfig("`field_map` values must be strings or array of strings");
        targets.push_back(t.asString());
      }
    } else {
      return Status::invalidConfig("`field_map` values must be strings or array of strings");
    }
    m.sources_.emplace_back(src.key);
    for (std::string_view t : targets) {
      auto it = std::find_if(m.map_.begin(), m.map_.end(), [&](const Mapping& x) { return x.to == t; });
      if (it == m.map_.end()) it = m.map_.insert(m.map_.end(), Mapping{std::string(t), {}});
      if (std::find(it->from.begin(), it->from.end(), src.key) == it->from.end()) it->from.emplace_back(src.key);
    }
  }
  return m;
}

Value EntryMutator::apply(std::span<const Member> fields, Arena& arena, std::vector<Member>& out) const {
  if (map_.empty() && !strip_ && !lower_ && !strict_) return objectOf(fields, arena);
  out.clear();
  for (const Mapping& m : map_) {
    std::string_view joined;
    bool any = false;
    for (const std::string& from : m.from) {
      const Member* f = findMember(fields, from);
      if (f == nullptr) continue;
      joined = any ? joinSpace(joined, f->value.asString(), arena) : f->value.asString();
      any = true;
    }
    if (any) out.push_back(Member{m.to, Value::string(joined)});
  }
  if (!strict_) {
    for (const Member& f : fields) {
      if (std::find(sources_.begin(), sources_.end(), f.key) != sources_.end()) continue;
      std::string_view key = f.key;
      if (strip_) {
        while (!key.empty() && key.front() == '_') key.remove_prefix(1);
      }
      if (lower_ && std::any_of(key.begin(), key.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        char* p = static_cast<char*>(arena.allocate(key.size(), 1));
        for (size_t i = 0; i < key.size(); ++i) {
          char c = key[i];
          p[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        }
        key = {p, key.size()};
      }
      // A name that is also a mapped destination (or another field's stripped name): Fluentd
      // joins the two, this field's value first.
      auto it = std::find_if(out.begin(), out.end(), [&](const Member& o) { return o.key == key; });
      if (it != out.end()) {
        it->value = Value::string(joinSpace(f.value.asString(), it->value.asString(), arena));
      } else {
        out.push_back(Member{key, f.value});
      }
    }
  }
  return objectOf(out, arena);
}

}  // namespace sluice::plugins::in_systemd
