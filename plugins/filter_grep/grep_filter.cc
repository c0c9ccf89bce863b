// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_grep/grep_filter.h"

#include <algorithm>

namespace sluice::plugins::filter_grep {
namespace {

using C = GrepConfig;
const std::array<Param<C>, 40> kParams = {{
    {"regexp1", &GrepConfig::regexp1, nullptr, "Fluentd v0.12 form of <regexp> (deprecated there): `KEY REGEXP`, split at the first space."},
    {"regexp2", &GrepConfig::regexp2, nullptr, "As regexp1."},
    {"regexp3", &GrepConfig::regexp3, nullptr, "As regexp1."},
    {"regexp4", &GrepConfig::regexp4, nullptr, "As regexp1."},
    {"regexp5", &GrepConfig::regexp5, nullptr, "As regexp1."},
    {"regexp6", &GrepConfig::regexp6, nullptr, "As regexp1."},
    {"regexp7", &GrepConfig::regexp7, nullptr, "As regexp1."},
    {"regexp8", &GrepConfig::regexp8, nullptr, "As regexp1."},
    {"regexp9", &GrepConfig::regexp9, nullptr, "As regexp1."},
    {"regexp10", &GrepConfig::regexp10, nullptr, "As regexp1."},
    {"regexp11", &GrepConfig::regexp11, nullptr, "As regexp1."},
    {"regexp12", &GrepConfig::regexp12, nullptr, "As regexp1."},
    {"regexp13", &GrepConfig::regexp13, nullptr, "As regexp1."},
    {"regexp14", &GrepConfig::regexp14, nullptr, "As regexp1."},
    {"regexp15", &GrepConfig::regexp15, nullptr, "As regexp1."},
    {"regexp16", &GrepConfig::regexp16, nullptr, "As regexp1."},
    {"regexp17", &GrepConfig::regexp17, nullptr, "As regexp1."},
    {"regexp18", &GrepConfig::regexp18, nullptr, "As regexp1."},
    {"regexp19", &GrepConfig::regexp19, nullptr, "As regexp1."},
    {"regexp20", &GrepConfig::regexp20, nullptr, "As regexp1."},
    {"exclude1", &GrepConfig::exclude1, nullptr, "Fluentd v0.12 form of <exclude> (deprecated there): `KEY REGEXP`, split at the first space."},
    {"exclude2", &GrepConfig::exclude2, nullptr, "As exclude1."},
    {"exclude3", &GrepConfig::exclude3, nullptr, "As exclude1."},
    {"exclude4", &GrepConfig::exclude4, nullptr, "As exclude1."},
    {"exclude5", &GrepConfig::exclude5, nullptr, "As exclude1."},
    {"exclude6", &GrepConfig::exclude6, nullptr, "As exclude1."},
    {"exclude7", &GrepConfig::exclude7, nullptr, "As exclude1."},
    {"exclude8", &GrepConfig::exclude8, nullptr, "As exclude1."},
    {"exclude9", &GrepConfig::exclude9, nullptr, "As exclude1."},
    {"exclude10", &GrepConfig::exclude10, nullptr, "As exclude1."},
    {"exclude11", &GrepConfig::exclude11, nullptr, "As exclude1."},
    {"exclude12", &GrepConfig::exclude12, nullptr, "As exclude1."},
    {"exclude13", &GrepConfig::exclude13, nullptr, "As exclude1."},
    {"exclude14", &GrepConfig::exclude14, nullptr, "As exclude1."},
    {"exclude15", &GrepConfig::exclude15, nullptr, "As exclude1."},
    {"exclude16", &GrepConfig::exclude16, nullptr, "As exclude1."},
    {"exclude17", &GrepConfig::exclude17, nullptr, "As exclude1."},
    {"exclude18", &GrepConfig::exclude18, nullptr, "As exclude1."},
    {"exclude19", &GrepConfig::exclude19, nullptr, "As exclude1."},
    {"exclude20", &GrepConfig::exclude20, nullptr, "As exclude1."},
}};
constexpr std::array<std::optional<std::string> C::*, 20> kRegexpN = {
    &C::regexp1, &C::regexp2, &C::regexp3, &C::regexp4, &C::regexp5, &C::regexp6, &C::regexp7, &C::regexp8, &C::regexp9, &C::regexp10, &C::regexp11, &C::regexp12, &C::regexp13, &C::regexp14, &C::regexp15, &C::regexp16, &C::regexp17, &C::regexp18, &C::regexp19, &C::regexp20};
constexpr std::array<std::optional<std::string> C::*, 20> kExcludeN = {
    &C::exclude1, &C::exclude2, &C::exclude3, &C::exclude4, &C::exclude5, &C::exclude6, &C::exclude7, &C::exclude8, &C::exclude9, &C::exclude10, &C::exclude11, &C::exclude12, &C::exclude13, &C::exclude14, &C::exclude15, &C::exclude16, &C::exclude17, &C::exclude18, &C::exclude19, &C::exclude20};
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

// regexpN / excludeN: each "KEY REGEXP" (split at the first space, as Fluentd does) one rule;
// a key given twice in one kind is an error, as in Fluentd.
Status addNumberedRules(const GrepConfig& config, std::string_view kind,
                        const std::array<std::optional<std::string> C::*, 20>& fields, PluginContext& ctx,
                        std::vector<GrepFilter::Group>& groups) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::optional<std::string>& v = config.*fields[i];
    if (!v) continue;
    const std::string name = std::string(kind) + std::to_string(i + 1);
    const std::string where = ctx.element().where.str() + ": " + name + ": ";
    size_t space = v->find(' ');
    if (space == std::string::npos || space + 1 == v->size()) {
      return Status::invalidConfig(where + "needs two parameters, a key and a regexp (\"message error\")");
    }
    std::string key = v->substr(0, space);
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
      return Status::invalidConfig(where + "the key '" + key + "' is given twice among the " + std::string(kind) + "N");
    }
    keys.push_back(key);
    auto path = FieldPath::parse(key);
    if (!path) return path.status().withPrefix(where);
    auto re = compileRubyRegex(v->substr(space + 1));
    if (!re) return re.status().withPrefix(where);
    ctx.log().warn("'" + name + "' is deprecated (as in Fluentd): use a <" + std::string(kind) + "> section");
    groups.push_back(GrepFilter::Group{true, {GrepFilter::Rule{std::move(*path), std::shared_ptr<const RE2>(std::move(*re))}}});
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<GrepFilter>> GrepFilter::create(const GrepConfig& config, PluginContext& ctx) {
  std::vector<Group> keep, drop;
  if (Status s = addNumberedRules(config, "regexp", kRegexpN, ctx, keep); !s) return s;
  if (Status s = addNumberedRules(config, "exclude", kExcludeN, ctx, drop); !s) return s;
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
