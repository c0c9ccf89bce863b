// SPDX-License-Identifier: Apache-2.0
#pragma once

// Filling a plugin's Config from its section, driven by the plugin's Param table
// (config/params.h). Called on the main thread while the configuration is read: by the
// descriptors' create (core/descriptor.h), PluginContext::bind, and the engine for <system>,
// <monitor> and <buffer>. Knows nothing of plugins.

#include <span>
#include <type_traits>

#include "config/element.h"
#include "config/params.h"
#include "config/types.h"

namespace sluice {
namespace config {

// Checks `value` against "a|b|c".
bool enumAllows(std::string_view choices, std::string_view value);
// Validates a Ruby-dialect regexp (compiles it with RE2).
Status checkRegexp(std::string_view value);
// Warns once per process about a parameter accepted only for Fluentd compatibility.
void warnIgnored(const Location& where, std::string_view key, std::string_view why);

}  // namespace config

// Converts `text` for one typed member. Exposed for the bind code and conformance tests.
template <class C>
Status assignParam(const Param<C>& p, C& out, std::string_view text) {
  auto notAChoice = [&]() {
    std::string allowed(p.choiceText());
    for (char& c : allowed) {
      if (c == '|') c = ',';
    }
    return Status::invalidConfig("valid options are " + allowed + " but got '" + std::string(text) +
                                 "'");
  };
  auto checkString = [&]() -> Status {
    if (!p.choices.empty() && !config::enumAllows(p.choices, text)) return notAChoice();
    if (p.flags & kRegexp) return config::checkRegexp(text);
    return Status::ok();
  };
  return std::visit(
      [&](auto member) -> Status {
        using M = decltype(member);
        if constexpr (std::is_same_v<M, std::monostate>) {
          return Status::ok();
        } else if constexpr (std::is_same_v<M, EnumMember<C>>) {
          return member.assign(out, text) ? Status::ok() : notAChoice();
        } else {
          using T = std::remove_reference_t<decltype(out.*member)>;
          if constexpr (std::is_same_v<T, std::string>) {
            Status s = checkString();
            if (s) out.*member = std::string(text);
            return s;
          } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
            Status s = checkString();
            if (s) out.*member = std::string(text);
            return s;
          } else {
            auto parsed = [&] {
              if constexpr (std::is_same_v<T, int64_t>) return config::parseInteger(text);
              else if constexpr (std::is_same_v<T, double>) return config::parseFloat(text);
              else if constexpr (std::is_same_v<T, bool>) return config::parseBool(text);
              else if constexpr (std::is_same_v<T, ByteSize>) return config::parseSize(text);
              else if constexpr (std::is_same_v<T, Duration>) return config::parseTime(text);
              else if constexpr (std::is_same_v<T, SizeLimit>) return config::parseSizeLimit(text);
              else if constexpr (std::is_same_v<T, StringList>) return config::parseArray(text);
              else return config::parseHash(text);
            }();
            if (!parsed) return parsed.takeStatus();
            if constexpr (std::is_same_v<T, ByteSize>) {
              out.*member = ByteSize{*parsed};
            } else if constexpr (std::is_same_v<T, Duration>) {
              out.*member = Duration{*parsed};
            } else {
              out.*member = std::move(*parsed);
            }
            return Status::ok();
          }
        }
      },
      p.member);
}

// Fills `out` from `section`: defaults for absent keys, typed conversion with errors naming
// file:line, required keys enforced, ignored keys warned about. Marks the keys it reads as
// used, so the engine can report the others as unknown.
template <class C>
Status bindParams(std::span<const Param<C>> params, const config::Element& section, C& out) {
  for (const Param<C>& p : params) {
    const config::Param* given = section.find(p.name);
    if (given == nullptr && !p.alias.empty()) given = section.find(p.alias);
    if (given != nullptr) given->used = true;
    if (p.flags & kIgnored) {
      if (given != nullptr) config::warnIgnored(given->where, p.name, p.description);
      continue;
    }
    if (given == nullptr || given->special == config::Param::Special::UseDefault) {
      if (p.default_value != nullptr) {
        Status s = assignParam(p, out, p.default_value);
        if (!s) {
          return Status::internal("plugin bug: default of '" + std::string(p.name) +
                                  "' does not parse: " + s.message());
        }
      } else if (p.flags & kRequired) {
        return Status::invalidConfig(section.where.str() + ": <" + section.name +
                                     (section.arg.empty() ? "" : " " + section.arg) +
                                     ">: missing required parameter '" + std::string(p.name) +
                                     "'");
      }
      continue;
    }
    if (given->special == config::Param::Special::Nil) {
      if (p.flags & kRequired) {
        return Status::invalidConfig(given->where.str() + ": parameter '" + std::string(p.name) +
                                     "' is required but set to nil");
      }
      continue;
    }
    Status s = assignParam(p, out, given->value);
    if (!s) {
      std::string shown = (p.flags & kSecret) ? std::string("(secret)") : given->value;
      return Status::invalidConfig(given->where.str() + ": parameter '" + std::string(p.name) +
                                   "': " + s.message());
    }
  }
  return Status::ok();
}

}  // namespace sluice
