// SPDX-License-Identifier: Apache-2.0
#include "engine/registry.h"

#include <algorithm>

namespace sluice {

Registry::Registry(std::span<const PluginDescriptor* const> descriptors)
    : all_(descriptors.begin(), descriptors.end()) {
  std::sort(all_.begin(), all_.end(), [](const PluginDescriptor* a, const PluginDescriptor* b) {
    if (a->kind != b->kind) return a->kind < b->kind;
    return a->name < b->name;
  });
}

const Registry& Registry::builtin() {
  static const Registry* registry = new Registry(builtinPlugins());
  return *registry;
}

const PluginDescriptor* Registry::find(PluginKind kind, std::string_view name) const {
  for (const PluginDescriptor* d : all_) {
    if (d->kind != kind) continue;
    if (d->name == name) return d;
    for (std::string_view alias : d->aliases) {
      if (alias == name) return d;
    }
  }
  return nullptr;
}

std::vector<const PluginDescriptor*> Registry::ofKind(PluginKind kind) const {
  std::vector<const PluginDescriptor*> out;
  for (const PluginDescriptor* d : all_) {
    if (d->kind == kind) out.push_back(d);
  }
  return out;
}

std::vector<const PluginDescriptor*> Registry::named(std::string_view name) const {
  std::vector<const PluginDescriptor*> out;
  for (const PluginDescriptor* d : all_) {
    if (d->name == name) out.push_back(d);
  }
  return out;
}

std::string Registry::unknownTypeMessage(PluginKind kind, std::string_view name) const {
  std::string kind_name(pluginKindName(kind));
  std::string msg = "unknown " + kind_name + " plugin '" + std::string(name) + "'";
  std::vector<std::string_view> names;
  for (const PluginDescriptor* d : ofKind(kind)) names.push_back(d->name);
  std::string guess = closestMatch(name, names);
  if (!guess.empty()) msg += " (did you mean '" + guess + "'?)";
  msg += "; known " + kind_name + " plugins: ";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) msg += ", ";
    msg += names[i];
  }
  return msg;
}

namespace {

void appendParamTable(std::string& out, const std::vector<ParamInfo>& params, bool markdown,
                    const std::string& indent) {
  if (markdown) {
    out += "| parameter | type | default | description |\n|---|---|---|---|\n";
  }
  for (const ParamInfo& p : params) {
    std::string type(paramTypeName(p.type));
    if (p.type == ParamType::Enum) {
      std::string choices(p.choices);
      std::replace(choices.begin(), choices.end(), '|', ',');
      type += " (" + choices + ")";
    }
    std::string def = (p.flags & kRequired) ? "required"
                      : p.default_value == nullptr ? "nil"
                      : std::string(p.default_value).empty() ? "\"\""
                                                              : std::string(p.default_value);
    if (def == "\t") def = "\\t";
    std::string desc(p.description);
    if (p.flags & kIgnored) desc = "Ignored (Fluentd compatibility): " + desc;
    if (!p.alias.empty()) desc += " Alias: `" + std::string(p.alias) + "`.";
    if (markdown) {
      for (char& c : desc) {
        if (c == '|') c = '/';
      }
      out += "| `" + std::string(p.name) + "` | " + type + " | `" + def + "` | " + desc + " |\n";
    } else {
      out += indent + std::string(p.name) + "  (" + type + ", default: " + def + ")\n";
      out += indent + "    " + desc + "\n";
    }
  }
}

}  // namespace

std::string Registry::describeParams(const std::vector<ParamInfo>& params, bool markdown) {
  std::string out;
  appendParamTable(out, params, markdown, "  ");
  return out;
}

std::string Registry::describe(const PluginDescriptor& d, bool markdown) {
  std::string out;
  std::string kind(pluginKindName(d.kind));
  if (markdown) {
    out += "#### " + kind + " `" + std::string(d.name) + "`\n\n" + std::string(d.description) + "\n\n";
    if (!d.aliases.empty()) {
      out += "Also known as:";
      for (auto a : d.aliases) out += " `" + std::string(a) + "`";
      out += "\n\n";
    }
    if (!d.params.empty()) appendParamTable(out, d.params, true, "");
    for (const SectionInfo& s : d.sections) {
      out += "\n`<" + std::string(s.name) + ">`: " + std::string(s.description) + "\n\n";
      if (!s.params.empty()) appendParamTable(out, s.params, true, "");
    }
    out += "\n";
    return out;
  }
  out += kind + " plugin '" + std::string(d.name) + "': " + std::string(d.description) + "\n";
  if (!d.aliases.empty()) {
    out += "aliases:";
    for (auto a : d.aliases) out += " " + std::string(a);
    out += "\n";
  }
  out += "\nparameters:\n";
  if (d.params.empty()) out += "  (none)\n";
  appendParamTable(out, d.params, false, "  ");
  for (const SectionInfo& s : d.sections) {
    out += "\n<" + std::string(s.name) + ">: " + std::string(s.description) + "\n";
    appendParamTable(out, s.params, false, "  ");
  }
  return out;
}

size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closestMatch(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (std::string_view c : candidates) {
    size_t d = editDistance(word, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best;
}

}  // namespace sluice
