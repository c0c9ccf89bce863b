// SPDX-License-Identifier: Apache-2.0
#include "core/tag_pattern.h"

#include "core/json.h"
#include "core/ruby_regex.h"

namespace sluice {
namespace {

bool isWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

// Follows Fluentd's GlobMatchPattern: '*' → [^.]*, '**' → .*, '.**' lets the dot and what
// follows be absent (so `a.**` matches `a`), '**.' may match nothing at the start.
// Fluentd uses a lookahead for a pending dot before '**'; RE2 has none, so the dot is
// folded into an optional group instead, which accepts the same tags.
std::string globToRegex(std::string_view pat) {
  std::vector<std::vector<std::string>> stack;  // alternatives of each open '{'
  std::vector<std::string> regex{""};
  bool escape = false, dot = false;
  // Ends the innermost '{': its alternatives become one non-capturing group.
  auto closeGroup = [&] {
    stack.back().push_back(regex.back());
    regex.pop_back();
    std::string uni = "(?:";
    for (size_t k = 0; k < stack.back().size(); ++k) {
      if (k) uni += '|';
      uni += stack.back()[k];
    }
    uni += ')';
    stack.pop_back();
    regex.back() += uni;
  };
  size_t i = 0;
  while (i < pat.size()) {
    char c = pat[i];
    if (escape) {
      regex.back() += '\\';
      regex.back() += c;
      escape = false;
      ++i;
      continue;
    }
    if (pat.substr(i, 2) == "**") {
      bool then_dot = i + 2 < pat.size() && pat[i + 2] == '.';
      char after = i + 2 < pat.size() ? pat[i + 2] : '\0';
      if (dot) {
        dot = false;
        if (then_dot) {
          regex.back() += "\\.(?:.*\\.)?";  // `a.**.b`: a.b, a.x.b, a.x.y.b
          i += 3;
        } else if (after == '\0' || after == ',' || after == '}') {
          regex.back() += "(?:\\..*)?";  // `a.**`: a, a.b, a.b.c
          i += 2;
        } else {
          regex.back() += "\\..*";
          i += 2;
        }
        continue;
      }
      if (then_dot) {
        regex.back() += "(?:.*\\.)?";  // `**.a`: a, b.a
        i += 3;
      } else {
        regex.back() += ".*";
        i += 2;
      }
      continue;
    }
    if (dot) {
      regex.back() += "\\.";
      dot = false;
    }
    if (c == '\\') {
      escape = true;
    } else if (c == '.') {
      dot = true;
    } else if (c == '*') {
      regex.back() += "[^.]*";
    } else if (c == '{') {
      stack.emplace_back();
      regex.emplace_back();
    } else if (c == '}' && !stack.empty()) {
      closeGroup();
    } else if (c == ',' && !stack.empty()) {
      stack.back().push_back(regex.back());
      regex.back().clear();
    } else if (isWordChar(c) || static_cast<unsigned char>(c) >= 0x80) {
      regex.back() += c;  // RE2 takes no escape before a non-ASCII byte
    } else {
      regex.back() += '\\';
      regex.back() += c;
    }
    ++i;
  }
  if (dot) regex.back() += "\\.";
  while (!stack.empty()) closeGroup();  // Fluentd closes unbalanced '{' at the end
  return regex.back();
}

Result<TagPattern> TagPattern::compile(std::string_view text) {
  TagPattern p;
  p.text_ = std::string(text);
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size()) break;
    size_t start = i;
    std::string re;
    if (text[i] == '/') {
      // A regexp alternative runs to the next '/' followed by a space or the end.
      size_t j = i + 1;
      while (j < text.size() && !(text[j] == '/' && text[j - 1] != '\\' &&
                                  (j + 1 == text.size() || text[j + 1] == ' '))) {
        ++j;
      }
      if (j >= text.size()) {
        return Status::invalidConfig("tag pattern '" + std::string(text) +
                                     "': regexp is missing its closing '/'");
      }
      auto translated = translateRubyRegex(text.substr(start, j + 1 - start));
      if (!translated) return translated.takeStatus();
      re = *translated;
      i = j + 1;
    } else {
      while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
      re = globToRegex(text.substr(start, i - start));
    }
    RE2::Options options;
    options.set_log_errors(false);
    const bool glob = text[start] != '/';
    if (glob) {
      // Globs compare bytes: a tag that is not UTF-8 (a file named bad\xff.log) still
      // matches `**` and `bad*.log`. (In UTF-8 mode RE2 matches no invalid byte at all.)
      options.set_encoding(RE2::Options::EncodingLatin1);
      options.set_dot_nl(true);
      if (re == ".*") p.match_all_ = true;
    }
    auto compiled = std::make_shared<const RE2>(re, options);
    if (!compiled->ok()) {
      return Status::invalidConfig("tag pattern '" + std::string(text) + "': " + compiled->error());
    }
    (glob ? p.globs_ : p.regexps_).push_back(std::move(compiled));
    any = true;
  }
  if (!any) p.match_all_ = true;
  return p;
}

bool TagPattern::matches(std::string_view tag) const {
  if (match_all_) return true;
  for (const auto& re : globs_) {
    if (RE2::FullMatch(tag, *re)) return true;
  }
  if (regexps_.empty()) return false;
  if (isValidUtf8(tag)) {
    for (const auto& re : regexps_) {
      if (RE2::FullMatch(tag, *re)) return true;
    }
    return false;
  }
  // A /regexp/ is UTF-8 (as Ruby's): it sees a tag that is not UTF-8 with U+FFFD in place of
  // each bad byte, rather than matching nothing.
  std::string plain;
  for (size_t i = 0; i < tag.size();) {
    size_t len = utf8CharLength(tag, i);
    if (len == 0) {
      plain += "\xEF\xBF\xBD";
      ++i;
    } else {
      plain.append(tag.substr(i, len));
      i += len;
    }
  }
  for (const auto& re : regexps_) {
    if (RE2::FullMatch(plain, *re)) return true;
  }
  return false;
}

}  // namespace sluice
