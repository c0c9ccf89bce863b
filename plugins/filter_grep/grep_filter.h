// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::filter_grep {

struct GrepConfig {};

struct RuleConfig {
  std::string key;
  std::string pattern;
};

// Fluentd's filter_grep: keeps a record when every <regexp> matches and no <exclude> does.
// <and> and <or> group rules: an <and> of regexps keeps when all match, an <or> when one
// does; an <and> of excludes drops when all match, an <or> when one does. A missing field
// matches nothing. Non-string values are matched as their JSON text.
// Threading: immutable after create(); process() runs concurrently on the threads of the inputs
// whose events reach it.
class GrepFilter final : public Filter {
 public:
  static Result<std::unique_ptr<GrepFilter>> create(const GrepConfig& config, PluginContext& ctx);

  // sluice::Filter
  void process(Batch& batch) override;

  struct Rule {
    FieldPath key;
    std::shared_ptr<const RE2> re;
  };
  // A group of rules combined with AND (all) or OR (any).
  struct Group {
    bool all;
    std::vector<Rule> rules;
  };

 private:
  GrepFilter(std::vector<Group> keep, std::vector<Group> drop, PluginContext& ctx)
      : keep_(std::move(keep)), drop_(std::move(drop)) {}
  static bool matches(const Rule& rule, const Value& record, std::string& scratch);
  static bool groupMatches(const Group& g, const Value& record, std::string& scratch);

  const std::vector<Group> keep_;  // every group must match
  const std::vector<Group> drop_;  // any matching group drops
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::filter_grep
