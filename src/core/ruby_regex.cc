// SPDX-License-Identifier: Apache-2.0
#include "core/ruby_regex.h"

namespace sluice {

Result<std::string> translateRubyRegex(std::string_view ruby) {
  std::string_view body = ruby;
  bool icase = false, dotall = false;
  if (body.size() >= 2 && body.front() == '/') {
    size_t close = body.rfind('/');
    if (close == 0) return Status::invalidConfig("regexp '" + std::string(ruby) + "' has no closing '/'");
    std::string_view flags = body.substr(close + 1);
    for (char f : flags) {
      if (f == 'i') {
        icase = true;
      } else if (f == 'm') {
        dotall = true;
      } else if (f == 'x') {
        return Status::invalidConfig("regexp flag 'x' (extended) is not supported by RE2: " +
                                     std::string(ruby));
      } else {
        return Status::invalidConfig("unknown regexp flag '" + std::string(1, f) + "' in " +
                                     std::string(ruby));
      }
    }
    body = body.substr(1, close - 1);
  }
  std::string out = "(?m";
  if (icase) out += 'i';
  if (dotall) out += 's';
  out += ')';
  bool in_class = false;
  auto unsupported = [&](std::string_view what) {
    return Status::invalidConfig("regexp uses " + std::string(what) +
                                 ", which RE2 does not support: " + std::string(ruby));
  };
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c == '\\' && i + 1 < body.size()) {
      char n = body[i + 1];
      ++i;
      if (n == 'h') {
        out += in_class ? "0-9a-fA-F" : "[0-9a-fA-F]";
      } else if (n == 'H') {
        if (in_class) return unsupported("\\H inside a character class");
        out += "[^0-9a-fA-F]";
      } else if (n == 'Z') {
        out += "(?:\\n?\\z)";
      } else if (n >= '1' && n <= '9' && !in_class) {
        return unsupported("a backreference (\\" + std::string(1, n) + ")");
      } else if (n == 'k' && i + 1 < body.size() && body[i + 1] == '<') {
        return unsupported("a named backreference (\\k<...>)");
      } else if (n == 'G') {
        return unsupported("\\G");
      } else if (n == '/') {
        out += '/';
      } else {
        out += '\\';
        out += n;
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      if (c == '[' && i + 1 < body.size() && body[i + 1] == ':') {
        size_t end = body.find(":]", i + 2);
        if (end != std::string_view::npos) {
          out.append(body.substr(i, end + 2 - i));
          i = end + 1;
          continue;
        }
      }
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < body.size() && body[i + 1] == '^') {
        out += '^';
        ++i;
      }
      if (i + 1 < body.size() && body[i + 1] == ']') {  // literal ']' first in a class
        out += "\\]";
        ++i;
      }
      continue;
    }
    if (c == '(' && i + 1 < body.size() && body[i + 1] == '?') {
      std::string_view rest = body.substr(i + 2);
      if (rest.starts_with("<=") || rest.starts_with("<!")) return unsupported("lookbehind");
      if (rest.starts_with("=") || rest.starts_with("!")) return unsupported("lookahead");
      if (rest.starts_with(">")) return unsupported("an atomic group (?>...)");
      if (rest.starts_with("<")) {
        out += "(?P<";
        i += 2;
        continue;
      }
      if (rest.starts_with("'")) {
        size_t end = rest.find('\'', 1);
        if (end == std::string_view::npos) return unsupported("an unterminated group name");
        out += "(?P<";
        out.append(rest.substr(1, end - 1));
        out += '>';
        i += 2 + end;
        continue;
      }
    }
    if ((c == '+' || c == '?' || c == '*' || c == '}') && i + 1 < body.size() &&
        body[i + 1] == '+') {
      return unsupported("a possessive quantifier");
    }
    out += c;
  }
  return out;
}

Result<std::unique_ptr<RE2>> compileRubyRegex(std::string_view ruby) {
  auto translated = translateRubyRegex(ruby);
  if (!translated) return translated.takeStatus();
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(*translated, options);
  if (!re->ok()) {
    return Status::invalidConfig("invalid regexp " + std::string(ruby) + ": " + re->error());
  }
  return re;
}

}  // namespace sluice
