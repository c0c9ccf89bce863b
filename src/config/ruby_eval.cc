// SPDX-License-Identifier: Apache-2.0
// The evaluator of "#{...}" in config values: a parser and an evaluator of the small Ruby subset
// real configs use (ENV, Socket.gethostname, string methods, Integer(), IPAddr, ternaries),
// on the main thread while a config file is read.
// Why one file of ~940 lines: the parser (Parser, ~450 lines) and the evaluator (Evaluator and
// the builtins) share the value and node types and the table of known methods, and neither is
// usable or testable alone (ruby_eval_test.cc drives them together through evalEmbedded);
// splitting them would add an internal header that only re-exports those types.
#include "config/ruby_eval.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <vector>

namespace sluice::config {
namespace {

// Parentheses, ternaries, calls, interpolations and method chains nested deeper than this are
// an error, not a stack overflow (parsing and evaluating both recurse along the nesting).
constexpr int kMaxEvalDepth = 32;

// A Ruby value of the subset.
struct Val {
  enum class Type { Nil, False, True, Int, Str, Sym, IpAddr };
  Type type = Type::Nil;
  int64_t i = 0;
  std::string s;    // Str, Sym: the text; IpAddr: the address as IPAddr#to_s writes it
  bool v6 = false;  // IpAddr

