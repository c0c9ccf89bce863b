// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <re2/re2.h>

#include "core/status.h"

namespace sluice {

// A Fluentd tag pattern as written after <match> or <filter>: several space-separated
// alternatives, each a glob (`*` one part, `**` zero or more parts so `a.**` matches `a`,
// `{a,b}` with nesting) or `/regex/` matched against the whole tag. An empty pattern
// matches every tag, as in Fluentd. Immutable; safe to share across threads.
class TagPattern {
 public:
  static Result<TagPattern> compile(std::string_view text);

  bool matches(std::string_view tag) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<std::shared_ptr<const RE2>> alternatives_;
  bool match_all_ = false;
};

// Translates one glob (no spaces) to an RE2 pattern with Fluentd's GlobMatchPattern rules.
std::string globToRegex(std::string_view glob);

}  // namespace sluice
