// SPDX-License-Identifier: Apache-2.0
// The tail's <group> rules (declared in tail_group.h).

#include "plugins/in_tail/tail_group.h"

#include <algorithm>
#include <array>

namespace sluice::plugins::in_tail {
namespace {

// Fluentd's default: a Kubernetes container log link, /var/log/containers/<pod>_<ns>_<container>-<id>.log.
constexpr const char* kDefaultPattern =
    R"(/^\/var\/log\/containers\/(?<podname>[a-z0-9]([-a-z0-9]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)_(?<namespace>[^_]+)_(?<container>.+)-(?<docker_id>[a-z0-9]{64})\.log$/)";

using G = GroupConfig;
const std::array<Param<G>, 2> kGroupParams = {{
    {"pattern", &G::pattern, kDefaultPattern, "Regexp with named captures taken from each file's path; rules match on them. The default takes podname, namespace, container and docker_id from a /var/log/containers link.", {}, kRegexp},
    {"rate_period", &G::rate_period, "5", "The period each rule's limit counts lines in (Fluentd's code default; its documentation says 60)."},
}};

using R = GroupRuleConfig;
const std::array<Param<R>, 2> kRuleParams = {{
    {"match", &R::match, "", "Named captures of pattern and the regexps their values must match, as a hash: `{\"namespace\": \"/shopping/\", \"podname\": \"/frontend/\"}`. Without it the rule sets the limit of the default group (files no other rule takes)."},
    {"limit", &R::limit, "-1", "Lines read per rate_period from all files of the rule's group together (each file at most an equal share); the rest waits in the files. -1: no limit; 0: nothing is read."},
}};

}  // namespace

std::span<const Param<GroupConfig>> groupParams() { return kGroupParams; }
std::span<const Param<GroupRuleConfig>> groupRuleParams() { return kRuleParams; }

Result<std::unique_ptr<GroupRules>> GroupRules::create(const config::Element& group) {
  GroupConfig gc;
  if (Status s = bindParams(groupParams(), group, gc); !s) return s;
  auto pattern = compileRubyRegex(gc.pattern);
  if (!pattern) return Status::invalidConfig(group.where.str() + ": <group> pattern: " + pattern.status().message());
  if (gc.rate_period.nanos() <= 0) return Status::invalidConfig(group.where.str() + ": <group> rate_period must be positive");
  std::unique_ptr<GroupRules> rules(new GroupRules());
  rules->pattern_ = std::move(*pattern);
  rules->rate_period_ns_ = gc.rate_period.nanos();
  rules->limits_.push_back(-1);
  rules->names_.push_back("default");
  bool have_default = false;
  const auto& captures = rules->pattern_->NamedCapturingGroups();
  std::string capture_names;
  for (const auto& [name, index] : captures) capture_names += (capture_names.empty() ? "" : ", ") + name;
  auto sections = group.children("rule");
  if (sections.empty()) return Status::invalidConfig(group.where.str() + ": <group> needs at least one <rule>");
  for (const config::Element* e : sections) {
    for (const config::Param& p : e->params) {
      if (p.key != "match" && p.key != "limit") {
        return Status::invalidConfig(p.where.str() + ": unknown parameter '" + p.key + "' in <rule> (match, limit)");
      }
    }
    GroupRuleConfig rc;
    if (Status s = bindParams(groupRuleParams(), *e, rc); !s) return s;
    if (rc.limit < -1) {
      return Status::invalidConfig(e->where.str() + ": <rule> limit must be -1 (no limit) or more, not " +
                                   std::to_string(rc.limit));
    }
    if (rc.match.empty()) {
      if (!have_default) rules->limits_[0] = rc.limit;  // the first one counts, as in Fluentd
      have_default = true;
      continue;
    }
    Rule rule;
    std::string name;
    for (const auto& [key, value] : rc.match) {
      auto it = captures.find(key);
      if (it == captures.end()) {
        return Status::invalidConfig(e->where.str() + ": <rule> match key '" + key +
                                     "' is not a named capture of the <group> pattern (" + capture_names + ")");
      }
      auto re = compileRubyRegex(value);
      if (!re) return Status::invalidConfig(e->where.str() + ": <rule> match '" + key + "': " + re.status().message());
      rule.match.emplace_back(it->second, std::move(*re));
      name += (name.empty() ? "" : " ") + key + "=" + value;
    }
    rule.group = rules->limits_.size();
    rules->limits_.push_back(rc.limit);
    rules->names_.push_back(std::move(name));
    rules->rules_.push_back(std::move(rule));
  }
  // Specific rules (more keys) before generic ones; in the written order otherwise.
  std::stable_sort(rules->rules_.begin(), rules->rules_.end(),
                   [](const Rule& a, const Rule& b) { return a.match.size() > b.match.size(); });
  return rules;
}

size_t GroupRules::groupOf(std::string_view path) const {
  const int n = pattern_->NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> caps(static_cast<size_t>(n));
  if (!pattern_->Match(re2::StringPiece(path.data(), path.size()), 0, path.size(), RE2::UNANCHORED, caps.data(), n)) {
    return default_group_;
  }
  for (const Rule& rule : rules_) {
    bool all = true;
    for (const auto& [index, re] : rule.match) {
      if (!RE2::PartialMatch(caps[static_cast<size_t>(index)], *re)) {
        all = false;
        break;
      }
    }
    if (all) return rule.group;
  }
  return default_group_;
}

}  // namespace sluice::plugins::in_tail
