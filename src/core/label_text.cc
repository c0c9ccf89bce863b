// SPDX-License-Identifier: Apache-2.0
#include "core/label_text.h"

#include <cstdint>

namespace sluice {
namespace {

bool isNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The length of the valid UTF-8 sequence at s[i] (2..4), or 0: a stray continuation byte, a
// truncated or overlong sequence, a surrogate, or past U+10FFFF.
size_t utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
  }
  if (n == 3 && ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) >= 0xA0))) return 0;  // overlong, surrogate
  if (n == 4 && ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) >= 0x90))) return 0;  // overlong, > U+10FFFF
  return n;
}

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
      if (i + 5 < t.size() && t[i] == '\\' && t[i + 1] == 'u') {
        uint32_t cp = 0;
        for (size_t k = 2; k < 6; ++k) {
          int d = hexDigit(t[i + k]);
          if (d < 0) return false;
          cp = cp << 4 | static_cast<uint32_t>(d);
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;  // Go refuses a lone surrogate
        appendUtf8(value, cp);
        i += 6;
      } else if (i + 1 < t.size() && t[i] == '\\') {
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

void appendLokiLabelValue(std::string& out, std::string_view value) {
  for (size_t i = 0; i < value.size();) {
    const char c = value[i];
    if (static_cast<unsigned char>(c) < 0x80) {
      if (c == '\n') {
        out += "\\n";
      } else {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      ++i;
      continue;
    }
    size_t n = utf8Length(value, i);
    if (n == 0 || value.substr(i, n) == "\xEF\xBF\xBD") {
      out += "\\ufffd";
      i += n == 0 ? 1 : n;
      continue;
    }
    out.append(value.data() + i, n);
    i += n;
  }
}

}  // namespace sluice