  static Val str(std::string text) { return Val{Type::Str, 0, std::move(text)}; }
  static Val integer(int64_t n) { return Val{Type::Int, n, {}}; }
  static Val boolean(bool b) { return Val{b ? Type::True : Type::False, 0, {}}; }
  bool truthy() const { return type != Type::Nil && type != Type::False; }
  // Ruby's to_s, which "#{...}" applies to the result.
  std::string text() const {
    switch (type) {
      case Type::Nil: return "";
      case Type::False: return "false";
      case Type::True: return "true";
      case Type::Int: return std::to_string(i);
      default: return s;
    }
  }
  const char* className() const {
    static const char* const kNames[] = {"NilClass", "FalseClass", "TrueClass", "Integer", "String", "Symbol", "IPAddr"};
    return kNames[static_cast<int>(type)];
  }
};

// How an evaluation ended other than with a value: a Ruby exception (a StandardError, which a
// `rescue` modifier catches), Fluentd's SetNil/SetDefault (raised by use_nil/use_default; not
// StandardErrors, so never rescued), or something the subset cannot do correctly.
struct Raised {
  enum class Kind { Error, SetNil, SetDefault, Unsupported };
  Kind kind = Kind::Error;
  std::string message;
};

struct Outcome {
  Val value;
  std::unique_ptr<Raised> raised;
  static Outcome raise(Raised::Kind kind, std::string message) {
    Outcome o;
    o.raised = std::make_unique<Raised>(Raised{kind, std::move(message)});
    return o;
  }
  static Outcome error(std::string message) { return raise(Raised::Kind::Error, std::move(message)); }
};

// The parsed program: parsing reads all of it (an unsupported construct is an error even where
// evaluation would not reach it), evaluation then runs only what Ruby would run.
struct Node {
  enum class Op {
    Lit, Interp, Var, Assign, Seq, Or, And, Not, Eq, Ne, Add, Ternary, Rescue, Method,
    EnvGet, EnvFetch, EnvKey, IpAddrNew, IntegerFn, FileJoin, Hostname, WorkerId, UseNil, UseDefault,
  };
  Op op = Op::Lit;
  Val lit;           // Lit
  std::string name;  // Method: the method
  size_t slot = 0;   // Var, Assign: the local variable
  std::vector<std::unique_ptr<Node>> kids;
};
using NodePtr = std::unique_ptr<Node>;

NodePtr node(Node::Op op) {
  auto n = std::make_unique<Node>();
  n->op = op;
  return n;
}

bool identStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool identChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Methods of values the subset knows (which receiver takes which is decided when evaluating,
// as Ruby does: nil.strip raises NoMethodError).
bool knownMethod(std::string_view m) {
  static constexpr std::string_view kMethods[] = {"to_s", "to_i", "to_sym", "empty?", "nil?", "strip",
                                                  "downcase", "upcase", "ipv4?", "ipv6?"};
  for (std::string_view k : kMethods) {
    if (k == m) return true;
  }
  return false;
}

class Parser {
 public:
  explicit Parser(std::string_view code) : code_(code) {}

  // The whole code as a program, or an error naming what is not supported.
  Result<NodePtr> parseAll() {
    skipSpace();
    if (pos_ == code_.size()) {
      auto n = node(Node::Op::Lit);
      n->lit = Val::str("");
      return n;
    }
    auto program = parseProgram();
    if (!program) return program;
    skipSpace();
    if (pos_ != code_.size()) return unsupported("unexpected '" + std::string(code_.substr(pos_, 12)) + "'");
    return program;
  }
  size_t variables() const { return variables_.size(); }

 private:
  struct Enter {
    int& depth;
    ~Enter() { --depth; }
  };
  Status deeper() {
    return Status::invalidConfig("embedded Ruby expression nested deeper than " + std::to_string(kMaxEvalDepth) +
                                 " levels");
  }
  Status unsupported(const std::string& what) const {
    return Status::invalidConfig(
        "unsupported embedded Ruby expression \"#{" + std::string(code_) + "}\": " + what +
        " (sluice evaluates, executing nothing: string, integer and :symbol literals, \"#{...}\" interpolation, "
        "nil/true/false, local variables, ;, +, ==, !=, !, &&, ||, ?:, rescue modifiers, ENV[...], ENV.fetch, "
        "ENV.key?, Integer(), IPAddr.new(...).ipv4?/.ipv6?, File.join, Socket.gethostname, hostname, worker_id, "
        "use_nil, use_default, raise SetNil/SetDefault, and .to_s .to_i .to_sym .empty? .nil? .strip .downcase "
        ".upcase)");
  }

  void skipSpace() {
    while (pos_ < code_.size() && (code_[pos_] == ' ' || code_[pos_] == '\t' || code_[pos_] == '\n' ||
                                   code_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool peekIs(std::string_view token) {
    skipSpace();
    return code_.substr(pos_).starts_with(token);
  }
  bool eat(std::string_view token) {
    if (!peekIs(token)) return false;
    pos_ += token.size();
    return true;
  }
  // An identifier at pos_ (not consumed), without a trailing ? or !.
  std::string_view peekWord() {
    skipSpace();
    size_t end = pos_;
    if (end < code_.size() && identStart(code_[end])) {
      while (end < code_.size() && identChar(code_[end])) ++end;
    }
    return code_.substr(pos_, end - pos_);
  }
  bool eatWord(std::string_view word) {
    if (peekWord() != word) return false;
    pos_ += word.size();
    return true;
  }

  // program := stmt (';' stmt)*
  Result<NodePtr> parseProgram() {
    auto seq = node(Node::Op::Seq);
    while (true) {
      auto s = parseStmt();
      if (!s) return s;
      seq->kids.push_back(std::move(*s));
      if (!eat(";")) break;
      skipSpace();
      if (pos_ == code_.size() || code_[pos_] == ')' || code_[pos_] == '}') break;  // a trailing ;
    }
    if (seq->kids.size() == 1) return std::move(seq->kids[0]);
    return seq;
  }

  // stmt := IDENT '=' stmt | ternary ('rescue' ternary)*
  Result<NodePtr> parseStmt() {
    if (++depth_ > kMaxEvalDepth) return deeper();
    Enter leave{depth_};
    std::string_view word = peekWord();
    if (localName(word)) {
      size_t after = pos_ + word.size();
      while (after < code_.size() && (code_[after] == ' ' || code_[after] == '\t')) ++after;
      if (after < code_.size() && code_[after] == '=' && (after + 1 == code_.size() || (code_[after + 1] != '=' && code_[after + 1] != '~'))) {
        pos_ = after + 1;
        // Ruby knows the variable from here on, even in its own value (where it is nil).
        size_t slot = declare(word);
        auto value = parseStmt();
        if (!value) return value;
        auto n = node(Node::Op::Assign);
        n->slot = slot;
        n->kids.push_back(std::move(*value));
        return n;
      }
    }
    auto first = parseTernary();
    if (!first) return first;
    if (peekWord() != "rescue") return first;
    auto r = node(Node::Op::Rescue);
    r->kids.push_back(std::move(*first));
    while (eatWord("rescue")) {
      auto alt = parseTernary();
      if (!alt) return alt;
      r->kids.push_back(std::move(*alt));
    }
    return r;
  }

  // ternary := or ('?' ternary ':' ternary)?
  Result<NodePtr> parseTernary() {
    if (++depth_ > kMaxEvalDepth) return deeper();
    Enter leave{depth_};
    auto cond = parseOr();
    if (!cond) return cond;
    if (!eat("?")) return cond;
    auto yes = parseTernary();
    if (!yes) return yes;
    if (!eat(":")) return unsupported("'?' without its ':'");
    auto no = parseTernary();
    if (!no) return no;
    auto n = node(Node::Op::Ternary);
    n->kids.push_back(std::move(*cond));
    n->kids.push_back(std::move(*yes));
    n->kids.push_back(std::move(*no));
    return n;
  }

  // A left-associative chain of one operator, kept flat (no recursion per operand).
  template <class Next>
  Result<NodePtr> chain(Node::Op op, std::string_view token, Next next) {
    auto first = (this->*next)();
    if (!first) return first;
    if (!peekIs(token) || (token == "+" && peekIs("+="))) return first;
    auto n = node(op);
    n->kids.push_back(std::move(*first));
    while (eat(token)) {
      auto more = (this->*next)();
      if (!more) return more;
      n->kids.push_back(std::move(*more));
    }
    return n;
  }
  Result<NodePtr> parseOr() { return chain(Node::Op::Or, "||", &Parser::parseAnd); }
  Result<NodePtr> parseAnd() { return chain(Node::Op::And, "&&", &Parser::parseEquality); }

  // equality := additive (('==' | '!=') additive)?   (Ruby does not chain them)
  Result<NodePtr> parseEquality() {
    auto left = parseAdditive();
    if (!left) return left;
    Node::Op op;
    if (eat("==")) {
      op = Node::Op::Eq;
    } else if (eat("!=")) {
      op = Node::Op::Ne;
    } else {
      if (peekIs("=~") || peekIs("===") || peekIs("<") || peekIs(">")) return unsupported("comparison operator");
      return left;
    }
    auto right = parseAdditive();
    if (!right) return right;
    auto n = node(op);
    n->kids.push_back(std::move(*left));
    n->kids.push_back(std::move(*right));
    if (peekIs("==") || peekIs("!=")) return unsupported("chained ==/!=");
    return n;
  }

  Result<NodePtr> parseAdditive() { return chain(Node::Op::Add, "+", &Parser::parseUnary); }

  // unary := '!' unary | postfix
  Result<NodePtr> parseUnary() {
    if (peekIs("!") && !peekIs("!=")) {
      if (++depth_ > kMaxEvalDepth) return deeper();
      Enter leave{depth_};
      ++pos_;
      auto operand = parseUnary();
      if (!operand) return operand;
      auto n = node(Node::Op::Not);
      n->kids.push_back(std::move(*operand));
      return n;
    }
    return parsePostfix();
  }

  // postfix := primary ('.' method ['()'])*
  Result<NodePtr> parsePostfix() {
    auto value = parsePrimary();
    if (!value) return value;
    int calls = 0;
    while (true) {
      skipSpace();
      if (pos_ + 1 >= code_.size() || code_[pos_] != '.' || !identStart(code_[pos_ + 1])) break;
      ++pos_;
      size_t start = pos_;
      while (pos_ < code_.size() && identChar(code_[pos_])) ++pos_;
      if (pos_ < code_.size() && (code_[pos_] == '?' || code_[pos_] == '!')) ++pos_;
      std::string method(code_.substr(start, pos_ - start));
      if (!knownMethod(method)) return unsupported("method ." + method);
      if (eat("(") && !eat(")")) return unsupported("arguments to ." + method);
      if (depth_ + ++calls > kMaxEvalDepth) return deeper();
      auto n = node(Node::Op::Method);
      n->name = std::move(method);
      n->kids.push_back(std::move(*value));
      value = std::move(n);
    }
    if (peekIs("[")) return unsupported("indexing with []");
    return value;
  }

  static bool reserved(std::string_view w) {
    static constexpr std::string_view kWords[] = {
        "nil", "true", "false", "rescue", "raise", "and", "or", "not", "if", "unless", "then", "else", "elsif",
        "end", "while", "until", "do", "def", "class", "module", "begin", "ensure", "case", "when", "yield",
        "return", "self", "super", "defined", "alias", "undef", "for", "in", "break", "next", "redo", "retry",
        "use_nil", "use_default", "hostname", "worker_id", "__method__", "__FILE__", "__LINE__", "__dir__"};
    for (std::string_view k : kWords) {
      if (k == w) return true;
    }
    return false;
  }

  // A name Ruby would take for a local variable (or a method call): lower case or _, not a keyword.
  static bool localName(std::string_view w) {
    return !w.empty() && (std::islower(static_cast<unsigned char>(w[0])) || w[0] == '_') && !reserved(w);
  }

  size_t declare(std::string_view name) {
    auto [it, fresh] = variables_.emplace(std::string(name), variables_.size());
    return it->second;
  }

  // Arguments in parentheses: between `min` and `max` of them.
  Result<std::vector<NodePtr>> arguments(std::string_view what, size_t min, size_t max) {
    std::vector<NodePtr> args;
    if (!eat("(")) return unsupported(std::string(what) + " without parentheses");
    if (!eat(")")) {
      while (true) {
        auto a = parseStmt();
        if (!a) return a.takeStatus();
        args.push_back(std::move(*a));
        if (eat(")")) break;
        if (!eat(",")) return unsupported("argument list of " + std::string(what));
      }
    }
    if (args.size() < min || args.size() > max) {
      return unsupported(std::string(what) + " with " + std::to_string(args.size()) + " arguments");
    }
    return args;
  }
  Result<NodePtr> call(Node::Op op, std::string_view what, size_t min, size_t max) {
    auto args = arguments(what, min, max);
    if (!args) return args.takeStatus();
    auto n = node(op);
    n->kids = std::move(*args);
    return n;
  }

  Result<NodePtr> literal(Val v) {
    auto n = node(Node::Op::Lit);
    n->lit = std::move(v);
    return n;
  }

  Result<NodePtr> parsePrimary() {
    skipSpace();
    if (pos_ >= code_.size()) return unsupported("missing value at the end");
    const char c = code_[pos_];
    if (c == '\'' || c == '"') return parseString();
    if (c == '(') {
      ++pos_;
      skipSpace();
      if (eat(")")) return literal(Val{});  // () is nil
      auto v = parseProgram();
      if (!v) return v;
      if (!eat(")")) return unsupported("'(' without its ')'");
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '-' && pos_ + 1 < code_.size() && std::isdigit(static_cast<unsigned char>(code_[pos_ + 1])))) {
      return parseInteger();
    }
    if (c == ':' && pos_ + 1 < code_.size() && identStart(code_[pos_ + 1])) {
      size_t start = ++pos_;
      while (pos_ < code_.size() && identChar(code_[pos_])) ++pos_;
      if (pos_ < code_.size() && (code_[pos_] == '?' || code_[pos_] == '!')) ++pos_;
      return literal(Val{Val::Type::Sym, 0, std::string(code_.substr(start, pos_ - start))});
    }
    std::string_view word = peekWord();
    if (word.empty()) return unsupported("'" + std::string(code_.substr(pos_, 1)) + "'");
    pos_ += word.size();
    if (word == "nil") return literal(Val{});
    if (word == "true") return literal(Val::boolean(true));
    if (word == "false") return literal(Val::boolean(false));
    if (word == "use_nil") return node(Node::Op::UseNil);
    if (word == "use_default") return node(Node::Op::UseDefault);
    if (word == "hostname") return node(Node::Op::Hostname);
    if (word == "worker_id") return node(Node::Op::WorkerId);
    if (word == "raise") {
      if (eatWord("SetNil")) return node(Node::Op::UseNil);
      if (eatWord("SetDefault")) return node(Node::Op::UseDefault);
      return unsupported("raise of anything but SetNil or SetDefault");
    }
    if (word == "Socket") {
      if (eat(".gethostname")) {
        eat("()");
        return node(Node::Op::Hostname);
      }
      return unsupported("Socket other than Socket.gethostname");
    }
    if (word == "File") {
      if (eat(".join")) return call(Node::Op::FileJoin, "File.join", 0, 64);
      return unsupported("File other than File.join");
    }
    if (word == "Integer") return call(Node::Op::IntegerFn, "Integer()", 1, 1);
    if (word == "IPAddr") {
      if (eat(".new")) return call(Node::Op::IpAddrNew, "IPAddr.new", 1, 1);
      return unsupported("IPAddr other than IPAddr.new");
    }
    if (word == "ENV") {
      if (eat("[")) {
        auto name = parseStmt();
        if (!name) return name;
        if (!eat("]")) return unsupported("ENV[ without its ]");
        auto n = node(Node::Op::EnvGet);
        n->kids.push_back(std::move(*name));
        return n;
      }
      if (eat(".fetch")) return call(Node::Op::EnvFetch, "ENV.fetch", 1, 2);
      for (std::string_view m : {".key?", ".has_key?", ".include?"}) {
        if (eat(m)) return call(Node::Op::EnvKey, "ENV" + std::string(m), 1, 1);
      }
      return unsupported("ENV other than ENV[...], ENV.fetch and ENV.key?");
    }
    if (localName(word)) {
      auto it = variables_.find(std::string(word));
      if (it != variables_.end()) {
        auto n = node(Node::Op::Var);
        n->slot = it->second;
        return n;
      }
      return unsupported(peekIs("(") ? "call to " + std::string(word) + "()"
                                     : "'" + std::string(word) + "' (neither a local variable assigned before "
                                       "nor a method sluice knows)");
    }
    return unsupported("'" + std::string(word) + "'");
  }

  Result<NodePtr> parseInteger() {
    size_t start = pos_;
    bool negative = code_[pos_] == '-';
    if (negative) ++pos_;
    int64_t value = 0;
    bool last_digit = false;
    while (pos_ < code_.size()) {
      char d = code_[pos_];
      if (d == '_' && last_digit && pos_ + 1 < code_.size() && std::isdigit(static_cast<unsigned char>(code_[pos_ + 1]))) {
        ++pos_;
        last_digit = false;
        continue;
      }
      if (!std::isdigit(static_cast<unsigned char>(d))) break;
      if (__builtin_mul_overflow(value, 10, &value) ||
          (negative ? __builtin_sub_overflow(value, d - '0', &value) : __builtin_add_overflow(value, d - '0', &value))) {
        return unsupported("integer literal " + std::string(code_.substr(start, 24)) + " beyond 64 bits");
      }
      ++pos_;
      last_digit = true;
    }
    if (pos_ < code_.size() && (code_[pos_] == '.' && pos_ + 1 < code_.size() &&
                                std::isdigit(static_cast<unsigned char>(code_[pos_ + 1])))) {
      return unsupported("floating-point literal");
    }
    if (pos_ < code_.size() && identChar(code_[pos_])) return unsupported("number literal " + std::string(code_.substr(start, pos_ - start + 1)));
    return literal(Val::integer(value));
  }

  // 'text' (only \\ and \' escapes) or "text" (escapes and #{...} interpolation).
  Result<NodePtr> parseString() {
    const char q = code_[pos_++];
    auto interp = node(Node::Op::Interp);
    std::string text;
    auto flush = [&] {
      if (text.empty()) return;
      auto n = node(Node::Op::Lit);
      n->lit = Val::str(std::move(text));
      text.clear();
      interp->kids.push_back(std::move(n));
    };
    while (true) {
      if (pos_ >= code_.size()) return unsupported("unterminated string");
      char c = code_[pos_++];
      if (c == q) break;
      if (c == '\\' && pos_ < code_.size()) {
        char n = code_[pos_++];
        if (q == '\'') {
          if (n != '\'' && n != '\\') text += '\\';
          text += n;
          continue;
        }
        switch (n) {
          case 'n': text += '\n'; break;
          case 't': text += '\t'; break;
          case 'r': text += '\r'; break;
          case 's': text += ' '; break;
          case 'e': text += '\x1b'; break;
          case '0': text += '\0'; break;
          case 'u': case 'x': case 'c': case 'C': case 'M':
            return unsupported(std::string("escape \\") + n + " in a string");
          default: text += n;
        }
        continue;
      }
      if (q == '"' && c == '#' && pos_ < code_.size() && code_[pos_] == '{') {
        ++pos_;
        flush();
        skipSpace();
        if (eat("}")) continue;
        auto inner = parseProgram();
        if (!inner) return inner;
        if (!eat("}")) return unsupported("\"#{\" without its '}'");
        interp->kids.push_back(std::move(*inner));
        continue;
      }
      text += c;
    }
    flush();
    if (interp->kids.empty()) return literal(Val::str(""));
    if (interp->kids.size() == 1 && interp->kids[0]->op == Node::Op::Lit) return std::move(interp->kids[0]);
    return interp;
  }

  std::string_view code_;
  size_t pos_ = 0;
  int depth_ = 0;
  std::map<std::string, size_t, std::less<>> variables_;
};

// ---- evaluation ------------------------------------------------------------------------------

// Ruby's String#to_i: leading whitespace, a sign, digits (single underscores between them), up
// to the first other character; no digits is 0.
Outcome stringToI(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  int64_t v = 0;
  for (bool digit = false; i < s.size(); ++i) {
    if (s[i] == '_' && digit && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) continue;
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) break;
    digit = true;
    if (__builtin_mul_overflow(v, 10, &v) ||
        (negative ? __builtin_sub_overflow(v, s[i] - '0', &v) : __builtin_add_overflow(v, s[i] - '0', &v))) {
      return Outcome::raise(Raised::Kind::Unsupported, "\"" + std::string(s) + "\".to_i is beyond 64 bits");
    }
  }
  Outcome o;
  o.value = Val::integer(v);
  return o;
}

// Kernel#Integer of a string: optional whitespace around, a sign, a 0x/0b/0o/0d/0 prefix,
// digits with single underscores between them, nothing else.
Outcome kernelInteger(std::string_view s) {
  std::string_view t = s;
  auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!t.empty() && space(t.front())) t.remove_prefix(1);
  while (!t.empty() && (space(t.back()) || t.back() == '\0')) t.remove_suffix(1);
  const std::string invalid = "ArgumentError (invalid value for Integer(): \"" + std::string(s) + "\")";
  bool negative = false;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  int base = 10;
  if (t.size() >= 2 && t[0] == '0') {
    char p = static_cast<char>(std::tolower(static_cast<unsigned char>(t[1])));
    if (p == 'x' || p == 'b' || p == 'o' || p == 'd') {
      base = p == 'x' ? 16 : p == 'b' ? 2 : p == 'o' ? 8 : 10;
      t.remove_prefix(2);
    } else {
      base = 8;
      t.remove_prefix(1);
      if (!t.empty() && t[0] == '_') t.remove_prefix(1);
    }
  }
  if (t.empty() || t.front() == '_' || t.back() == '_') return Outcome::error(invalid);
  int64_t v = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = static_cast<char>(std::tolower(static_cast<unsigned char>(t[i])));
    if (c == '_') {
      if (t[i - 1] == '_') return Outcome::error(invalid);
      continue;
    }
    int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c >= 'a' && c <= 'z') ? c - 'a' + 10 : 99;
    if (d >= base) return Outcome::error(invalid);
    if (__builtin_mul_overflow(v, base, &v) ||
        (negative ? __builtin_sub_overflow(v, d, &v) : __builtin_add_overflow(v, d, &v))) {
      return Outcome::raise(Raised::Kind::Unsupported, "Integer(\"" + std::string(s) + "\") is beyond 64 bits");
    }
  }
  Outcome o;
  o.value = Val::integer(v);
  return o;
}

// IPAddr.new of a string: an IPv4 or IPv6 address (in brackets or not), with an optional
// /prefix length or /mask; the value is the address with the mask applied, as IPAddr keeps it.
Outcome ipAddrNew(const Val& arg) {
  if (arg.type != Val::Type::Str) {
    return Outcome::error(std::string("IPAddr::AddressFamilyError (address family must be specified for ") +
                          arg.className() + ")");
  }
  std::string_view s = arg.s;
  const std::string invalid = "IPAddr::InvalidAddressError (invalid address: " + arg.s + ")";
  std::string_view prefix;
  if (size_t slash = s.find('/'); slash != std::string_view::npos) {
    prefix = s.substr(slash + 1);
    s = s.substr(0, slash);
  }
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (s.empty() || s.size() > 45 || s.find('\0') != std::string_view::npos) return Outcome::error(invalid);
  const std::string text(s);
  unsigned char bytes[16] = {0};
  const bool v6 = s.find(':') != std::string_view::npos;
  if (inet_pton(v6 ? AF_INET6 : AF_INET, text.c_str(), bytes) != 1) return Outcome::error(invalid);
  const int bits = v6 ? 128 : 32;
  if (!prefix.empty() || s.size() != arg.s.size()) {
    int len = bits;
    if (!prefix.empty()) {
      if (prefix.find_first_not_of("0123456789") == std::string_view::npos && prefix.size() <= 3) {
        len = std::atoi(std::string(prefix).c_str());
      } else {
        unsigned char mask[16] = {0};
        if (inet_pton(v6 ? AF_INET6 : AF_INET, std::string(prefix).c_str(), mask) != 1) return Outcome::error(invalid);
        len = 0;
        bool ended = false;
        for (int b = 0; b < bits; ++b) {
          bool set = (mask[b / 8] >> (7 - b % 8)) & 1;
          if (set && ended) return Outcome::error(invalid);
          if (set) ++len; else ended = true;
        }
      }
      if (len > bits) return Outcome::error(invalid);
    }
    for (int b = len; b < bits; ++b) bytes[b / 8] &= static_cast<unsigned char>(~(1u << (7 - b % 8)));
  }
  char out[INET6_ADDRSTRLEN] = {0};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, out, sizeof(out));
  Outcome o;
  o.value = Val{Val::Type::IpAddr, 0, out, v6};
  return o;
}

