// SPDX-License-Identifier: Apache-2.0
// Cases from Fluentd's test/plugin/test_parser_tsv.rb, restated.
#include <gtest/gtest.h>

#include "plugins/parser_tsv/tsv_parser.h"
#include "support/alloc_counter.h"
#include "support/parser_support.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_tsv {
namespace {

std::vector<ParsedRecord> run(const std::string& config, std::vector<std::string_view> lines, Arena& arena) {
  return testing::parseWith("tsv", config, std::move(lines), arena);
}

TEST(TsvParserTest, FieldsAndTime) {
  Arena arena;
  auto out = run("keys a,b", {"192.168.0.1\t111"}, arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_FALSE(out[0].has_time);
  EXPECT_EQ(toJson(out[0].record), R"({"a":"192.168.0.1","b":"111"})");
  auto timed = run("keys time,a,b\ntime_key time\ntime_format %d/%b/%Y:%H:%M:%S %z",
                   {"28/Feb/2013:12:00:00 +0900\t192.168.0.1\t111"}, arena);
  ASSERT_TRUE(timed[0].ok());
  EXPECT_EQ(timed[0].time_ns, 1362020400LL * kNanosPerSecond);
  EXPECT_EQ(toJson(timed[0].record), R"({"a":"192.168.0.1","b":"111"})");
  auto keep = run("keys time,a\ntime_key time\nkeep_time_key true\ntime_format %d/%b/%Y:%H:%M:%S %z",
                  {"28/Feb/2013:12:00:00 +0900\tx"}, arena);
  EXPECT_EQ(toJson(keep[0].record), R"({"time":"28/Feb/2013:12:00:00 +0900","a":"x"})");
}

TEST(TsvParserTest, SplitsAsRubyWithALimit) {
  Arena arena;
  auto out = run("keys a,b", {"x\ty\tz", "x", "x\t", ""}, arena);
  EXPECT_EQ(toJson(out[0].record), R"({"a":"x","b":"y\tz"})");
  EXPECT_EQ(toJson(out[1].record), R"({"a":"x","b":null})");
  EXPECT_EQ(toJson(out[2].record), R"({"a":"x","b":""})");
  EXPECT_EQ(toJson(out[3].record), R"({"a":null,"b":null})");
  auto three = run("keys a,b,c", {"x\t\t"}, arena);
  EXPECT_EQ(toJson(three[0].record), R"({"a":"x","b":"","c":""})");
  auto comma = run("keys a,b\ndelimiter ,", {"192.168.0.1,111"}, arena);
  EXPECT_EQ(toJson(comma[0].record), R"({"a":"192.168.0.1","b":"111"})");
  auto space = run("keys a,b\ndelimiter \" \"", {"  x \t y  z ", "   "}, arena);
  EXPECT_EQ(toJson(space[0].record), R"({"a":"x","b":"y  z "})");
  EXPECT_EQ(toJson(space[1].record), R"({"a":null,"b":null})");
  auto one = run("keys a\ndelimiter \" \"", {"  x y"}, arena);
  EXPECT_EQ(toJson(one[0].record), R"({"a":"  x y"})");
}

TEST(TsvParserTest, NullRulesAndTypes) {
  Arena arena;
  auto nulls = run("keys a,b,c,d,e,f\nnull_value_pattern ^(-|null|NULL)$", {"-\tnull\tNULL\t\t--\tnuLL"}, arena);
  EXPECT_EQ(toJson(nulls[0].record), R"({"a":null,"b":null,"c":null,"d":"","e":"--","f":"nuLL"})");
  auto empty = run("keys a,b,c,d,e,f\nnull_empty_string true", {"-\tnull\tNULL\t\t--\tnuLL"}, arena);
  EXPECT_EQ(toJson(empty[0].record), R"({"a":"-","b":"null","c":"NULL","d":null,"e":"--","f":"nuLL"})");
  auto typed = run("keys a,b\ntypes a:integer", {"7\tx"}, arena);
  EXPECT_EQ(toJson(typed[0].record), R"({"a":7,"b":"x"})");
}

TEST(TsvParserTest, ConfigErrors) {
  testing::PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Parser, "tsv", "").isOk());
  EXPECT_FALSE(f.make(PluginKind::Parser, "tsv", "keys a\ndelimiter \"\"").isOk());
}

TEST(TsvParserTest, WarmBatchAllocatesNothing) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "tsv", "keys host,path,code");
  testing::WarmParser warm(*p, testing::linesOf(64, [](int i) { return "10.0.0." + std::to_string(i) + "\t/x\t200"; }));
  EXPECT_EQ(warm.measure(), 0u);
  EXPECT_EQ(toJson(warm.out()[63].record), R"({"host":"10.0.0.63","path":"/x","code":"200"})");
}

}  // namespace
}  // namespace sluice::plugins::parser_tsv
