// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::parser_msgpack {

struct MsgpackConfig : ParserCommon {};

// Fluentd's parser_msgpack: each input (a "line": any bytes, e.g. a binary field read by the
// parser filter) holds a MessagePack map, which is the record; then the time from time_key
// (none by default), `types` and the null rules. Strings of the record point into the input.
// An input that is not one map (a string, several maps, an array of maps) is rejected with
// the reason: the parser interface gives one record per input, as the json parser does.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently (msgpack's zone is per thread).
class MsgpackParser final : public Parser {
 public:
  static Result<std::unique_ptr<MsgpackParser>> create(const MsgpackConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;

 private:
  explicit MsgpackParser(ParserTime time) : time_(std::move(time)) {}
  const ParserTime time_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_msgpack
