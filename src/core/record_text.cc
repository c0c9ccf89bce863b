// SPDX-License-Identifier: Apache-2.0
#include "core/record_text.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/json.h"

namespace sluice {

void appendLtsv(std::string& out, const Value& record, std::string_view delimiter, std::string_view label_delimiter) {
  bool first = true;
  for (const Member& m : record.members()) {
    if (!first) out += delimiter;
    first = false;
    out += m.key;
    out += label_delimiter;
    if (m.value.isString()) {
      out += m.value.asString();
    } else {
      appendJson(out, m.value);
    }
  }
}

void appendSingleValue(std::string& out, const Value& record, std::string_view key) {
  if (const Value* v = record.find(key)) {
    if (v->isString()) {
      out += v->asString();
    } else {
      appendJson(out, *v);
    }
  }
}

namespace {

// Ruby's String#inspect for UTF-8 text.
void appendRubyString(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8CharLength(s, i);
      if (n == 0) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02X", c);
        out += buf;
        ++i;
      } else {
        out += s.substr(i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\f': out += "\\f"; break;
      case '\v': out += "\\v"; break;
      case '\b': out += "\\b"; break;
      case '\a': out += "\\a"; break;
      case 0x1b: out += "\\e"; break;
      case '#': {
        char next = i + 1 < s.size() ? s[i + 1] : '\0';
        out += next == '{' || next == '$' || next == '@' ? "\\#" : "#";
        break;
      }
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          out += c == 0x7f ? "\\x7F" : buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

// Ruby's Float#to_s: 1.5, 100.0, 1.0e+16, 1.0e-05, NaN, Infinity.
void appendRubyFloat(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "NaN";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-Infinity" : "Infinity";
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, r.ptr - buf);  // shortest digits: d.ddde±XX
  size_t e = sci.find('e');
  int exp = std::stoi(std::string(sci.substr(e + 1)));
  std::string digits;
  bool negative = sci[0] == '-';
  for (char ch : sci.substr(0, e)) {
    if (ch >= '0' && ch <= '9') digits += ch;
  }
  if (negative) out += '-';
  if (exp < -4 || exp >= 16) {
    out += digits[0];
    out += '.';
    out += digits.size() > 1 ? digits.substr(1) : "0";
    char eb[8];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
  } else if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
  } else {
    size_t int_len = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_len) {
      out += digits;
      out.append(int_len - digits.size(), '0');
      out += ".0";
    } else {
      out += digits.substr(0, int_len);
      out += '.';
      out += digits.substr(int_len);
    }
  }
}

}  // namespace

void appendRubyInspect(std::string& out, const Value& value) {
  switch (value.kind()) {
    case Kind::Null: out += "nil"; return;
    case Kind::Bool: out += value.asBool() ? "true" : "false"; return;
    case Kind::Int: out += std::to_string(value.asInt()); return;
    case Kind::Double: appendRubyFloat(out, value.asDouble()); return;
    case Kind::String:
      if (value.isNumberText()) {
        out += value.asString();
      } else {
        appendRubyString(out, value.asString());
      }
      return;
    case Kind::Array: {
      out += '[';
      bool first = true;
      for (const Value& item : value.items()) {
        if (!first) out += ", ";
        first = false;
        appendRubyInspect(out, item);
      }
      out += ']';
      return;
    }
    case Kind::Object: {
      out += '{';
      bool first = true;
      for (const Member& m : value.members()) {
        if (!first) out += ", ";
        first = false;
        appendRubyString(out, m.key);
        out += "=>";
        appendRubyInspect(out, m.value);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace sluice
