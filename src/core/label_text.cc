// SPDX-License-Identifier: Apache-2.0
#include "core/label_text.h"

namespace sluice {
namespace {

bool isNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

}  // namespace

bool parseLabelSet(std::string_view t, std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  size_t i = 0;
  auto skip = [&] {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t')) ++i;
  };
  skip();
  if (i >= t.size() || t[i++] != '{') return false;
  skip();
  if (i < t.size() && t[i] == '}') {
    ++i;
    skip();
    return i == t.size();
  }
  while (true) {
    skip();
    const size_t start = i;
    if (i >= t.size() || !isNameStart(t[i])) return false;
    while (i < t.size() && isNameChar(t[i])) ++i;
    std::string name(t.substr(start, i - start));
    skip();
    if (i >= t.size() || t[i++] != '=') return false;
    skip();
    if (i >= t.size() || t[i++] != '"') return false;
    std::string value;
    while (i < t.size() && t[i] != '"') {
      // Runs without escapes are copied whole.
      size_t run = i;
      while (run < t.size() && t[run] != '"' && t[run] != '\\') ++run;
      value.append(t.data() + i, run - i);
      i = run;
      if (i + 1 < t.size() && t[i] == '\\') {
        value += t[i + 1] == 'n' ? '\n' : t[i + 1];
        i += 2;
      } else if (i < t.size() && t[i] == '\\') {
        return false;  // a backslash at the very end
      }
    }
    if (i >= t.size()) return false;
    ++i;  // the closing quote
    out.emplace_back(std::move(name), std::move(value));
    skip();
    if (i < t.size() && t[i] == ',') {
      ++i;
      continue;
    }
    if (i < t.size() && t[i] == '}') {
      ++i;
      skip();
      return i == t.size();
    }
    return false;
  }
}

}  // namespace sluice
