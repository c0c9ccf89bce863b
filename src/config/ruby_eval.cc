// SPDX-License-Identifier: Apache-2.0
#include "config/ruby_eval.h"

#include <unistd.h>

#include <cstdlib>

namespace sluice::config {
namespace {

// Parentheses and calls nested deeper than this are an error, not a stack overflow.
constexpr int kMaxEvalDepth = 32;

class Evaluator {
 public:
  Evaluator(std::string_view code, const EvalEnvironment& environment)
      : code_(code), env_(environment) {}

  Result<EvalValue> run() {
    skipSpace();
    if (pos_ == code_.size()) return EvalValue{EvalValue::Kind::String, ""};
    auto v = orExpr();
    if (!v) return v;
    skipSpace();
    if (pos_ != code_.size()) return unsupported();
    return v;
  }

 private:
  Status unsupported() const {
    return Status::invalidConfig("unsupported embedded Ruby expression \"#{" + std::string(code_) +
                                 "}\" (sluice evaluates only ENV[...], ENV.fetch, ||, string "
                                 "literals, File.join, hostname, worker_id, use_nil, "
                                 "use_default)");
  }

  void skipSpace() {
    while (pos_ < code_.size() && (code_[pos_] == ' ' || code_[pos_] == '\t' ||
                                   code_[pos_] == '\n' || code_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool eat(std::string_view token) {
    skipSpace();
    if (code_.substr(pos_).starts_with(token)) {
      pos_ += token.size();
      return true;
    }
    return false;
  }
  bool eatWord(std::string_view word) {
    skipSpace();
    if (!code_.substr(pos_).starts_with(word)) return false;
    size_t end = pos_ + word.size();
    if (end < code_.size()) {
      char c = code_[end];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '?' || c == '!') {
        return false;
      }
    }
    pos_ = end;
    return true;
  }

  static bool truthy(const EvalValue& v) { return v.kind == EvalValue::Kind::String; }

  Result<EvalValue> orExpr() {
    if (++depth_ > kMaxEvalDepth) {
      return Status::invalidConfig("embedded Ruby expression nested deeper than " +
                                   std::to_string(kMaxEvalDepth) + " levels");
    }
    struct Leave {
      int& d;
      ~Leave() { --d; }
    } leave{depth_};
    auto left = primary();
    if (!left) return left;
    while (eat("||")) {
      auto right = primary();
      if (!right) return right;
      if (!truthy(*left)) left = std::move(right);
    }
    return left;
  }

  Result<std::string> stringLiteral() {
    skipSpace();
    if (pos_ >= code_.size()) return unsupported();
    char q = code_[pos_];
    if (q != '\'' && q != '"') return unsupported();
    ++pos_;
    std::string out;
    while (pos_ < code_.size() && code_[pos_] != q) {
      char c = code_[pos_++];
      if (c == '\\' && pos_ < code_.size()) {
        char n = code_[pos_++];
        if (q == '\'') {
          if (n != '\'' && n != '\\') out += '\\';
          out += n;
        } else {
          switch (n) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case '0': out += '\0'; break;
            default: out += n;
          }
        }
        continue;
      }
      if (q == '"' && c == '#' && pos_ < code_.size() && code_[pos_] == '{') return unsupported();
      out += c;
    }
    if (pos_ >= code_.size()) return unsupported();
    ++pos_;
    return out;
  }

  Result<std::vector<EvalValue>> arguments() {
    std::vector<EvalValue> args;
    if (!eat("(")) return unsupported();
    if (eat(")")) return args;
    while (true) {
      auto v = orExpr();
      if (!v) return v.takeStatus();
      args.push_back(std::move(*v));
      if (eat(")")) return args;
      if (!eat(",")) return unsupported();
    }
  }

  Result<EvalValue> primary() {
    skipSpace();
    if (pos_ >= code_.size()) return unsupported();
    char c = code_[pos_];
    if (c == '\'' || c == '"') {
      auto s = stringLiteral();
      if (!s) return s.takeStatus();
      return EvalValue{EvalValue::Kind::String, std::move(*s)};
    }
    if (c == '(') {
      ++pos_;
      auto v = orExpr();
      if (!v) return v;
      if (!eat(")")) return unsupported();
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      size_t start = pos_++;
      while (pos_ < code_.size() && std::isdigit(static_cast<unsigned char>(code_[pos_]))) ++pos_;
      return EvalValue{EvalValue::Kind::String, std::string(code_.substr(start, pos_ - start))};
    }
    if (eatWord("nil")) return EvalValue{EvalValue::Kind::Nil, ""};
    if (eatWord("true")) return EvalValue{EvalValue::Kind::String, "true"};
    if (eatWord("false")) return EvalValue{EvalValue::Kind::False, "false"};
    if (eatWord("use_nil")) return EvalValue{EvalValue::Kind::UseNil, ""};
    if (eatWord("use_default")) return EvalValue{EvalValue::Kind::UseDefault, ""};
    if (eatWord("raise")) {
      if (eatWord("SetNil")) return EvalValue{EvalValue::Kind::UseNil, ""};
      if (eatWord("SetDefault")) return EvalValue{EvalValue::Kind::UseDefault, ""};
      return unsupported();
    }
    if (eatWord("hostname") || (eat("Socket.gethostname"))) {
      return EvalValue{EvalValue::Kind::String, env_.hostname};
    }
    if (eatWord("worker_id")) {
      return EvalValue{EvalValue::Kind::String, env_.worker_id.value_or("")};
    }
    if (eat("File.join")) {
      auto args = arguments();
      if (!args) return args.takeStatus();
      std::string out;
      for (const EvalValue& a : *args) {
        if (a.kind != EvalValue::Kind::String) {
          return Status::invalidConfig("File.join got nil in \"#{" + std::string(code_) + "}\"");
        }
        if (!out.empty() && out.back() != '/' && !a.text.starts_with('/')) out += '/';
        if (!out.empty() && out.back() == '/' && a.text.starts_with('/')) out.pop_back();
        out += a.text;
      }
      return EvalValue{EvalValue::Kind::String, std::move(out)};
    }
    if (eat("ENV")) {
      if (eat("[")) {
        auto name = orExpr();
        if (!name) return name;
        if (!eat("]")) return unsupported();
        auto value = env_.env ? env_.env(name->text) : std::nullopt;
        if (!value) return EvalValue{EvalValue::Kind::Nil, ""};
        return EvalValue{EvalValue::Kind::String, std::move(*value)};
      }
      if (eat(".fetch")) {
        auto args = arguments();
        if (!args) return args.takeStatus();
        if (args->empty() || args->size() > 2) return unsupported();
        auto value = env_.env ? env_.env((*args)[0].text) : std::nullopt;
        if (value) return EvalValue{EvalValue::Kind::String, std::move(*value)};
        if (args->size() == 2) return (*args)[1];
        return Status::invalidConfig("environment variable " + (*args)[0].text +
                                     " is not set (ENV.fetch without a default)");
      }
      return unsupported();
    }
    return unsupported();
  }

  std::string_view code_;
  const EvalEnvironment& env_;
  size_t pos_ = 0;
  int depth_ = 0;
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
  Evaluator ev(code, environment);
  return ev.run();
}

}  // namespace sluice::config
