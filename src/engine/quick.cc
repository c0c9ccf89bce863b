// SPDX-License-Identifier: Apache-2.0
#include "engine/quick.h"

namespace sluice::engine {
namespace {

config::Element section(std::string name, std::string arg) {
  config::Element e;
  e.name = std::move(name);
  e.arg = std::move(arg);
  e.where = config::Location{std::make_shared<const std::string>("(command line)"), 0};
  return e;
}

void applyParams(config::Element& e, const QuickSpec::Plugin& p) {
  for (const auto& [k, v] : p.params) e.set(k, v);
}

}  // namespace

config::Element quickConfig(const QuickSpec& spec) {
  config::Element root = section("ROOT", "");
  config::Element source = section("source", "");
  source.set("@type", "stdin");
  source.set("tag", "stdin");
  config::Element parse = section("parse", "");
  parse.set("@type", spec.parser.empty() ? "auto" : spec.parser);
  applyParams(parse, spec.parse_params);
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
  // `-s format.KEY=VALUE` sets a parameter of the output's <format>.
  for (const auto& [k, v] : spec.output.params) {
    if (k.starts_with("format.")) {
      if (match.children("format").empty()) match.elements.push_back(section("format", ""));
      match.elements.front().set(k.substr(7), v);
    } else {
      match.set(k, v);
    }
  }
  root.elements.push_back(std::move(match));
  return root;
}

}  // namespace sluice::engine
