// SPDX-License-Identifier: Apache-2.0
// Building a pipeline from a configuration tree, on the main thread (at start-up and for each
// reload, while the old pipeline still runs): <worker> sections flattened, labels created first
// (so relabel and @label can point forward), then the root's and each label's filters and
// matches in order, then sources; each plugin created through its descriptor (instantiate),
// outputs wrapped in an OutputStage with their <buffer> and <secondary>. Unknown keys are
// reported here (checkUnused). <system> and the monitoring sources: engine/pipeline_system.cc.
#include <algorithm>

#include "engine/build_messages.h"
#include "engine/context.h"
#include "engine/monitor_sources.h"
#include "engine/pipeline.h"

namespace sluice::engine {

Result<PluginPtr> Pipeline::instantiate(PluginKind kind, const config::Element& element,
                                        const std::string& default_type,
                                        Instance** out_instance,
                                        const FormatterDefaults* formatter_defaults) {
  std::string type = element.get("@type").value_or(default_type);
  if (type.empty()) {
    return Status::invalidConfig(element.where.str() + ": " + sectionHeader(element) +
                                 " has no @type (the " + std::string(pluginKindName(kind)) +
                                 " plugin to use)");
  }
  const PluginDescriptor* d = registry_.find(kind, type);
  if (d == nullptr) {
    return Status::invalidConfig(element.where.str() + ": " + sectionHeader(element) + ": " +
                                 registry_.unknownTypeMessage(kind, type));
  }
  std::string id = element.get("@id").value_or("");
  if (id.empty()) {
    // Formatters count apart: a json formatter does not renumber the json parsers.
    std::string counted = (kind == PluginKind::Formatter ? "formatter:" : "") + std::string(d->name);
    id = std::string(d->name) + "." + std::to_string(type_counts_[counted]++);
  } else {
    for (const Instance& other : instances_) {
      if (other.id == id) {
        return Status::invalidConfig(element.where.str() + ": duplicate @id '" + id + "'");
      }
    }
  }
  element.get("@log_level");
  instances_.push_back(Instance{kind, std::string(d->name), id, &element,
                                SourceLogger("[" + std::string(pluginKindShortName(kind)) + ":" +
                                             std::string(d->name) + ":" + id + "]"),
                                std::make_unique<PluginMetrics>(metrics_, std::string(pluginKindName(kind)),
                                                                std::string(d->name), id)});
  Instance& inst = instances_.back();
  if (out_instance) *out_instance = &inst;
  ContextImpl ctx(*this, inst, element, formatter_defaults);
  auto plugin = d->create(ctx);
  if (!plugin) {
    const std::string& m = plugin.status().message();
    const std::string& file = element.where.file ? *element.where.file : std::string();
    if (!file.empty() && m.starts_with(file)) return plugin.takeStatus();
    return plugin.status().withPrefix(element.where.str() + ": " + sectionHeader(element) + " (@type " +
                                      type + "): ");
  }
  Status s = checkUnused(*d, element);
  if (!s) return s;
  return plugin;
}

Status Pipeline::checkUnused(const PluginDescriptor& d, const config::Element& element) {
  Status first;
  auto checkParams = [&](const config::Element& section, const std::vector<ParamInfo>& params) {
    std::vector<std::string_view> names;
    for (const ParamInfo& p : params) {
      names.push_back(p.name);
      if (!p.alias.empty()) names.push_back(p.alias);
    }
    for (const config::Param& p : section.params) {
      if (p.used || p.key == "@type" || p.key == "@id" || p.key == "@log_level" ||
          (p.key == "@label" && section.name == "source")) {
        continue;
      }
      if (std::find(names.begin(), names.end(), p.key) != names.end()) continue;
      std::string guess = closestMatch(p.key, names);
      warnOrFail(options_.strict, first,
                 p.where.str() + ": unknown parameter '" + p.key + "' in " + sectionHeader(section) +
                     " (@type " + std::string(d.name) + ")" +
                     (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    }
  };
  checkParams(element, d.params);
  for (const config::Element& sub : element.elements) {
    auto it = std::find_if(d.sections.begin(), d.sections.end(),
                           [&](const SectionInfo& s) { return s.name == sub.name; });
    if (it != d.sections.end()) {
      if (!it->params.empty()) checkParams(sub, it->params);
      continue;
    }
    if (d.kind == PluginKind::Output && (sub.name == "buffer" || sub.name == "secondary")) continue;
    std::vector<std::string_view> names;
    for (const SectionInfo& s : d.sections) names.push_back(s.name);
    std::string guess = closestMatch(sub.name, names);
    warnOrFail(options_.strict, first,
               sub.where.str() + ": unknown section <" + sub.name + "> in " + sectionHeader(element) +
                   " (@type " + std::string(d.name) + ")" +
                   (guess.empty() ? "" : "; did you mean <" + guess + ">?"));
  }
  return first;
}

Result<OutputStage*> Pipeline::buildOutput(const config::Element& element) {
  Instance* inst = nullptr;
  auto plugin = instantiate(PluginKind::Output, element, "", &inst);
  if (!plugin) return plugin.takeStatus();
  Output* output = static_cast<Output*>(plugin->get());
  std::unique_ptr<buffer::Buffer> buf;
  Output* secondary = nullptr;
  for (const config::Element& sub : element.elements) {
    if (sub.name == "secondary") {
      if (output->asSink() != nullptr) {
        return Status::invalidConfig(sub.where.str() + ": <secondary> needs an output that sends, not a routing one");
      }
      Instance* sec_inst = nullptr;
      auto sec = instantiate(PluginKind::Output, sub, "", &sec_inst);
      if (!sec) return sec.takeStatus();
      secondary = static_cast<Output*>(sec->get());
      plugins_.push_back(std::move(*sec));
    }
  }
  for (const config::Element& sub : element.elements) {
    if (sub.name != "buffer") continue;
    BufferConfig bc;
    Status s = bindParams(std::span<const Param<BufferConfig>>(bufferParams()), sub, bc);
    if (!s) return s;
    Status unused;
    for (const config::Param& p : sub.params) {
      if (p.used) continue;
      std::vector<std::string_view> names;
      for (const auto& bp : bufferParams()) names.push_back(bp.name);
      std::string guess = closestMatch(p.key, names);
      warnOrFail(options_.strict, unused,
                 p.where.str() + ": unknown parameter '" + p.key + "' in <buffer>" +
                     (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    }
    if (!unused) return unused;
    if (output->asSink() != nullptr) {
      inst->log.warn(sub.where.str() + ": <buffer> has no effect on @type " + inst->type + " (it routes events)");
      continue;
    }
    auto keys = buffer::parseChunkKeys(sub.arg, bc);
    if (!keys) return keys.status().withPrefix(sub.where.str() + ": ");
    if (bc.type == BufferType::File && !bc.path) {
      return Status::invalidConfig(sub.where.str() + ": <buffer> @type file needs a path");
    }
    buffer::Buffer::Options opts;
    opts.config = bc;
    opts.keys = std::move(*keys);
    opts.output_id = inst->id;
    // Events that fail for good always have a place `sluice replay` can take them from.
    opts.dead_letter_dir = bc.dead_letter_path.value_or(bc.type == BufferType::File ? *bc.path + "/dead-letter"
                                                                         : root_dir_ + "/dead-letter");
    opts.sync = bc.fsync;
    buf = std::make_unique<buffer::Buffer>(std::move(opts), *output, secondary, *inst->metrics, inst->log);
  }
  if (secondary != nullptr && !buf) {
    inst->log.warn(element.where.str() + ": <secondary> is used only with a <buffer>");
  }
  output_stages_.push_back(std::make_unique<OutputStage>(output, inst));
  output_stages_.back()->setBuffer(std::move(buf), secondary);
  plugins_.push_back(std::move(*plugin));
  return output_stages_.back().get();
}

Status Pipeline::buildAgentBody(Agent& agent, const config::Element& section) {
  struct Building {
    explicit Building(Agent* a) { t_building_agent = a; }
    ~Building() { t_building_agent = nullptr; }
  } building(&agent);
  for (const config::Element& e : section.elements) {
    if (e.name == "filter") {
      auto pattern = TagPattern::compile(e.arg);
      if (!pattern) return pattern.status().withPrefix(e.where.str() + ": ");
      Instance* inst = nullptr;
      auto plugin = instantiate(PluginKind::Filter, e, "", &inst);
      if (!plugin) return plugin.takeStatus();
      PluginMetrics& m = *inst->metrics;
      filter_stages_.push_back(FilterStage{
          static_cast<Filter*>(plugin->get()), inst,
          &m.counter("received_records_total", "Events into the filter."),
          &m.counter("sent_records_total", "Events out of the filter."),
          &m.counter("discarded_records_total", "Events the filter dropped.", {{"intentional", "true"}})});
      plugins_.push_back(std::move(*plugin));
      agent.add(Agent::Entry{true, std::move(*pattern), &filter_stages_.back(), nullptr});
    } else if (e.name == "match") {
      auto pattern = TagPattern::compile(e.arg);
      if (!pattern) return pattern.status().withPrefix(e.where.str() + ": ");
      auto stage = buildOutput(e);
      if (!stage) return stage.takeStatus();
      (*stage)->setMatched();
      agent.add(Agent::Entry{false, std::move(*pattern), nullptr, *stage});
    } else if (e.name == "source" || e.name == "label" || e.name == "system" || e.name == "worker") {
      if (&agent != root_.get()) {
        return Status::invalidConfig(e.where.str() + ": <" + e.name + "> is not allowed inside <label>");
      }
    } else {
      return Status::invalidConfig(e.where.str() + ": unknown directive <" + e.name +
                                   "> (expected <source>, <filter>, <match>, <label>, <system> "
                                   "or <worker>)");
    }
  }
  return Status::ok();
}

Status Pipeline::buildAll(const config::Element& original_root) {
  // <worker N> sections: sluice is one process, so their directives load as top-level ones.
  config::Element root = original_root;
  {
    std::vector<config::Element> flat;
    for (config::Element& e : root.elements) {
      if (e.name == "worker") {
        Logger::global().log(LogLevel::Warn, "[config]",
                             e.where.str() + ": <worker " + e.arg +
                                 ">: sluice runs one process; the section's directives are "
                                 "loaded as top-level ones");
        for (config::Element& inner : e.elements) flat.push_back(std::move(inner));
      } else {
        flat.push_back(std::move(e));
      }
    }
    root.elements = std::move(flat);
  }
  // Keep the flattened tree alive: plugins' elements point into it.
  owned_root_ = std::make_unique<config::Element>(std::move(root));
  const config::Element& top = *owned_root_;
  Status first;
  for (const config::Param& p : top.params) {
    warnOrFail(options_.strict, first,
               p.where.str() + ": unknown top-level parameter '" + p.key + "'");
  }
  if (!first) return first;
  for (const config::Element& e : top.elements) {
    if (e.name == "system") {
      Status s = applySystem(e);
      if (!s) return s;
    }
  }
  root_ = std::make_unique<Agent>(*this, "root");
  for (const config::Element& e : top.elements) {
    if (e.name != "label") continue;
    if (e.arg.empty()) return Status::invalidConfig(e.where.str() + ": <label> needs a name, like <label @NAME>");
    if (labels_.count(e.arg)) return Status::invalidConfig(e.where.str() + ": label " + e.arg + " is defined twice");
    labels_.emplace(e.arg, std::make_unique<Agent>(*this, e.arg));
    label_order_.push_back(e.arg);
  }
  Status s = buildAgentBody(*root_, top);
  if (!s) return s;
  for (const config::Element& e : top.elements) {
    if (e.name != "label") continue;
    s = buildAgentBody(*labels_.at(e.arg), e);
    if (!s) return s;
  }
  for (const config::Element& e : top.elements) {
    if (e.name != "source" || without_source_) continue;
    if (const config::Param* t = e.find("@type"); t && findMonitorSource(t->value) != nullptr) {
      Status ms = addMonitorSource(e, t->value);
      if (!ms) return ms;
      continue;
    }
    Agent* target = root_.get();
    if (auto label = e.get("@label")) {
      auto it = labels_.find(*label);
      if (it == labels_.end()) {
        return Status::invalidConfig(e.where.str() + ": @label " + *label + " is not defined");
      }
      target = it->second.get();
    }
    Instance* inst = nullptr;
    auto plugin = instantiate(PluginKind::Input, e, "", &inst);
    if (!plugin) return plugin.takeStatus();
    input_stages_.push_back(InputStage{});
    InputStage& stage = input_stages_.back();
    stage.input = static_cast<Input*>(plugin->get());
    stage.instance = inst;
    stage.target = target;
    stage.received = &inst->metrics->counter("received_records_total", "Events read by the input.");
    plugins_.push_back(std::move(*plugin));
  }
  return Status::ok();
}

}  // namespace sluice::engine
