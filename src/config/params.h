// SPDX-License-Identifier: Apache-2.0
#pragma once

// Parameter tables: what a plugin (or <buffer>, <system>, <monitor>) declares about its
// configuration. One Param per key: the Config member it fills, its default as a user would
// write it, its description. The same table binds the config (config/bind.h), validates it,
// and documents it (`sluice --describe`, the README). Plain data, used on the main thread
// while the configuration is read.

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/types.h"
#include "core/status.h"

namespace sluice {

enum class ParamType { String, Integer, Float, Size, Time, Bool, Enum, Array, Hash, Regexp };
std::string_view paramTypeName(ParamType type);

// Param flags.
inline constexpr uint32_t kRequired = 1u << 0;  // no default; must be set
inline constexpr uint32_t kSecret = 1u << 1;    // never logged or printed
inline constexpr uint32_t kIgnored = 1u << 2;   // accepted for Fluentd compatibility, no effect
inline constexpr uint32_t kRegexp = 1u << 3;    // a string holding a Ruby-dialect regexp

// One parameter of a plugin: name, the Config member it fills (its type decides how the value
// is parsed), the default written as a user would write it (nullptr: none — the member keeps
// its initial value, or the parameter is required with kRequired), and the description that
// `sluice --describe` and the README show. Enum choices are "a|b|c".
template <class C>
struct Param {
  using Member = std::variant<std::monostate, std::string C::*, std::optional<std::string> C::*,
                              int64_t C::*, double C::*, bool C::*, ByteSize C::*, Duration C::*,
                              StringList C::*, StringMap C::*>;
  std::string_view name;
  Member member;
  const char* default_value;
  std::string_view description;
  std::string_view choices = {};
  uint32_t flags = 0;
  std::string_view alias = {};

  ParamType type() const {
    if (!choices.empty()) return ParamType::Enum;
    if (flags & kRegexp) return ParamType::Regexp;
    switch (member.index()) {
      case 3: return ParamType::Integer;
      case 4: return ParamType::Float;
      case 5: return ParamType::Bool;
      case 6: return ParamType::Size;
      case 7: return ParamType::Time;
      case 8: return ParamType::Array;
      case 9: return ParamType::Hash;
      default: return ParamType::String;
    }
  }
};

// A parameter with its Config type erased: what --describe, the README and validation need.
struct ParamInfo {
  std::string_view name;
  ParamType type;
  const char* default_value;
  std::string_view description;
  std::string_view choices;
  uint32_t flags;
  std::string_view alias;
};

template <class C, size_t N, size_t M>
constexpr std::array<Param<C>, N + M> concatParams(const std::array<Param<C>, N>& a,
                                                   const std::array<Param<C>, M>& b) {
  std::array<Param<C>, N + M> out{};
  for (size_t i = 0; i < N; ++i) out[i] = a[i];
  for (size_t i = 0; i < M; ++i) out[N + i] = b[i];
  return out;
}

template <class C>
std::vector<ParamInfo> describeParams(std::span<const Param<C>> params) {
  std::vector<ParamInfo> out;
  for (const Param<C>& p : params) {
    out.push_back(ParamInfo{p.name, p.type(), p.default_value, p.description, p.choices, p.flags,
                            p.alias});
  }
  return out;
}

}  // namespace sluice
