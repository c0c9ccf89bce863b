// SPDX-License-Identifier: Apache-2.0
// The plugins' context while the pipeline creates them (main thread): see engine/context.h.
#include "engine/context.h"

#include "buffer/buffer_config.h"

namespace sluice::engine {

thread_local Agent* t_building_agent = nullptr;

int64_t ContextImpl::flushThreadCount() const { return flushThreadCountOf(element_); }

Result<ParserPtr> ContextImpl::createParser(const config::Element& section) {
  Instance* child = nullptr;
  auto plugin = pipeline_.instantiate(PluginKind::Parser, section, "", &child);
  if (!plugin) return plugin.takeStatus();
  child->log = SourceLogger(child->log.source());
  return ParserPtr(static_cast<Parser*>(plugin->release()));
}

Result<FormatterPtr> ContextImpl::createFormatter(const config::Element* section,
                                                  const FormatterDefaults& defaults) {
  if (section == nullptr) {
    // No <format>: the output's default formatter, built from an empty section of its own.
    config::Element& empty = pipeline_.synthetic_sections_.emplace_back();
    empty.name = "format";
    empty.where = element_.where;
    section = &empty;
  }
  Instance* child = nullptr;
  auto plugin = pipeline_.instantiate(PluginKind::Formatter, *section, std::string(defaults.type), &child, &defaults);
  if (!plugin) return plugin.takeStatus();
  return FormatterPtr(static_cast<Formatter*>(plugin->release()));
}

Result<PluginContext::Store> ContextImpl::createStore(const config::Element& section) {
  auto stage = pipeline_.buildOutput(section);
  if (!stage) return stage.takeStatus();
  stores_.push_back((*stage)->instance()->id);
  return Store{*stage, (*stage)->output()->asSink() != nullptr};
}

Result<EventSink*> ContextImpl::labelSink(std::string_view name) {
  // "" is the root or <label> whose section holds the plugin: Fluentd's `router`, where
  // outputs that re-emit (rewrite_tag_filter, detect_exceptions) send their events.
  if (name.empty()) {
    if (t_building_agent == nullptr) {
      return Status::invalidConfig(element_.where.str() + ": this section cannot re-emit events");
    }
    instance_.routes_to.emplace_back(t_building_agent->name());
    return static_cast<EventSink*>(t_building_agent);
  }
  auto it = pipeline_.labels_.find(std::string(name));
  if (it == pipeline_.labels_.end()) {
    std::string known;
    for (const auto& l : pipeline_.label_order_) known += (known.empty() ? "" : ", ") + l;
    return Status::invalidConfig(element_.where.str() + ": label '" + std::string(name) +
                                 "' is not defined" +
                                 (known.empty() ? std::string(" (no <label> sections)")
                                                : " (defined: " + known + ")"));
  }
  instance_.routes_to.emplace_back(name);
  return static_cast<EventSink*>(it->second.get());
}

}  // namespace sluice::engine
