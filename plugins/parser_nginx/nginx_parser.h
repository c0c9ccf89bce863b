// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::parser_nginx {

struct NginxConfig : ParserCommon {
  std::string expression;
};

// Fluentd's nginx parser: a regexp parser whose expression and time_format default to nginx's
// combined log format (fields remote, host, user, method, path, code, size, referer, agent and
// http_x_forwarded_for, all strings; a group that took no part is left out). Both can be
// overridden, as in Fluentd; types, time_key and the null rules apply as for regexp.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently.
class NginxParser final : public Parser {
 public:
  static Result<std::unique_ptr<NginxParser>> create(const NginxConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

 private:
  NginxParser(std::unique_ptr<RE2> re, ParserTime time);

  const std::unique_ptr<RE2> re_;
  const ParserTime time_;
  const NamedGroups groups_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_nginx