bool isAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

bool sameValue(const Val& a, const Val& b) {
  if (a.type == Val::Type::IpAddr && b.type == Val::Type::Str) {
    Outcome other = ipAddrNew(b);
    return !other.raised && other.value.s == a.s;
  }
  if (a.type != b.type) return false;
  if (a.type == Val::Type::Int) return a.i == b.i;
  return a.s == b.s;
}

class Evaluator {
 public:
  Evaluator(const EvalEnvironment& env, size_t variables) : env_(env), vars_(variables) {}

  Outcome eval(const Node& n) {
    using Op = Node::Op;
    switch (n.op) {
      case Op::Lit: return value(n.lit);
      case Op::Interp: {
        std::string out;
        for (const auto& k : n.kids) {
          Outcome part = eval(*k);
          if (part.raised) return part;
          out += part.value.text();
        }
        return value(Val::str(std::move(out)));
      }
      case Op::Var: return value(vars_[n.slot]);
      case Op::Assign: {
        Outcome v = eval(*n.kids[0]);
        if (!v.raised) vars_[n.slot] = v.value;
        return v;
      }
      case Op::Seq: {
        Outcome last;
        for (const auto& k : n.kids) {
          last = eval(*k);
          if (last.raised) return last;
        }
        return last;
      }
      case Op::Or:
      case Op::And: {
        Outcome v;
        for (const auto& k : n.kids) {
          v = eval(*k);
          if (v.raised || v.value.truthy() == (n.op == Op::Or)) return v;  // only what Ruby evaluates
        }
        return v;
      }
      case Op::Not: {
        Outcome v = eval(*n.kids[0]);
        if (v.raised) return v;
        return value(Val::boolean(!v.value.truthy()));
      }
      case Op::Eq:
      case Op::Ne: {
        Outcome a = eval(*n.kids[0]);
        if (a.raised) return a;
        Outcome b = eval(*n.kids[1]);
        if (b.raised) return b;
        return value(Val::boolean(sameValue(a.value, b.value) == (n.op == Op::Eq)));
      }
      case Op::Add: {
        Outcome sum = eval(*n.kids[0]);
        for (size_t k = 1; k < n.kids.size() && !sum.raised; ++k) {
          Outcome next = eval(*n.kids[k]);
          if (next.raised) return next;
          if (sum.value.type == Val::Type::Str && next.value.type == Val::Type::Str) {
            sum.value.s += next.value.s;  // in place: a long chain of + stays linear
          } else {
            sum = add(sum.value, next.value);
          }
        }
        return sum;
      }
      case Op::Ternary: {
        Outcome c = eval(*n.kids[0]);
        if (c.raised) return c;
        return eval(*n.kids[c.value.truthy() ? 1 : 2]);
      }
      case Op::Rescue: {
        Outcome v = eval(*n.kids[0]);
        for (size_t k = 1; k < n.kids.size() && v.raised && v.raised->kind == Raised::Kind::Error; ++k) {
          v = eval(*n.kids[k]);
        }
        return v;
      }
      case Op::Method: {
        Outcome r = eval(*n.kids[0]);
        if (r.raised) return r;
        return method(r.value, n.name);
      }
      case Op::EnvGet:
      case Op::EnvFetch:
      case Op::EnvKey: return env(n);
      case Op::IpAddrNew: {
        Outcome a = eval(*n.kids[0]);
        if (a.raised) return a;
        return ipAddrNew(a.value);
      }
      case Op::IntegerFn: {
        Outcome a = eval(*n.kids[0]);
        if (a.raised) return a;
        if (a.value.type == Val::Type::Int) return a;
        if (a.value.type == Val::Type::Str) return kernelInteger(a.value.s);
        return Outcome::error(std::string("TypeError (can't convert ") + a.value.className() + " into Integer)");
      }
      case Op::FileJoin: {
        std::string out;
        for (const auto& k : n.kids) {
          Outcome a = eval(*k);
          if (a.raised) return a;
          if (a.value.type != Val::Type::Str) {
            return Outcome::error(std::string("TypeError (no implicit conversion of ") + a.value.className() +
                                  " into String, in File.join)");
          }
          const std::string& t = a.value.s;
          if (!out.empty() && out.back() != '/' && !t.starts_with('/')) out += '/';
          if (!out.empty() && out.back() == '/' && t.starts_with('/')) out.pop_back();
          out += t;
        }
        return value(Val::str(std::move(out)));
      }
      case Op::Hostname: return value(Val::str(env_.hostname));
      case Op::WorkerId: return value(Val::str(env_.worker_id.value_or("")));
      case Op::UseNil: return Outcome::raise(Raised::Kind::SetNil, "");
      case Op::UseDefault: return Outcome::raise(Raised::Kind::SetDefault, "");
    }
    return Outcome::raise(Raised::Kind::Unsupported, "an unknown node");
  }

