// SPDX-License-Identifier: Apache-2.0
#include "config/parser.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/arena.h"
#include "core/json.h"

namespace sluice::config {
namespace {

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Sections nested deeper than this, and @include chains longer than this, are errors (real
// configs nest about five deep; without a limit 20,000 nested sections overflowed the stack).
constexpr int kMaxSectionDepth = 64;
constexpr size_t kMaxIncludeDepth = 32;
// The longest unquoted parameter name accepted (Fluentd's longest is about 30 characters).
constexpr size_t kMaxKeyLength = 60;

// Whether an unquoted key can be a parameter name. A line of another kind of file (an
// `@include /etc/shadow`: `root:$6$…`) is not, and must not be echoed in an error.
bool isPlausibleKey(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyLength) return false;
  for (char c : key) {
    if (!isNameChar(c) && c != '@' && c != '.' && c != '-' && c != '$' && c != '[' && c != ']') return false;
  }
  return true;
}

bool hasGlobChars(std::string_view s) { return s.find_first_of("*?[{") != std::string_view::npos; }

std::string dirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) != nullptr) return buf;
  return path;
}

Result<std::string> readFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::invalidConfig(path + " is a directory, not a config file (give the file, e.g. " +
                                 path + (path.ends_with("/") ? "" : "/") + "fluent.conf)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::ioError("cannot read config file " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Directive-level parameters whose names start with '@'. Fluentd rejects others there.
bool isKnownAtParam(std::string_view key) {
  return key == "@type" || key == "@id" || key == "@label" || key == "@log_level" ||
         key == "@include";
}

class Parser {
 public:
  Parser(std::string_view text, std::string file, std::string base_dir,
         const EvalEnvironment& environment, std::vector<std::string>* include_stack)
      : text_(text.starts_with("\xEF\xBB\xBF") ? text.substr(3) : text),  // a UTF-8 BOM
        file_(std::make_shared<const std::string>(std::move(file))),
        base_dir_(std::move(base_dir)),
        env_(environment),
        include_stack_(include_stack) {}

  Status parseInto(Element& root, int depth) { return parseElement(root, true, "", depth); }

  Result<std::optional<std::string>> parseLiteralOnly() {
    auto v = parseLiteral();
    if (!v) return v.takeStatus();
    skipLineEnd();
    if (!eof()) return error("expected end of line");
    if (v->special == Param::Special::Nil) return std::optional<std::string>();
    if (v->nil) return std::optional<std::string>();
    return std::optional<std::string>(v->text);
  }

 private:
  struct Literal {
    std::string text;
    bool nil = false;  // empty unquoted literal
    Param::Special special = Param::Special::None;
  };

  bool eof() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  int lineAt(size_t pos) {
    if (pos < line_pos_) {
      line_pos_ = 0;
      line_ = 1;
    }
    for (; line_pos_ < pos && line_pos_ < text_.size(); ++line_pos_) {
      if (text_[line_pos_] == '\n') ++line_;
    }
    return line_;
  }
  Location here() { return Location{file_, lineAt(pos_)}; }
  Status error(std::string_view message) {
    return Status::invalidConfig(here().str() + ": " + std::string(message));
  }

  // SPACING: whitespace, newlines and comments.
  void spacing() {
    while (!eof()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++pos_;
      } else if (c == '#') {
        while (!eof() && peek() != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  // LINE_END at pos: [ \t]* (#.*)? (EOF | \r | \n). Returns its end or npos.
  size_t lineEndAt(size_t p) const {
    while (p < text_.size() && (text_[p] == ' ' || text_[p] == '\t')) ++p;
    if (p < text_.size() && text_[p] == '#') {
      while (p < text_.size() && text_[p] != '\n') ++p;
    }
    if (p >= text_.size()) return p;
    if (text_[p] == '\r' || text_[p] == '\n') return p + 1;
    return std::string_view::npos;
  }
  bool skipLineEnd() {
    size_t e = lineEndAt(pos_);
    if (e == std::string_view::npos) return false;
    pos_ = e;
    // LINE_END is repeated (+): swallow blank and comment-only lines too.
    while (!eof()) {
      size_t n = lineEndAt(pos_);
      if (n == std::string_view::npos || n == pos_) break;
      pos_ = n;
    }
    return true;
  }

  Status parseElement(Element& elem, bool root, const std::string& name, int depth) {
    while (true) {
      spacing();
      if (eof()) {
        if (root) return Status::ok();
        return Status::invalidConfig(elem.where.str() + ": section <" + name +
                                     "> is not closed: expected '</" + name +
                                     ">' but reached the end of " + *file_);
      }
      if (peek() == '<' && peek(1) == '/') {
        Location end_where = here();
        pos_ += 2;
        size_t start = pos_;
        while (!eof() && isNameChar(peek())) ++pos_;
        std::string end_name(text_.substr(start, pos_ - start));
        while (peek() == ' ' || peek() == '\t') ++pos_;
        if (peek() != '>') return error("expected '>' to end tag '</" + end_name + "'");
        ++pos_;
        if (!skipLineEnd()) return error("expected end of line after '</" + end_name + ">'");
        if (root || end_name != name) {
          return Status::invalidConfig(end_where.str() + ": unmatched end tag '</" + end_name + ">'" +
                                       (root ? std::string() : " (open section is <" + name + ">)"));
        }
        return Status::ok();
      }
      if (peek() == '<') {
        Location where = here();
        ++pos_;
        size_t start = pos_;
        while (!eof() && isNameChar(peek())) ++pos_;
        if (pos_ == start) return error("expected a section name after '<'");
        Element child;
        child.name = std::string(text_.substr(start, pos_ - start));
        child.where = where;
        size_t arg_start = pos_;
        while (!eof() && peek() != '>' && peek() != '\n') ++pos_;
        if (peek() != '>') return error("expected '>' to close <" + child.name);
        std::string_view arg = text_.substr(arg_start, pos_ - arg_start);
        while (!arg.empty() && (arg.front() == ' ' || arg.front() == '\t')) arg.remove_prefix(1);
        while (!arg.empty() && (arg.back() == ' ' || arg.back() == '\t')) arg.remove_suffix(1);
        if (arg_start == pos_ || (!arg.empty() && arg_start < text_.size() &&
                                  text_[arg_start] != ' ' && text_[arg_start] != '\t')) {
          if (!arg.empty()) return error("expected a space between <" + child.name + " and its argument");
        }
        if (arg.starts_with('#') || arg.find(" #") != std::string_view::npos ||
            arg.find("\t#") != std::string_view::npos) {
          return error("a comment is not allowed inside <" + child.name + " ...>");
        }
        child.arg = std::string(arg);
        ++pos_;
        if (!skipLineEnd()) return error("expected end of line after <" + child.name + ">");
        if (depth + 1 > kMaxSectionDepth) {
          return Status::invalidConfig(where.str() + ": sections nested deeper than " +
                                       std::to_string(kMaxSectionDepth) + " levels");
        }
        Status s = parseElement(child, false, child.name, depth + 1);
        if (!s) return s;
        elem.elements.push_back(std::move(child));
        continue;
      }
      // `include` (deprecated) or `@include` at the top of a file, `@include` anywhere.
      if ((root && matchKeyword("include")) || matchKeyword("@include")) {
        Status s = parseInclude(elem, depth);
        if (!s) return s;
        continue;
      }
      Location where = here();
      const bool quoted_key = peek() == '"' || peek() == '\'';
      auto key = scanKey();
      if (!key) return key.takeStatus();
      if (!quoted_key && !isPlausibleKey(*key)) {
        return Status::invalidConfig(where.str() + ": this line is not a parameter, a section or a "
                                     "comment (its text is not shown: it may not be a config file)");
      }
      if (key->starts_with('@') && depth <= 1 && !isKnownAtParam(*key)) {
        return Status::invalidConfig(where.str() + ": unknown parameter '" + *key +
                                     "': names starting with '@' are reserved (@type, @id, "
                                     "@label, @log_level, @include)");
      }
      // A key followed directly by a newline (or EOF) has the empty value: `retry_forever`.
      while (peek() == ' ' || peek() == '\t') ++pos_;
      if (eof() || peek() == '\n' || peek() == '\r') {
        elem.params.push_back(Param{*key, "", where});
        continue;
      }
      auto lit = parseLiteral();
      if (!lit) return lit.takeStatus();
      if (!skipLineEnd()) return error("expected end of line after the value of '" + *key + "'");
      Param p{*key, lit->text, where};
      p.special = lit->special;
      if (auto* existing = const_cast<Param*>(elem.find(*key))) {
        *existing = std::move(p);  // Fluentd: the last one wins.
      } else {
        elem.params.push_back(std::move(p));
      }
    }
  }

  bool matchKeyword(std::string_view word) {
    if (!text_.substr(pos_).starts_with(word)) return false;
    char after = pos_ + word.size() < text_.size() ? text_[pos_ + word.size()] : '\n';
    if (after != ' ' && after != '\t') return false;
    pos_ += word.size();
    return true;
  }

  Result<std::string> scanKey() {
    if (peek() == '"' || peek() == '\'') {
      auto lit = scanQuoted();
      if (!lit) return lit.takeStatus();
      return lit->text;
    }
    size_t start = pos_;
    while (!eof()) {
      char c = peek();
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') break;
      ++pos_;
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  Status parseInclude(Element& elem, int depth) {
    Location where = here();
    while (peek() == ' ' || peek() == '\t') ++pos_;
    auto lit = (peek() == '"' || peek() == '\'') ? scanQuoted() : scanUnquoted();
    if (!lit) return lit.takeStatus();
    if (!skipLineEnd()) return error("expected end of line after @include");
    std::string uri = lit->text;
    if (uri.starts_with("file://")) uri = uri.substr(7);
    if (uri.starts_with("http://") || uri.starts_with("https://")) {
      return Status::invalidConfig(where.str() + ": @include of a URL (" + uri +
                                   ") is not supported; include local files");
    }
    std::string pattern = uri.starts_with('/') ? uri : base_dir_ + "/" + uri;
    std::vector<std::string> paths;
    if (hasGlobChars(uri)) {
      glob_t g{};
      int rc = ::glob(pattern.c_str(), GLOB_BRACE, nullptr, &g);
      if (rc == 0) {
        for (size_t i = 0; i < g.gl_pathc; ++i) paths.emplace_back(g.gl_pathv[i]);
      }
      globfree(&g);
      std::sort(paths.begin(), paths.end());
    } else {
      struct stat st;
      if (::stat(pattern.c_str(), &st) != 0) {
        return Status::invalidConfig(where.str() + ": @include " + uri + ": file " + pattern +
                                     " does not exist");
      }
      paths.push_back(pattern);
    }
    if (include_stack_->size() >= kMaxIncludeDepth) {
      return Status::invalidConfig(where.str() + ": @include nested deeper than " +
                                   std::to_string(kMaxIncludeDepth) + " files");
    }
    for (const std::string& path : paths) {
      std::string canon = canonical(path);
      if (std::find(include_stack_->begin(), include_stack_->end(), canon) !=
          include_stack_->end()) {
        std::string chain;
        for (const auto& p : *include_stack_) chain += p + " -> ";
        return Status::invalidConfig(where.str() + ": include cycle: " + chain + canon);
      }
      auto data = readFile(path);
      if (!data) return data.status().withPrefix(where.str() + ": ");
      include_stack_->push_back(canon);
      Parser sub(*data, path, dirName(path), env_, include_stack_);
      Status s = sub.parseInto(elem, depth);
      include_stack_->pop_back();
      if (!s) return s;
    }
    return Status::ok();
  }

  Result<Literal> parseLiteral() {
    while (peek() == ' ' || peek() == '\t') ++pos_;
    if (peek() == '[' || peek() == '{') return scanJson();
    if (peek() == '"' || peek() == '\'') return scanQuoted();
    return scanUnquoted();
  }

  Result<Literal> scanUnquoted() {
    size_t start = pos_;
    while (!eof()) {
      if (peek() == '#') {
        ++pos_;
        continue;
      }
      if (lineEndAt(pos_) != std::string_view::npos) break;
      ++pos_;
    }
    Literal lit;
    lit.text = std::string(text_.substr(start, pos_ - start));
    lit.nil = lit.text.empty();
    return lit;
  }

  Result<Literal> scanQuoted() {
    char q = peek();
    Location where = here();
    ++pos_;
    Literal lit;
    while (true) {
      if (eof()) {
        return Status::invalidConfig(where.str() + ": unterminated " +
                                     (q == '"' ? "double" : "single") + "-quoted string");
      }
      char c = text_[pos_++];
      if (c == q) return lit;
      if (c == '\\') {
        if (eof()) continue;
        char n = text_[pos_++];
        if (q == '\'') {
          if (n != '\'' && n != '\\') lit.text += '\\';
          lit.text += n;
          continue;
        }
        switch (n) {
          case '"': lit.text += '"'; break;
          case '\'': lit.text += '\''; break;
          case 'r': lit.text += '\r'; break;
          case 'n': lit.text += '\n'; break;
          case 't': lit.text += '\t'; break;
          case 'f': lit.text += '\f'; break;
          case 'b': lit.text += '\b'; break;
          case '0': lit.text += '\0'; break;
          case '\n': break;  // line continuation
          case '\r':
            if (peek() == '\n') ++pos_;
            break;
          default:
            if (std::isalnum(static_cast<unsigned char>(n))) {
              return error(std::string("unknown escape '\\") + n + "' in a double-quoted string");
            }
            lit.text += n;
        }
        continue;
      }
      if (q == '"' && c == '#' && peek() == '{') {
        ++pos_;
        auto code = scanEmbeddedCode();
        if (!code) return code.takeStatus();
        auto v = evalEmbedded(*code, env_);
        if (!v) return v.status().withPrefix(here().str() + ": ");
        switch (v->kind) {
          case EvalValue::Kind::String:
          case EvalValue::Kind::False: lit.text += v->text; break;
          case EvalValue::Kind::Nil: break;
          case EvalValue::Kind::UseNil: lit.special = Param::Special::Nil; break;
          case EvalValue::Kind::UseDefault: lit.special = Param::Special::UseDefault; break;
        }
        continue;
      }
      lit.text += c;
    }
  }

  // After "#{": returns the code up to the matching '}' and consumes it.
  Result<std::string> scanEmbeddedCode() {
    size_t start = pos_;
    int depth = 0;
    while (!eof()) {
      char c = text_[pos_];
      if (c == '\'' || c == '"') {
        char q = c;
        ++pos_;
        while (!eof() && text_[pos_] != q) {
          if (text_[pos_] == '\\') ++pos_;
          ++pos_;
        }
        if (eof()) break;
        ++pos_;
        continue;
      }
      if (c == '#' && depth == 0 && pos_ + 1 < text_.size() && text_[pos_ + 1] != '{') {
        return error("a comment inside \"#{...}\" is not supported");
      }
      if (c == '{') ++depth;
      if (c == '}') {
        if (depth == 0) {
          std::string code(text_.substr(start, pos_ - start));
          ++pos_;
          return code;
        }
        --depth;
      }
      ++pos_;
    }
    return error("unterminated embedded expression \"#{...\"");
  }

  // A JSON array or hash, possibly over several lines, with '#' and '//' comments outside
  // strings. Kept as compact JSON text, as Fluentd keeps JSON.dump of it.
  Result<Literal> scanJson() {
    Location where = here();
    char open = peek();
    std::string buf;
    int depth = 0;
    bool in_string = false;
    while (!eof()) {
      char c = text_[pos_++];
      if (in_string) {
        if (c == '#' && peek() == '{') {
          // Embedded Ruby in a JSON string (Fluentd 1.18, fluent/fluentd#4580): the value is
          // spliced in JSON-escaped. A single-quoted value keeps "#{...}" as text.
          ++pos_;
          auto code = scanEmbeddedCode();
          if (!code) return code.takeStatus();
          auto v = evalEmbedded(*code, env_);
          if (!v) return v.status().withPrefix(here().str() + ": ");
          if (v->kind == EvalValue::Kind::UseNil || v->kind == EvalValue::Kind::UseDefault) {
            return Status::invalidConfig(here().str() + ": use_nil/use_default inside a JSON " +
                                         (open == '[' ? "array" : "hash") +
                                         " string has no meaning; they apply to a whole value");
          }
          if (v->kind != EvalValue::Kind::Nil) {
            std::string quoted;
            appendJsonString(quoted, v->text);
            buf.append(quoted, 1, quoted.size() - 2);  // without its quotes
          }
          continue;
        }
        buf += c;
        if (c == '\\' && !eof()) {
          buf += text_[pos_++];
        } else if (c == '"') {
          in_string = false;
        }
        continue;
      }
      if (c == '#' || (c == '/' && peek() == '/')) {
        while (!eof() && peek() != '\n') ++pos_;
        continue;
      }
      buf += c;
      if (c == '"') {
        in_string = true;
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if (c == ']' || c == '}') {
        if (--depth == 0) break;
      }
    }
    const char* what = open == '[' ? "array" : "hash";
    if (depth != 0) {
      return Status::invalidConfig(where.str() + ": incomplete JSON " + what +
                                   " (missing closing '" + (open == '[' ? "]" : "}") + "')");
    }
    Arena arena;
    auto parsed = parseJson(buf, arena);
    if (!parsed) {
      return Status::invalidConfig(where.str() + ": invalid JSON " + what + ": " +
                                   parsed.status().message());
    }
    Literal lit;
    lit.text = toJson(*parsed);
    return lit;
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t line_pos_ = 0;
  int line_ = 1;
  std::shared_ptr<const std::string> file_;
  std::string base_dir_;
  const EvalEnvironment& env_;
  std::vector<std::string>* include_stack_;
};

}  // namespace

Result<Element> parseConfigText(std::string_view text, const std::string& name,
                                const std::string& base_dir, const EvalEnvironment& environment) {
  std::vector<std::string> stack{name};
  Element root;
  root.name = "ROOT";
  root.where = Location{std::make_shared<const std::string>(name), 1};
  Parser parser(text, name, base_dir, environment, &stack);
  Status s = parser.parseInto(root, 0);
  if (!s) return s;
  return root;
}

Result<Element> parseConfigFile(const std::string& path, const EvalEnvironment& environment) {
  auto data = readFile(path);
  if (!data) return data.takeStatus();
  std::vector<std::string> stack{canonical(path)};
  Element root;
  root.name = "ROOT";
  root.where = Location{std::make_shared<const std::string>(path), 1};
  Parser parser(*data, path, dirName(path), environment, &stack);
  Status s = parser.parseInto(root, 0);
  if (!s) return s;
  return root;
}

Result<std::optional<std::string>> parseLiteralForTest(std::string_view text,
                                                       const EvalEnvironment& environment) {
  std::vector<std::string> stack;
  Parser parser(text, "(test)", ".", environment, &stack);
  return parser.parseLiteralOnly();
}

}  // namespace sluice::config
