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

enum class ParamType { String, Integer, Float, Size, SizeLimit, Time, Bool, Enum, Array, Hash, Regexp };
std::string_view paramTypeName(ParamType type);

// Param flags.
inline constexpr uint32_t kRequired = 1u << 0;  // no default; must be set
inline constexpr uint32_t kSecret = 1u << 1;    // never logged or printed
inline constexpr uint32_t kIgnored = 1u << 2;   // accepted for Fluentd compatibility, no effect
inline constexpr uint32_t kRegexp = 1u << 3;    // a string holding a Ruby-dialect regexp

// One spelling of an enum parameter and the value it stands for. A table of them is a
// constexpr array beside the enum: `inline constexpr Choice<Mode> kModes[] = {{"lazy",
// Mode::Lazy}, ...};`. Several spellings may stand for one value (Fluentd's aliases).
template <class E>
struct Choice {
  std::string_view name;
  E value;
};

// The spelling of `value` in `choices` (the first that stands for it), for logs and metadata.
template <class E, size_t N>
constexpr std::string_view choiceName(const Choice<E> (&choices)[N], E value) {
  for (const Choice<E>& c : choices) {
    if (c.value == value) return c.name;
  }
  return {};
}

// An enum member of a Config with its type erased, as Param's variant holds it: `assign` sets
// the member from a spelling (false when no choice is spelt so), `choices` is "a|b|c" for
// --describe, the README and error messages. Made by enumMember<&Config::member, kChoices>().
template <class C>
struct EnumMember {
  bool (*assign)(C& out, std::string_view text) = nullptr;
  std::string_view choices;
};

namespace detail {

template <auto& Choices>
constexpr size_t choiceTextSize() {
  size_t n = 0;
  for (const auto& c : Choices) n += c.name.size() + 1;
  return n == 0 ? 1 : n;
}

// "a|b|c" built at compile time from a choice table (the last byte is a spare '\0').
template <auto& Choices>
constexpr std::array<char, choiceTextSize<Choices>()> joinChoices() {
  std::array<char, choiceTextSize<Choices>()> out{};
  size_t at = 0;
  for (const auto& c : Choices) {
    if (at != 0) out[at++] = '|';
    for (char ch : c.name) out[at++] = ch;
  }
  return out;
}

template <auto& Choices>
inline constexpr auto kChoiceText = joinChoices<Choices>();

template <class C, auto Member, auto& Choices>
bool assignChoice(C& out, std::string_view text) {
  for (const auto& c : Choices) {
    if (c.name == text) {
      out.*Member = c.value;
      return true;
    }
  }
  return false;
}

template <class M>
struct MemberClass;
template <class T, class K>
struct MemberClass<T K::*> {
  using type = K;
};

}  // namespace detail

// The Param member of an enum: `{"flush_mode", enumMember<&B::flush_mode, kFlushModes>(),
// "default", "When chunks are flushed."}`. The value is checked and converted when the
// configuration is bound, so nothing compares a config string while running. The three-argument
// form names the Config when the member belongs to a base (ParserCommon).
template <class C, auto Member, auto& Choices>
constexpr EnumMember<C> enumMember() {
  constexpr const auto& text = detail::kChoiceText<Choices>;
  return EnumMember<C>{&detail::assignChoice<C, Member, Choices>,
                       std::string_view(text.data(), text.size() - 1)};
}
template <auto Member, auto& Choices>
constexpr auto enumMember() {
  return enumMember<typename detail::MemberClass<decltype(Member)>::type, Member, Choices>();
}

// One parameter of a plugin: name, the Config member it fills (its type decides how the value
// is parsed), the default written as a user would write it (nullptr: none — the member keeps
// its initial value, or the parameter is required with kRequired), and the description that
// `sluice --describe` and the README show. An enum is an enum member (enumMember above); a
// string member with choices "a|b|c" is the older form of one (the value stays a string).
template <class C>
struct Param {
  using Member = std::variant<std::monostate, std::string C::*, std::optional<std::string> C::*,
                              int64_t C::*, double C::*, bool C::*, ByteSize C::*, Duration C::*,
                              StringList C::*, StringMap C::*, SizeLimit C::*, EnumMember<C>>;
  std::string_view name;
  Member member;
  const char* default_value;
  std::string_view description;
  std::string_view choices = {};
  uint32_t flags = 0;
  std::string_view alias = {};

  ParamType type() const {
    if (!choices.empty() || std::holds_alternative<EnumMember<C>>(member)) return ParamType::Enum;
    if (flags & kRegexp) return ParamType::Regexp;
    switch (member.index()) {
      case 3: return ParamType::Integer;
      case 4: return ParamType::Float;
      case 5: return ParamType::Bool;
      case 6: return ParamType::Size;
      case 7: return ParamType::Time;
      case 8: return ParamType::Array;
      case 9: return ParamType::Hash;
      case 10: return ParamType::SizeLimit;
      default: return ParamType::String;
    }
  }
  // The allowed spellings, "a|b|c" (empty unless an enum).
  std::string_view choiceText() const {
    if (const auto* e = std::get_if<EnumMember<C>>(&member)) return e->choices;
    return choices;
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
    out.push_back(ParamInfo{p.name, p.type(), p.default_value, p.description, p.choiceText(), p.flags,
                            p.alias});
  }
  return out;
}

}  // namespace sluice
