// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_grep/grep_filter.h"

namespace sluice::plugins::filter_grep {
namespace {

const std::array<Param<GrepConfig>, 0> kParams = {};
const std::array<Param<RuleConfig>, 2> kRuleParams = {{
    {"key", &RuleConfig::key, nullptr, "Field to test (record_accessor syntax such as $.a.b allowed).", {}, kRequired},
    {"pattern", &RuleConfig::pattern, nullptr, "Regexp (Ruby syntax, /…/ or bare), unanchored.", {}, kRequired | kRegexp},
}};

Result<GrepFilter::Rule> buildRule(const config::Element& section, PluginContext& ctx) {
  RuleConfig rc;
  Status s = ctx.bind(std::span<const Param<RuleConfig>>(kRuleParams), section, rc);
  if (!s) return s;
  auto key = FieldPath::parse(rc.key);
  if (!key) return key.status().withPrefix(section.where.str() + ": ");
  auto re = compileRubyRegex(rc.pattern);
  if (!re) return re.status().withPrefix(section.where.str() + ": ");
  return GrepFilter::Rule{std::move(*key), std::shared_ptr<const RE2>(std::move(*re))};
}

}  // namespace

Result<std::unique_ptr<GrepFilter>> GrepFilter::create(const GrepConfig& config, PluginContext& ctx) {
  std::vector<Group> keep, drop;
  // Top level: each <regexp> must match (one group each); any <exclude> drops.
  for (const config::Element& e : ctx.element().elements) {
    if (e.name == "regexp" || e.name == "exclude") {
      auto rule = buildRule(e, ctx);
      if (!rule) return rule.takeStatus();
      (e.name == "regexp" ? keep : drop).push_back(Group{true, {std::move(*rule)}});
    } else if (e.name == "and" || e.name == "or") {
      Group regexps{e.name == "and", {}}, excludes{e.name == "and", {}};
      for (const config::Element& inner : e.elements) {
        if (inner.name != "regexp" && inner.name != "exclude") {
          return Status::invalidConfig(inner.where.str() + ": <" + e.name + "> may hold only <regexp> and <exclude>, not <" + inner.name + ">");
        }
        auto rule = buildRule(inner, ctx);
        if (!rule) return rule.takeStatus();
        (inner.name == "regexp" ? regexps : excludes).rules.push_back(std::move(*rule));
      }
      if (!regexps.rules.empty() && !excludes.rules.empty()) {
        return Status::invalidConfig(e.where.str() + ": <" + e.name + "> mixes <regexp> and <exclude>; use one kind per group");
      }
      if (!regexps.rules.empty()) keep.push_back(std::move(regexps));
      if (!excludes.rules.empty()) drop.push_back(std::move(excludes));
    }
  }
  return std::unique_ptr<GrepFilter>(new GrepFilter(std::move(keep), std::move(drop), ctx));
}

bool GrepFilter::matches(const Rule& rule, const Value& record, std::string& scratch) {
  const Value* v = rule.key.find(record);
  if (v == nullptr) return false;
  if (v->isString()) return RE2::PartialMatch(v->asString(), *rule.re);
  scratch.clear();
  if (!v->isNull()) appendJson(scratch, *v);  // Ruby's nil.to_s is ""
  return RE2::PartialMatch(scratch, *rule.re);
}

bool GrepFilter::groupMatches(const Group& g, const Value& record, std::string& scratch) {
  for (const Rule& r : g.rules) {
    bool m = matches(r, record, scratch);
    if (g.all && !m) return false;
    if (!g.all && m) return true;
  }
  return g.all;
}

void GrepFilter::process(Batch& batch) {
  std::string scratch;  // reused for non-string values within the batch
  batch.eraseIf([&](const Event& e) {
    for (const Group& g : keep_) {
      if (!groupMatches(g, e.record, scratch)) return true;
    }
    for (const Group& g : drop_) {
      if (groupMatches(g, e.record, scratch)) return true;
    }
    return false;
  });
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<GrepFilter>(
      PluginKind::Filter, "grep", "Keeps or drops records by matching fields against regexps.", kParams,
      {{"regexp", "Keep records whose key matches pattern (all <regexp>s must match).",
        describeParams(std::span<const Param<RuleConfig>>(kRuleParams))},
       {"exclude", "Drop records whose key matches pattern (any <exclude>).",
        describeParams(std::span<const Param<RuleConfig>>(kRuleParams))},
       {"and", "A group of <regexp>s (all must match) or <exclude>s (drop if all match).", {}},
       {"or", "A group of <regexp>s (one must match) or <exclude>s (drop if one matches).", {}}});
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_grep
