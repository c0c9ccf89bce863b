// SPDX-License-Identifier: Apache-2.0
#include "standins/loki_labels.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace sluice::testing {
namespace {

bool isAlpha(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isAlphaNumeric(char c) { return isAlpha(c) || (c >= '0' && c <= '9'); }
bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Decodes the UTF-8 sequence at text[at]: its code point and length, or length 0 when the bytes
// there are not UTF-8 (a bad lead or continuation byte, an overlong form, a surrogate, past
// U+10FFFF, cut short), as Go's utf8.DecodeRuneInString gives RuneError with width 1.
size_t decodeUtf8(std::string_view text, size_t at, uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(text[at]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t n = 0;
  uint32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) n = 2, cp = b0 & 0x1F, min = 0x80;
  else if ((b0 & 0xF0) == 0xE0) n = 3, cp = b0 & 0x0F, min = 0x800;
  else if ((b0 & 0xF8) == 0xF0) n = 4, cp = b0 & 0x07, min = 0x10000;
  else return 0;
  if (at + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(text[at + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return 0;
  return n;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
    return;
  }
  const int n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;  // bytes; the lead byte has n high bits set
  out += static_cast<char>(((0xFF00 >> n) & 0xFF) | (cp >> (6 * (n - 1))));
  for (int k = n - 2; k >= 0; --k) out += static_cast<char>(0x80 | ((cp >> (6 * k)) & 0x3F));
}

int digitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 16;
}

// The reader of one label set; `error` holds the first error, as "<line>:<col>: parse error: ...".
class Reader {
 public:
  explicit Reader(std::string_view text) : t_(text) {}

  std::string read(LabelPairs& out) {
    out.clear();
    skip();
    if (at_ < t_.size() && isAlpha(t_[at_])) return fail("a metric name before the braces is not a label set");
    if (!take('{')) return fail(at_ < t_.size() ? "unexpected character: '" + std::string(1, t_[at_]) + "'"
                                                : "unexpected end of input");
    for (;;) {
      skip();
      if (take('}')) break;
      if (at_ >= t_.size()) return fail("unexpected end of input inside braces");
      if (!isAlpha(t_[at_])) return fail("unexpected character inside braces: '" + std::string(1, t_[at_]) + "'");
      const size_t start = at_;
      while (at_ < t_.size() && isAlphaNumeric(t_[at_])) ++at_;
      std::string name(t_.substr(start, at_ - start));
      skip();
      if (at_ + 1 < t_.size() && t_[at_] == '=' && t_[at_ + 1] == '~') return fail("unexpected \"=~\" in label set, expected \"=\"");
      if (at_ < t_.size() && t_[at_] == '!') return fail("unexpected \"!\" in label set, expected \"=\"");
      if (!take('=')) return fail("unexpected character in label set, expected \"=\"");
      skip();
      std::string value;
      if (!readString(value)) return error_;
      out.emplace_back(std::move(name), std::move(value));
      skip();
      if (take(',')) {
        skip();
        if (at_ < t_.size() && t_[at_] == ',') return fail("unexpected \",\" in label set, expected identifier or \"}\"");
        continue;
      }
      if (take('}')) break;
      return fail("unexpected character in label set, expected \",\" or \"}\"");
    }
    skip();
    if (at_ != t_.size()) return fail("unexpected character after the label set: '" + std::string(1, t_[at_]) + "'");
    // Loki: "Empty label values are equivalent to absent labels" (labels.NewBuilder drops them).
    std::erase_if(out, [](const auto& p) { return p.second.empty(); });
    std::sort(out.begin(), out.end());
    return {};
  }

 private:
  bool take(char c) {
    if (at_ < t_.size() && t_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }

  void skip() {
    while (at_ < t_.size()) {
      if (isSpace(t_[at_])) {
        ++at_;
      } else if (t_[at_] == '#') {
        while (at_ < t_.size() && t_[at_] != '\n' && t_[at_] != '\r') ++at_;
      } else {
        return;
      }
    }
  }

  std::string fail(const std::string& what) {
    if (error_.empty()) {
      size_t line = 1, line_start = 0;
      for (size_t i = 0; i < at_ && i < t_.size(); ++i) {
        if (t_[i] == '\n') ++line, line_start = i + 1;
      }
      error_ = std::to_string(line) + ":" + std::to_string(at_ - line_start + 1) + ": parse error: " + what;
    }
    return error_;
  }

  // A quoted value at at_ into `value`; false (with error_) when it is not one.
  bool readString(std::string& value) {
    if (at_ >= t_.size()) return fail("unexpected end of input, expected a string"), false;
    const char open = t_[at_];
    if (open != '"' && open != '\'' && open != '`') return fail("unexpected character in label set, expected a string"), false;
    ++at_;
    for (;;) {
      if (at_ >= t_.size()) return fail(open == '`' ? "unterminated raw string" : "unterminated quoted string"), false;
      const char c = t_[at_];
      if (c == open) {
        ++at_;
        return true;
      }
      if (c == '\n' && open != '`') return fail("unterminated quoted string"), false;
      if (c == '\\' && open != '`') {
        if (!readEscape(open, value)) return false;
        continue;
      }
      uint32_t cp = 0;
      const size_t n = decodeUtf8(t_, at_, cp);
      if (n == 0 || cp == 0xFFFD) return fail("invalid UTF-8 rune"), false;
      value.append(t_.data() + at_, n);
      at_ += n;
    }
  }

  // An escape at at_ (the backslash) in a string opened by `open`.
  bool readEscape(char open, std::string& value) {
    ++at_;
    if (at_ >= t_.size()) return fail("escape sequence not terminated"), false;
    const char c = t_[at_++];
    switch (c) {
      case 'a': value += '\a'; return true;
      case 'b': value += '\b'; return true;
      case 'f': value += '\f'; return true;
      case 'n': value += '\n'; return true;
      case 'r': value += '\r'; return true;
      case 't': value += '\t'; return true;
      case 'v': value += '\v'; return true;
      case '\\': value += '\\'; return true;
      default: break;
    }
    if (c == open) {
      value += c;
      return true;
    }
    int digits = 0, base = 0;
    uint32_t max = 0;
    bool rune = false;
    if (c >= '0' && c <= '7') {
      digits = 3, base = 8, max = 255;
      --at_;  // the first digit is one of the three
    } else if (c == 'x') {
      digits = 2, base = 16, max = 255;
    } else if (c == 'u') {
      digits = 4, base = 16, max = 0x10FFFF, rune = true;
    } else if (c == 'U') {
      digits = 8, base = 16, max = 0x10FFFF, rune = true;
    } else {
      --at_;
      char buf[64];
      std::snprintf(buf, sizeof(buf), "unknown escape sequence U+%04X", static_cast<unsigned char>(c));
      return fail(buf), false;
    }
    uint32_t x = 0;
    for (int k = 0; k < digits; ++k) {
      if (at_ >= t_.size()) return fail("escape sequence not terminated"), false;
      const int d = digitValue(t_[at_]);
      if (d >= base) return fail("illegal character in escape sequence"), false;
      x = x * static_cast<uint32_t>(base) + static_cast<uint32_t>(d);
      ++at_;
    }
    if (x > max || (x >= 0xD800 && x < 0xE000)) return fail("escape sequence is an invalid Unicode code point"), false;
    if (rune) {
      appendUtf8(value, x);
    } else {
      value += static_cast<char>(x);  // \NNN and \xNN are bytes, as in Go
    }
    return true;
  }

  std::string_view t_;
  size_t at_ = 0;
  std::string error_;
};

// Whether Go's unicode.IsPrint would print `cp` (beyond ASCII: all but the C1 controls and
// the common invisible format characters; Go's tables know more, these are the ones seen).
bool isPrint(uint32_t cp) {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7F;
  if (cp < 0xA0 || cp == 0xAD) return false;
  if ((cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F)) return false;
  if (cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB)) return false;
  return true;
}

// Go's strconv.Quote of `s`, quotes included.
void appendGoQuoted(std::string& out, std::string_view s) {
  out += '"';
  char buf[16];
  for (size_t at = 0; at < s.size();) {
    uint32_t cp = 0;
    const size_t n = decodeUtf8(s, at, cp);
    if (n == 0) {
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(s[at]));
      out += buf;
      ++at;
      continue;
    }
    at += n;
    if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (isPrint(cp)) {
      appendUtf8(out, cp);
    } else if (cp == '\a') {
      out += "\\a";
    } else if (cp == '\b') {
      out += "\\b";
    } else if (cp == '\f') {
      out += "\\f";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\v') {
      out += "\\v";
    } else if (cp < ' ' || cp == 0x7F) {
      std::snprintf(buf, sizeof(buf), "\\x%02x", cp);
      out += buf;
    } else if (cp < 0x10000) {
      std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
      out += buf;
    } else {
      std::snprintf(buf, sizeof(buf), "\\U%08x", cp);
      out += buf;
    }
  }
  out += '"';
}

}  // namespace

std::string parseLokiLabels(std::string_view text, LabelPairs& out) { return Reader(text).read(out); }

std::string lokiLabels(LabelPairs pairs) {
  std::sort(pairs.begin(), pairs.end());
  std::string out = "{";
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i) out += ", ";
    out += pairs[i].first + "=";
    appendGoQuoted(out, pairs[i].second);
  }
  return out + "}";
}

}  // namespace sluice::testing
