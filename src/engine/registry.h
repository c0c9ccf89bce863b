// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/descriptor.h"

namespace sluice {

// The plugin types this build knows, by kind and name. Immutable after construction.
class Registry {
 public:
  explicit Registry(std::span<const PluginDescriptor* const> descriptors);
  static const Registry& builtin();

  const PluginDescriptor* find(PluginKind kind, std::string_view name) const;
  std::vector<const PluginDescriptor*> ofKind(PluginKind kind) const;
  std::vector<const PluginDescriptor*> named(std::string_view name) const;
  const std::vector<const PluginDescriptor*>& all() const { return all_; }

  // "unknown output plugin 'x'; known output plugins: a, b, c"
  std::string unknownTypeMessage(PluginKind kind, std::string_view name) const;

  // Parameter reference as text (`--describe`) or markdown (README).
  static std::string describe(const PluginDescriptor& d, bool markdown);
  // A bare parameter table (the <buffer> section).
  static std::string describeParams(const std::vector<ParamInfo>& params, bool markdown);

 private:
  std::vector<const PluginDescriptor*> all_;
};

// Levenshtein distance, for "did you mean".
size_t editDistance(std::string_view a, std::string_view b);
// The closest candidate within a small distance, or "".
std::string closestMatch(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace sluice
