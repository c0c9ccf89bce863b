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
// matches every tag, as in Fluentd. Globs compare bytes, so `**` matches every tag, UTF-8 or
// not; a /regexp/ sees invalid bytes of a tag as U+FFFD. Immutable; safe to share across threads.
class TagPattern {
 public:
  static Result<TagPattern> compile(std::string_view text);

  bool matches(std::string_view tag) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<std::shared_ptr<const RE2>> globs_;    // Latin-1 (byte) mode
  std::vector<std::shared_ptr<const RE2>> regexps_;  // UTF-8 mode
  bool match_all_ = false;
};

// Translates one glob (no spaces) to an RE2 pattern with Fluentd's GlobMatchPattern rules.
std::string globToRegex(std::string_view glob);

}  // namespace sluice