 private:
  static Outcome value(Val v) {
    Outcome o;
    o.value = std::move(v);
    return o;
  }
  static Outcome noMethod(const Val& v, std::string_view m) {
    return Outcome::error("NoMethodError (undefined method '" + std::string(m) + "' for " +
                          (v.type == Val::Type::Nil ? std::string("nil") : "an instance of " + std::string(v.className())) + ")");
  }

  static Outcome add(const Val& a, const Val& b) {
    if (a.type == Val::Type::Str) {
      if (b.type != Val::Type::Str) {
        return Outcome::error(std::string("TypeError (no implicit conversion of ") + b.className() + " into String)");
      }
      return value(Val::str(a.s + b.s));
    }
    if (a.type == Val::Type::Int) {
      if (b.type != Val::Type::Int) {
        return Outcome::error(std::string("TypeError (") + b.className() + " can't be coerced into Integer)");
      }
      int64_t sum;
      if (__builtin_add_overflow(a.i, b.i, &sum)) return Outcome::raise(Raised::Kind::Unsupported, "an integer sum beyond 64 bits");
      return value(Val::integer(sum));
    }
    if (a.type == Val::Type::IpAddr) return Outcome::raise(Raised::Kind::Unsupported, "IPAddr arithmetic");
    return noMethod(a, "+");
  }

