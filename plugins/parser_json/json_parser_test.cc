// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_json/json_parser.h"
#include "support/alloc_counter.h"
#include "support/parser_support.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_json {
namespace {

using testing::PluginFactory;

std::vector<ParsedRecord> parseAll(const Parser& p, const std::vector<std::string_view>& lines, Arena& arena) {
  std::vector<ParsedRecord> out(lines.size());
  p.parse(LineBatch{lines}, arena, out);
  return out;
}

TEST(JsonParserTest, ParsesObjectsAndTakesTime) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "json", "");
  Arena arena;
  auto r = parseAll(*p, {R"({"time":"2026-11-22T01:02:03Z","msg":"hi"})", R"({"msg":"no time"})"}, arena);
  ASSERT_TRUE(r[0].ok());
  EXPECT_TRUE(r[0].has_time);
  EXPECT_EQ(r[0].time_ns, 1795309323LL * kNanosPerSecond);
  EXPECT_EQ(toJson(r[0].record), R"({"msg":"hi"})");
  ASSERT_TRUE(r[1].ok());
  EXPECT_FALSE(r[1].has_time);
}

TEST(JsonParserTest, RejectsWhatIsNotAnObject) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "json", "");
  Arena arena;
  auto r = parseAll(*p, {"not json", "[1,2]", "{\"a\":", "\"str\"", ""}, arena);
  for (const auto& rec : r) EXPECT_FALSE(rec.ok());
}

TEST(JsonParserTest, TimeOptions) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "json",
                              "time_key ts\ntime_type unixtime\nkeep_time_key true\ntypes n:integer,f:float,b:bool");
  Arena arena;
  auto r = parseAll(*p, {R"({"ts":1795309323,"n":"42","f":"1.5","b":"true"})"}, arena);
  ASSERT_TRUE(r[0].ok());
  EXPECT_EQ(r[0].time_ns, 1795309323LL * kNanosPerSecond);
  EXPECT_EQ(toJson(r[0].record), R"({"ts":1795309323,"n":42,"f":1.5,"b":true})");
  auto fmt = f.mustMake<Parser>(PluginKind::Parser, "json", "time_format %d/%m/%Y %H:%M:%S\nutc true");
  auto r2 = parseAll(*fmt, {R"({"time":"22/11/2026 01:02:03"})", R"({"time":"garbage"})"}, arena);
  EXPECT_EQ(r2[0].time_ns, 1795309323LL * kNanosPerSecond);
  EXPECT_FALSE(r2[1].ok());  // a bad time rejects the record, as Fluentd's ParserError does
}

TEST(JsonParserTest, NullRules) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "json", "null_value_pattern /^(-|NULL)$/\nnull_empty_string true");
  Arena arena;
  auto r = parseAll(*p, {R"({"a":"-","b":"","c":"NULL","d":"x"})"}, arena);
  EXPECT_EQ(toJson(r[0].record), R"({"a":null,"b":null,"c":null,"d":"x"})");
}

TEST(JsonParserTest, ConfigErrors) {
  PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Parser, "json", "time_type sometimes").isOk());
  EXPECT_FALSE(f.make(PluginKind::Parser, "json", "types a:decimal").isOk());
  EXPECT_FALSE(f.make(PluginKind::Parser, "json", "timezone Mars/Olympus").isOk());
  EXPECT_TRUE(f.make(PluginKind::Parser, "json", "json_parser yajl").isOk());  // ignored, accepted
}

TEST(JsonParserTest, WarmBatchAllocatesNothing) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "json", "");
  std::vector<std::string> lines = testing::linesOf(128, [](int i) {
    if (i < 64) return R"({"time":"2026-11-22T01:02:03.5Z","level":"info","n":)" + std::to_string(i) + "}";
    // and the measured records' shape, with other values
    return R"({"time":"2026-11-24T21:22:23.75Z","level":"error","n":)" + std::to_string(900000 + i - 64) +
           R"(,"m":"c
d"})";
  });
  testing::WarmParser warm(*p, std::move(lines), 3);
  // Other records than the warm-up's (values, escapes, times), so that an allocation that
  // depends on the content is seen.
  auto others = testing::linesOf(64, [](int i) {
    return R"({"time":"2026-11-23T11:12:13.25Z","level":"warn","n":)" + std::to_string(1000 + i * 13) + R"(,"m":"a\tb"})";
  });
  EXPECT_EQ(warm.measure(others), 0u);
  EXPECT_TRUE(warm.out()[63].ok());
}

}  // namespace
}  // namespace sluice::plugins::parser_json
