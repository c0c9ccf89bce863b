// SPDX-License-Identifier: Apache-2.0
// Cases from Fluentd's test/plugin/test_parser_csv.rb, restated.
#include <gtest/gtest.h>

#include "plugins/parser_csv/csv_parser.h"
#include "support/alloc_counter.h"
#include "support/parser_support.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_csv {
namespace {

std::vector<ParsedRecord> run(const std::string& config, std::vector<std::string_view> lines, Arena& arena) {
  return testing::parseWith("csv", config, std::move(lines), arena);
}

TEST(CsvParserTest, FieldsAndTime) {
  Arena arena;
  auto out = run("keys time,c,d\ntime_key time\ntime_format %d/%b/%Y:%H:%M:%S %z",
                 {"28/Feb/2013:12:00:00 +0900,192.168.0.1,111"}, arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].time_ns, 1362020400LL * kNanosPerSecond);
  EXPECT_EQ(toJson(out[0].record), R"({"c":"192.168.0.1","d":"111"})");
  auto keep = run("keys time,c\ntime_key time\nkeep_time_key true\ntime_format %d/%b/%Y:%H:%M:%S %z",
                  {"28/Feb/2013:12:00:00 +0900,x"}, arena);
  EXPECT_EQ(toJson(keep[0].record), R"({"time":"28/Feb/2013:12:00:00 +0900","c":"x"})");
}

TEST(CsvParserTest, NoTimeKeyByDefault) {
  Arena arena;
  auto out = run("keys time,a", {"2013-02-28T12:00:00Z,b"}, arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_FALSE(out[0].has_time);
  EXPECT_EQ(toJson(out[0].record), R"({"time":"2013-02-28T12:00:00Z","a":"b"})");
}

TEST(CsvParserTest, QuotingAsRubyCsv) {
  Arena arena;
  auto out = run("keys a,b,c", {"\"x,y\",\"say \"\"hi\"\"\",", "\"\",,z", "one", "a,b,c,d\r\n", "a,\"b\n"}, arena);
  EXPECT_EQ(toJson(out[0].record), R"({"a":"x,y","b":"say \"hi\"","c":null})");
  EXPECT_EQ(toJson(out[1].record), R"({"a":"","b":null,"c":"z"})");
  EXPECT_EQ(toJson(out[2].record), R"({"a":"one","b":null,"c":null})");
  EXPECT_EQ(toJson(out[3].record), R"({"a":"a","b":"b","c":"c"})");
  EXPECT_FALSE(out[4].ok());
}

TEST(CsvParserTest, MalformedLinesAreRejectedWithAReason) {
  Arena arena;
  auto out = run("keys a,b", {"a\"b,c", "\"a\"b,c", "\"open,c", "", " \"a\",b"}, arena);
  for (const auto& r : out) EXPECT_FALSE(r.ok());
  EXPECT_NE(out[2].error.find("unclosed"), std::string_view::npos) << out[2].error;
  EXPECT_NE(out[1].error.find("after a quoted field"), std::string_view::npos) << out[1].error;
}

TEST(CsvParserTest, DelimiterAndNullRules) {
  Arena arena;
  auto tab = run("keys a,b\ndelimiter \"\\t\"", {"x,1\t\"y\tz\""}, arena);
  EXPECT_EQ(toJson(tab[0].record), R"({"a":"x,1","b":"y\tz"})");
  auto multi = run("keys a,b\ndelimiter ::", {"x::y"}, arena);
  EXPECT_EQ(toJson(multi[0].record), R"({"a":"x","b":"y"})");
  auto nulls = run("keys a,b,c,d,e,f\nnull_value_pattern ^(-|null|NULL)$", {"-,null,NULL,,--,nuLL"}, arena);
  EXPECT_EQ(toJson(nulls[0].record), R"({"a":null,"b":null,"c":null,"d":null,"e":"--","f":"nuLL"})");
  auto empty = run("keys a,b,c\nnull_empty_string true", {"\"\",,x"}, arena);
  EXPECT_EQ(toJson(empty[0].record), R"({"a":null,"b":null,"c":"x"})");
  auto typed = run("keys a,b\ntypes a:integer,b:float", {"12,1.5"}, arena);
  EXPECT_EQ(toJson(typed[0].record), R"({"a":12,"b":1.5})");
}

// test_parse_fast compares the fast engine with the normal one on well-formed lines.
TEST(CsvParserTest, FastEngineAgreesOnWellFormedLines) {
  Arena arena;
  std::vector<std::string_view> lines = {"a,b",          "\"a\",\"b\"",   "\"a,b\",c", "\"a,,b\",c", "\"a\"\"b\",c",
                                         "\"a\"\"\"\"b\",c", ",b",         "\"\",b",    "a,"};
  auto normal = run("keys x,y", lines, arena);
  auto fast = run("keys x,y\nparser_engine fast", lines, arena);
  auto old = run("keys x,y\nparser_type fast", lines, arena);
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(normal[i].ok()) << lines[i];
    EXPECT_EQ(toJson(fast[i].record), toJson(normal[i].record)) << lines[i];
    EXPECT_EQ(toJson(old[i].record), toJson(normal[i].record)) << lines[i];
  }
  // Where they differ: fast takes a stray quote as text and an empty line as an empty record.
  auto lenient = run("keys x,y\nparser_engine fast", {"a\"b,c", ""}, arena);
  EXPECT_EQ(toJson(lenient[0].record), R"({"x":"a\"b","y":"c"})");
  ASSERT_TRUE(lenient[1].ok());
  EXPECT_EQ(toJson(lenient[1].record), "{}");
}

TEST(CsvParserTest, ConfigErrors) {
  testing::PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Parser, "csv", "").isOk());
  EXPECT_FALSE(f.make(PluginKind::Parser, "csv", "keys a\ndelimiter \"\"").isOk());
  EXPECT_FALSE(f.make(PluginKind::Parser, "csv", "keys a\nparser_engine turbo").isOk());
}

TEST(CsvParserTest, WarmBatchAllocatesNothing) {
  for (const char* engine : {"normal", "fast"}) {
    testing::PluginFactory f;
    auto p = f.mustMake<Parser>(PluginKind::Parser, "csv", std::string("keys host,path,code,agent\nparser_engine ") + engine);
    testing::WarmParser warm(*p, testing::linesOf(64, [](int i) {
      return "10.0.0." + std::to_string(i) + ",/x,200,\"curl \"\"7\"\" x\"";
    }));
    EXPECT_EQ(warm.measure(), 0u) << engine;
    EXPECT_EQ(toJson(warm.out()[63].record), R"({"host":"10.0.0.63","path":"/x","code":"200","agent":"curl \"7\" x"})") << engine;
  }
}

}  // namespace
}  // namespace sluice::plugins::parser_csv