  static Outcome method(const Val& v, const std::string& m) {
    using T = Val::Type;
    if (m == "nil?") return value(Val::boolean(v.type == T::Nil));
    if (m == "to_s") return value(Val::str(v.text()));
    if (m == "to_i") {
      if (v.type == T::Str) return stringToI(v.s);
      if (v.type == T::Int) return value(v);
      if (v.type == T::Nil) return value(Val::integer(0));
      if (v.type == T::IpAddr) return Outcome::raise(Raised::Kind::Unsupported, "IPAddr#to_i");
      return noMethod(v, m);
    }
    if (m == "to_sym") {
      if (v.type == T::Str || v.type == T::Sym) return value(Val{T::Sym, 0, v.s});
      return noMethod(v, m);
    }
    if (m == "empty?") {
      if (v.type == T::Str || v.type == T::Sym) return value(Val::boolean(v.s.empty()));
      return noMethod(v, m);
    }
    if (m == "strip") {
      if (v.type != T::Str) return noMethod(v, m);
      std::string_view s = v.s;
      auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
      while (!s.empty() && space(s.front())) s.remove_prefix(1);
      while (!s.empty() && (space(s.back()) || s.back() == '\0')) s.remove_suffix(1);
      return value(Val::str(std::string(s)));
    }
    if (m == "downcase" || m == "upcase") {
      if (v.type != T::Str && v.type != T::Sym) return noMethod(v, m);
      if (!isAscii(v.s)) return Outcome::raise(Raised::Kind::Unsupported, "." + m + " of text that is not ASCII");
      Val out = v;
      for (char& c : out.s) {
        c = static_cast<char>(m == "downcase" ? std::tolower(static_cast<unsigned char>(c))
                                               : std::toupper(static_cast<unsigned char>(c)));
      }
      return value(std::move(out));
    }
    if (m == "ipv4?" || m == "ipv6?") {
      if (v.type != T::IpAddr) return noMethod(v, m);
      return value(Val::boolean(v.v6 == (m == "ipv6?")));
    }
    return Outcome::raise(Raised::Kind::Unsupported, "method ." + m);
  }

