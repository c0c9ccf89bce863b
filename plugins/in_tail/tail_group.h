// SPDX-License-Identifier: Apache-2.0
#pragma once

// The tail's `<group>` (Fluentd 1.15's in_tail group rules): `pattern` takes named captures
// from each file's path (by default a Kubernetes container log's podname, namespace,
// container and docker_id); each `<rule>` names captures and regexps (`match`) and a line
// `limit` per `rate_period`. A file belongs to the first rule whose every regexp matches its
// capture (rules with more keys are tried first); a file that no rule takes, or whose path the
// pattern does not match, belongs to the default group: the rule without keys if there is one,
// else no limit. The files of a group together read at most `limit` lines per rate_period,
// each at most an equal share (limit / files, at least 1), as Fluentd divides it; the rest
// waits in the file for the next period. -1 is no limit, 0 reads nothing.

#include <re2/re2.h>

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace sluice::plugins::in_tail {

struct GroupConfig {
  std::string pattern;
  Duration rate_period;
};

struct GroupRuleConfig {
  StringMap match;
  int64_t limit = -1;
};

std::span<const Param<GroupConfig>> groupParams();
std::span<const Param<GroupRuleConfig>> groupRuleParams();

// The compiled rules. Immutable after create(); read by the tail input's thread.
class GroupRules {
 public:
  // From a <group> section (its <rule> sections required). Called on the engine's thread.
  static Result<std::unique_ptr<GroupRules>> create(const config::Element& group);

  // The group of a file: an index below groupCount().
  size_t groupOf(std::string_view path) const;
  size_t groupCount() const { return limits_.size(); }
  // Lines per rate_period for all files of group `g` (-1: no limit).
  int64_t limitOf(size_t g) const { return limits_[g]; }
  // "namespace=/a/ podname=/b/" or "default", for the log.
  const std::string& nameOf(size_t g) const { return names_[g]; }
  int64_t ratePeriodNs() const { return rate_period_ns_; }

 private:
  struct Rule {
    std::vector<std::pair<int, std::unique_ptr<RE2>>> match;  // capture index (0: not in the pattern), regexp
    size_t group;
  };
  GroupRules() = default;

  std::unique_ptr<RE2> pattern_;
  std::vector<Rule> rules_;  // more keys first
  std::vector<int64_t> limits_;
  std::vector<std::string> names_;
  size_t default_group_ = 0;
  int64_t rate_period_ns_ = 0;
};

// The line budget of one group while the tail runs (on the tail input's thread).
struct LineGroup {
  int64_t limit = -1;
  size_t members = 0;           // files (paths) in the group
  bool window_open = false;     // a rate_period began with the first line read in it
  int64_t window_start_ns = 0;
  uint64_t used = 0;            // lines read in the window by all members
  uint64_t epoch = 0;           // windows closed so far (a member's count is of this window)
};

}  // namespace sluice::plugins::in_tail
