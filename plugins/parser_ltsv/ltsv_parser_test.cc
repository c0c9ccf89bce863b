// SPDX-License-Identifier: Apache-2.0
// Cases from Fluentd's test/plugin/test_parser_labeled_tsv.rb, restated.
#include <gtest/gtest.h>

#include "plugins/parser_ltsv/ltsv_parser.h"
#include "support/alloc_counter.h"
#include "support/parser_support.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_ltsv {
namespace {

std::vector<ParsedRecord> run(const std::string& config, std::vector<std::string_view> lines, Arena& arena) {
  return testing::parseWith("ltsv", config, std::move(lines), arena);
}

TEST(LtsvParserTest, ParsesLabelsAndTakesTheTime) {
  Arena arena;
  auto out = run("time_format %Y/%m/%d %H:%M:%S\nutc true",
                 {"time:2013/02/28 12:00:00\thost:192.168.0.1\treq_id:111"}, arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_TRUE(out[0].has_time);
  EXPECT_EQ(out[0].time_ns, 1362052800LL * kNanosPerSecond);
  EXPECT_EQ(toJson(out[0].record), R"({"host":"192.168.0.1","req_id":"111"})");
}

TEST(LtsvParserTest, CustomDelimiters) {
  Arena arena;
  auto out = run("delimiter ,\nlabel_delimiter =\ntime_format %Y/%m/%d %H:%M:%S\nutc true",
                 {"time=2013/02/28 12:00:00,host=192.168.0.1,req_id=111"}, arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].time_ns, 1362052800LL * kNanosPerSecond);
  EXPECT_EQ(toJson(out[0].record), R"({"host":"192.168.0.1","req_id":"111"})");
}

TEST(LtsvParserTest, DelimiterPatternAndWhiteSpace) {
  Arena arena;
  auto pat = run("delimiter_pattern /\\s+/", {"  host:192.168.0.1 \t req_id:111  user:-"}, arena);
  EXPECT_EQ(toJson(pat[0].record), R"({"host":"192.168.0.1","req_id":"111","user":"-"})");
  auto space = run("delimiter \" \"", {"  a:1 \t b:2\n  c:3 "}, arena);
  EXPECT_EQ(toJson(space[0].record), R"({"a":"1","b":"2","c":"3"})");
}

TEST(LtsvParserTest, PairsWithoutLabelAreSkippedAndTheFirstDelimiterCounts) {
  Arena arena;
  auto out = run("", {"a:1\tjunk\tb:x:y\t\tc:\ta:2"}, arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_FALSE(out[0].has_time);
  EXPECT_EQ(toJson(out[0].record), R"({"a":"2","b":"x:y","c":""})");
  auto empty = run("", {""}, arena);
  ASSERT_TRUE(empty[0].ok());
  EXPECT_EQ(toJson(empty[0].record), "{}");
}

TEST(LtsvParserTest, KeepTimeKeyTypesAndNulls) {
  Arena arena;
  auto keep = run("time_format %d/%b/%Y:%H:%M:%S %z\nkeep_time_key true\ntypes req_id:integer",
                  {"time:28/Feb/2013:12:00:00 +0900\treq_id:111"}, arena);
  ASSERT_TRUE(keep[0].ok());
  EXPECT_EQ(keep[0].time_ns, 1362020400LL * kNanosPerSecond);
  EXPECT_EQ(toJson(keep[0].record), R"({"time":"28/Feb/2013:12:00:00 +0900","req_id":111})");
  auto nulls = run("null_value_pattern ^(-|null|NULL)$", {"a:-\tb:null\tc:NULL\td:\te:--\tf:nuLL"}, arena);
  EXPECT_EQ(toJson(nulls[0].record), R"({"a":null,"b":null,"c":null,"d":"","e":"--","f":"nuLL"})");
  auto empty = run("null_empty_string true", {"a:\tb:x"}, arena);
  EXPECT_EQ(toJson(empty[0].record), R"({"a":null,"b":"x"})");
  auto bad = run("time_format %Y", {"time:never"}, arena);
  EXPECT_FALSE(bad[0].ok());
}

TEST(LtsvParserTest, ConfigErrors) {
  testing::PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Parser, "ltsv", "label_delimiter \"\"").isOk());
  EXPECT_FALSE(f.make(PluginKind::Parser, "ltsv", "delimiter_pattern /(?<=a)b/").isOk());
}

TEST(LtsvParserTest, WarmBatchAllocatesNothing) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "ltsv", "");
  testing::WarmParser warm(*p, testing::linesOf(64, [](int i) {
    return "host:10.0.0." + std::to_string(i) + "\tpath:/x\tcode:200\tsize:" + std::to_string(i * 7);
  }));
  EXPECT_EQ(warm.measure(), 0u);
  EXPECT_EQ(toJson(warm.out()[63].record), R"({"host":"10.0.0.63","path":"/x","code":"200","size":"441"})");
}

}  // namespace
}  // namespace sluice::plugins::parser_ltsv
