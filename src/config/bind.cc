// SPDX-License-Identifier: Apache-2.0
#include "config/bind.h"

#include <mutex>
#include <set>

#include "core/ruby_regex.h"
#include "monitor/log.h"

namespace sluice {

std::string_view paramTypeName(ParamType type) {
  switch (type) {
    case ParamType::String: return "string";
    case ParamType::Integer: return "integer";
    case ParamType::Float: return "float";
    case ParamType::Size: return "size";
    case ParamType::SizeLimit: return "size or -1";
    case ParamType::Time: return "time";
    case ParamType::Bool: return "bool";
    case ParamType::Enum: return "enum";
    case ParamType::Array: return "array";
    case ParamType::Hash: return "hash";
    case ParamType::Regexp: return "regexp";
  }
  return "string";
}

namespace config {

bool enumAllows(std::string_view choices, std::string_view value) {
  size_t start = 0;
  while (start <= choices.size()) {
    size_t bar = choices.find('|', start);
    std::string_view option = choices.substr(start, bar == std::string_view::npos ? choices.npos : bar - start);
    if (option == value) return true;
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  return false;
}

Status checkRegexp(std::string_view value) {
  auto re = compileRubyRegex(value);
  return re ? Status::ok() : re.takeStatus();
}

void warnIgnored(const Location& where, std::string_view key, std::string_view why) {
  static std::mutex mu;
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(mu);
  if (!warned.insert(std::string(key)).second) return;
  Logger::global().log(LogLevel::Warn, "[config]",
                       where.str() + ": parameter '" + std::string(key) +
                           "' is accepted for Fluentd compatibility and ignored: " +
                           std::string(why));
}

}  // namespace config
}  // namespace sluice
