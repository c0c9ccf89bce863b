// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::filter_grep {

// Fluentd v0.12's regexpN / excludeN ("KEY REGEXP"), still read by Fluentd v1 (deprecated):
// regexpN join the top-level <regexp>s (all must match), excludeN the <exclude>s (any drops).
struct GrepConfig {
  std::optional<std::string> regexp1, regexp2, regexp3, regexp4, regexp5, regexp6, regexp7, regexp8, regexp9, regexp10, regexp11, regexp12, regexp13, regexp14, regexp15, regexp16, regexp17, regexp18, regexp19, regexp20;
  std::optional<std::string> exclude1, exclude2, exclude3, exclude4, exclude5, exclude6, exclude7, exclude8, exclude9, exclude10, exclude11, exclude12, exclude13, exclude14, exclude15, exclude16, exclude17, exclude18, exclude19, exclude20;
};

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