  Outcome env(const Node& n) {
    std::vector<Val> args;
    for (const auto& k : n.kids) {
      Outcome a = eval(*k);
      if (a.raised) return a;
      args.push_back(std::move(a.value));
    }
    if (args[0].type != Val::Type::Str) {
      return Outcome::error(std::string("TypeError (no implicit conversion of ") + args[0].className() + " into String)");
    }
    std::optional<std::string> found = env_.env ? env_.env(args[0].s) : std::nullopt;
    if (n.op == Node::Op::EnvKey) return value(Val::boolean(found.has_value()));
    if (found) return value(Val::str(std::move(*found)));
    if (n.op == Node::Op::EnvGet) return value(Val{});
    if (args.size() == 2) return value(args[1]);
    return Outcome::error("KeyError (environment variable " + args[0].s + " is not set: ENV.fetch without a default)");
  }

  const EvalEnvironment& env_;
  std::vector<Val> vars_;
};

}  // namespace

EvalEnvironment EvalEnvironment::fromProcess() {
  EvalEnvironment e;
  e.env = [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) e.hostname = host;
  if (const char* w = std::getenv("SERVERENGINE_WORKER_ID")) e.worker_id = w;
  return e;
}

Result<EvalValue> evalEmbedded(std::string_view code, const EvalEnvironment& environment) {
  Parser parser(code);
  auto program = parser.parseAll();
  if (!program) return program.takeStatus();
  Evaluator evaluator(environment, parser.variables());
  Outcome out = evaluator.eval(**program);
  if (out.raised) {
    switch (out.raised->kind) {
      case Raised::Kind::SetNil: return EvalValue{EvalValue::Kind::UseNil, ""};
      case Raised::Kind::SetDefault: return EvalValue{EvalValue::Kind::UseDefault, ""};
      case Raised::Kind::Unsupported:
        return Status::invalidConfig("unsupported embedded Ruby expression \"#{" + std::string(code) +
                                     "}\": " + out.raised->message);
      case Raised::Kind::Error:
        return Status::invalidConfig("embedded Ruby expression \"#{" + std::string(code) + "}\" raised " +
                                     out.raised->message);
    }
  }
  switch (out.value.type) {
    case Val::Type::Nil: return EvalValue{EvalValue::Kind::Nil, ""};
    case Val::Type::False: return EvalValue{EvalValue::Kind::False, "false"};
    default: return EvalValue{EvalValue::Kind::String, out.value.text()};
  }
}

}  // namespace sluice::config
