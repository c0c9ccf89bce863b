// SPDX-License-Identifier: Apache-2.0
#include "cli/quick.h"

#include "core/descriptor.h"

namespace sluice::cli {
namespace {

config::Element section(std::string name, std::string arg) {
  config::Element e;
  e.name = std::move(name);
  e.arg = std::move(arg);
  e.where = config::Location{std::make_shared<const std::string>("(command line)"), 0};
  return e;
}

// The child section `name` of `e`, made if absent.
config::Element& childSection(config::Element& e, const std::string& name) {
  for (config::Element& c : e.elements) {
    if (c.name == name) return c;
  }
  e.elements.push_back(section(name, ""));
  return e.elements.back();
}

// Whether plugin `type` declares a section `name` whose parameters include key and pattern
// (grep's <regexp> and <exclude>): what -s NAME=KEY:PATTERN fills.
bool takesKeyPatternSection(std::string_view type, std::string_view name) {
  for (const PluginDescriptor* d : builtinPlugins()) {
    if (d->name != type) continue;
    for (const SectionInfo& s : d->sections) {
      if (s.name != name) continue;
      bool key = false, pattern = false;
      for (const ParamInfo& p : s.params) {
        key = key || p.name == "key";
        pattern = pattern || p.name == "pattern";
      }
      if (key && pattern) return true;
    }
  }
  return false;
}

// -s KEY=VALUE sets a parameter; -s SECTION.KEY=VALUE one of the section <SECTION> (format,
// record, parse, buffer…); -s SECTION=KEY:PATTERN adds one <SECTION> rule with key and
// pattern where the plugin declares such a section (a pattern may hold ':').
void applyParams(config::Element& e, const QuickSpec::Plugin& p) {
  for (const auto& [k, v] : p.params) {
    size_t colon = v.find(':');
    if (colon != std::string::npos && colon > 0 && takesKeyPatternSection(p.type, k)) {
      config::Element rule = section(k, "");
      rule.set("key", v.substr(0, colon));
      rule.set("pattern", v.substr(colon + 1));
      e.elements.push_back(std::move(rule));
      continue;
    }
    size_t dot = k.find('.');
    if (dot != std::string::npos && dot > 0 && dot + 1 < k.size()) {
      childSection(e, k.substr(0, dot)).set(k.substr(dot + 1), v);
    } else {
      e.set(k, v);
    }
  }
}

}  // namespace

config::Element quickConfig(const QuickSpec& spec) {
  config::Element root = section("ROOT", "");
  // A pipe in development serves no monitor (several may run at once).
  config::Element system = section("system", "");
  config::Element monitor = section("monitor", "");
  monitor.set("enable", "false");
  system.elements.push_back(std::move(monitor));
  root.elements.push_back(std::move(system));
  config::Element source = section("source", "");
  source.set("@type", "stdin");
  source.set("tag", "stdin");
  config::Element parse = section("parse", "");
  parse.set("@type", spec.parser.empty() ? "auto" : spec.parser);
  QuickSpec::Plugin parse_params = spec.parse_params;
  parse_params.type = spec.parser;
  applyParams(parse, parse_params);
  source.elements.push_back(std::move(parse));
  root.elements.push_back(std::move(source));
  for (const QuickSpec::Plugin& f : spec.filters) {
    config::Element filter = section("filter", "**");
    filter.set("@type", f.type);
    applyParams(filter, f);
    root.elements.push_back(std::move(filter));
  }
  config::Element match = section("match", "**");
  std::string out = spec.output.type.empty() ? "stdout" : spec.output.type;
  match.set("@type", out);
  bool has_format = false;
  for (const auto& [k, v] : spec.output.params) {
    if (k.starts_with("format.")) has_format = true;
  }
  if (out == "stdout" && !has_format) {
    config::Element format = section("format", "");
    format.set("@type", spec.stdout_is_tty ? "pretty" : "json");
    match.elements.push_back(std::move(format));
  }
  QuickSpec::Plugin output = spec.output;
  output.type = out;
  applyParams(match, output);
  root.elements.push_back(std::move(match));
  return root;
}

}  // namespace sluice::cli
