// SPDX-License-Identifier: Apache-2.0
#pragma once

// Plugin descriptors: everything the engine knows about a plugin type. Each plugin folder
// defines `sluice::plugins::<name>::descriptor()`; the generated plugin list hands them to the
// registry, so the core names no plugin. Part of the plugin API (core/plugin_api.h).

#include <array>
#include <functional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "config/bind.h"
#include "config/params.h"
#include "core/plugin_base.h"
#include "core/plugin_context.h"

namespace sluice {

struct SectionInfo {
  std::string_view name;
  std::string_view description;
  std::vector<ParamInfo> params;
};

struct PluginDescriptor {
  PluginKind kind;
  std::string_view name;
  std::string_view description;
  std::vector<ParamInfo> params;
  std::vector<SectionInfo> sections;
  std::function<Result<PluginPtr>(PluginContext&)> create;
  std::vector<std::string_view> aliases = {};  // other @type names (Fluentd's dummy = sample)
  // What a section needs beyond `@type` and its required parameters for the plugin to build
  // (a <parse> section, a <server>, format1): the conformance test adds it to placeholder
  // values of the required parameters. Empty for most plugins.
  std::string_view needs = {};
  // False for a plugin that only works inside a pipeline (it re-emits events, or routes them
  // to labels or stores); tests build it through pipelines, not alone.
  bool standalone = true;

  PluginDescriptor&& needing(std::string_view body) && {
    needs = body;
    return std::move(*this);
  }
  PluginDescriptor&& inPipelineOnly() && {
    standalone = false;
    return std::move(*this);
  }
};

std::span<const PluginDescriptor* const> builtinPlugins();

// Builds a descriptor for plugin class P with config C. P must provide
// `static Result<std::unique_ptr<P>> create(const C&, PluginContext&)`.
template <class P, class C, size_t N>
PluginDescriptor makeDescriptor(PluginKind kind, std::string_view name,
                                std::string_view description,
                                const std::array<Param<C>, N>& params,
                                std::vector<SectionInfo> sections = {}) {
  PluginDescriptor d;
  d.kind = kind;
  d.name = name;
  d.description = description;
  d.params = describeParams(std::span<const Param<C>>(params));
  d.sections = std::move(sections);
  const std::array<Param<C>, N>* table = &params;
  d.create = [table](PluginContext& ctx) -> Result<PluginPtr> {
    C config{};
    Status s = bindParams(std::span<const Param<C>>(*table), ctx.element(), config);
    if (!s) return s;
    auto plugin = P::create(config, ctx);
    if (!plugin) return plugin.takeStatus();
    return PluginPtr(std::move(*plugin));
  };
  return d;
}

}  // namespace sluice
