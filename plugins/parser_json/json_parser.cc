// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_json/json_parser.h"

#include "core/json_borrow.h"

namespace sluice::plugins::parser_json {
namespace {

const auto kParams = concatParams(
    parserCommonParams<JsonConfig>("time"),
    std::array<Param<JsonConfig>, 2>{{
        {"json_parser", {}, nullptr, "sluice always parses JSON with simdjson (Fluentd: oj, yajl or json).", {}, kIgnored},
        {"stream_buffer_size", {}, nullptr, "Only used by Fluentd's yajl stream parser.", {}, kIgnored},
    }});

}  // namespace

Result<std::unique_ptr<JsonParser>> JsonParser::create(const JsonConfig& config, PluginContext& ctx) {
  auto time = ParserTime::create(config);
  if (!time) return time.takeStatus();
  return std::unique_ptr<JsonParser>(new JsonParser(std::move(*time), ctx.metrics()));
}

void JsonParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  const auto& lines = in.lines;
  JsonRepairs repairs;
  for (size_t i = 0; i < lines.size(); ++i) {
    ParsedRecord& rec = out[i];
    auto v = parseJsonBorrowing(lines[i], arena, in.padded, &repairs);
    if (!v) {
      rec.error = "invalid JSON";
      continue;
    }
    if (!v->isObject()) {
      rec.error = "JSON is not an object";
      continue;
    }
    rec.record = *v;
    time_.apply(rec, arena);
  }
  repairs_.publish(repairs);
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<JsonParser>(
      PluginKind::Parser, "json", "Parses each line as a JSON object (simdjson).", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_json
