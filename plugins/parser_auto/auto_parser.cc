// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_auto/auto_parser.h"

namespace sluice::plugins::parser_auto {
namespace {

const std::array<Param<AutoConfig>, 1> kParams = {{
    {"message_key", &AutoConfig::message_key, "message", "Field that receives a line that is not JSON."},
}};

}  // namespace

Result<std::unique_ptr<AutoParser>> AutoParser::create(const AutoConfig& config, PluginContext& ctx) {
  return std::unique_ptr<AutoParser>(new AutoParser(config.message_key, ctx.metrics()));
}

void AutoParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  const auto& lines = in.lines;
  JsonRepairs repairs;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    size_t p = line.find_first_not_of(" \t");
    if (p != std::string_view::npos && line[p] == '{') {
      auto v = parseJson(line, arena, in.padded, &repairs);
      if (v && v->isObject()) {
        out[i].record = *v;
        continue;
      }
    }
    Member* m = arena.allocArray<Member>(4);
    m[0] = Member{key_, Value::string(line)};
    out[i].record = Value::object(m, 1, true);
  }
  repairs_.publish(repairs);
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<AutoParser>(
      PluginKind::Parser, "auto", "A JSON object line becomes the record; other lines become {message: line}.",
      kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_auto
