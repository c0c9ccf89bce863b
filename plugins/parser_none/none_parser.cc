// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_none/none_parser.h"

namespace sluice::plugins::parser_none {
namespace {

const std::array<Param<NoneConfig>, 1> kParams = {{
    {"message_key", &NoneConfig::message_key, "message", "Field that receives the line."},
}};

}  // namespace

Result<std::unique_ptr<NoneParser>> NoneParser::create(const NoneConfig& config, PluginContext& ctx) {
  return std::unique_ptr<NoneParser>(new NoneParser(config.message_key));
}

void NoneParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  const auto& lines = in.lines;
  for (size_t i = 0; i < lines.size(); ++i) {
    Member* m = arena.allocArray<Member>(4);
    m[0] = Member{key_, Value::string(lines[i])};
    out[i].record = Value::object(m, 1, true);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<NoneParser>(
      PluginKind::Parser, "none", "Keeps each line unparsed in message_key.", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_none
