// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::parser_apache2 {

struct Apache2Config {
  bool keep_time_key = false;
};

// Fluentd's apache2 parser: Apache's combined log format, fields host, user, method, path,
// code, size, referer, agent, always all of them: `-` (and an absent part) is null, code and
// size are integers (code 0 is null). The time is `%d/%b/%Y:%H:%M:%S %z`; a line that does not
// match or has a bad time is rejected.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently.
class Apache2Parser final : public Parser {
 public:
  static Result<std::unique_ptr<Apache2Parser>> create(const Apache2Config& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

 private:
  explicit Apache2Parser(const Apache2Config& config);

  const bool keep_time_key_;
  const RE2 re_;
  const TimeParser time_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_apache2
