// SPDX-License-Identifier: Apache-2.0
#include "engine/standalone.h"

#include "buffer/buffer_config.h"
#include "config/parser.h"
#include "engine/registry.h"

namespace sluice::engine {

StandaloneContext::StandaloneContext(const config::Element& element, MetricsRegistry& metrics, std::string type,
                                     PluginKind kind)
    : element_(element),
      registry_(metrics),
      id_(type + ".test"),
      log_("[" + std::string(pluginKindShortName(kind)) + ":" + type + ":" + id_ + "]"),
      metrics_(metrics, std::string(pluginKindName(kind)), type, id_) {}

int64_t StandaloneContext::flushThreadCount() const { return flushThreadCountOf(element_); }

Result<ParserPtr> StandaloneContext::createParser(const config::Element& section) {
  std::string type = section.get("@type").value_or("");
  const PluginDescriptor* d = Registry::builtin().find(PluginKind::Parser, type);
  if (d == nullptr) return Status::invalidConfig(Registry::builtin().unknownTypeMessage(PluginKind::Parser, type));
  StandaloneContext ctx(section, registry_, type, PluginKind::Parser);
  ctx.setClock(*clock_);
  auto p = d->create(ctx);
  if (!p) return p.takeStatus();
  return ParserPtr(static_cast<Parser*>(p->release()));
}

Result<FormatterPtr> StandaloneContext::createFormatter(const config::Element* section,
                                                       const FormatterDefaults& defaults) {
  if (section == nullptr) {
    empty_sections_.push_back(std::make_unique<config::Element>());
    empty_sections_.back()->name = "format";
    section = empty_sections_.back().get();
  }
  std::string type = section->get("@type").value_or(std::string(defaults.type));
  const PluginDescriptor* d = Registry::builtin().find(PluginKind::Formatter, type);
  if (d == nullptr) return Status::invalidConfig(Registry::builtin().unknownTypeMessage(PluginKind::Formatter, type));
  StandaloneContext ctx(*section, registry_, type, PluginKind::Formatter);
  ctx.setClock(*clock_);
  ctx.formatter_defaults_ = defaults;
  auto f = d->create(ctx);
  if (!f) return f.takeStatus();
  return FormatterPtr(static_cast<Formatter*>(f->release()));
}

Result<PluginContext::Store> StandaloneContext::createStore(const config::Element&) {
  return Status::invalidConfig("<store> needs a pipeline");
}

Result<EventSink*> StandaloneContext::labelSink(std::string_view) {
  return Status::invalidConfig("labels need a pipeline");
}

Result<PluginPtr> StandaloneFactory::make(PluginKind kind, std::string_view type, std::string_view body) {
  std::string text = "<section>\n@type " + std::string(type) + "\n" + std::string(body) + "\n</section>\n";
  auto root = config::parseConfigText(text, "(test)", ".", config::EvalEnvironment{});
  if (!root) return root.takeStatus();
  elements_.push_back(std::make_unique<config::Element>(std::move(root->elements.front())));
  const PluginDescriptor* d = Registry::builtin().find(kind, type);
  if (d == nullptr) return Status::invalidConfig(Registry::builtin().unknownTypeMessage(kind, type));
  contexts_.push_back(std::make_unique<StandaloneContext>(*elements_.back(), metrics_, std::string(type), kind));
  contexts_.back()->setClock(*clock_);
  return d->create(*contexts_.back());
}

}  // namespace sluice::engine
