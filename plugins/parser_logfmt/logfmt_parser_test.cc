// SPDX-License-Identifier: Apache-2.0
// Cases from fluent-plugin-parser-logfmt's test/test_parser_logfmt.rb and the logfmt gem's
// spec/logfmt/parser_spec.rb, restated.
#include <gtest/gtest.h>

#include "plugins/parser_logfmt/logfmt_parser.h"
#include "support/alloc_counter.h"
#include "support/parser_support.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_logfmt {
namespace {

std::string pairs(std::string_view line) {
  Arena arena;
  Value record = Value::emptyObject();
  LogfmtParser::parsePairs(line, arena, record);
  return toJson(record);
}

std::vector<ParsedRecord> run(const std::string& config, std::vector<std::string_view> lines, Arena& arena) {
  return testing::parseWith("logfmt", config, std::move(lines), arena);
}

TEST(LogfmtParserTest, GemSpecPairs) {
  EXPECT_EQ(pairs(""), "{}");
  EXPECT_EQ(pairs("\t"), "{}");
  EXPECT_EQ(pairs("key"), R"({"key":true})");
  EXPECT_EQ(pairs("  key  "), R"({"key":true})");
  EXPECT_EQ(pairs("key1 key2"), R"({"key1":true,"key2":true})");
  EXPECT_EQ(pairs("key=value"), R"({"key":"value"})");
  EXPECT_EQ(pairs("key1=value1 key2=value2"), R"({"key1":"value1","key2":"value2"})");
  EXPECT_EQ(pairs("key1=value1 key2"), R"({"key1":"value1","key2":true})");
  EXPECT_EQ(pairs("key1 key2=value2"), R"({"key1":true,"key2":"value2"})");
  EXPECT_EQ(pairs(R"(key="quoted value")"), R"({"key":"quoted value"})");
  EXPECT_EQ(pairs(R"(key="quoted \" value" r="esc\t")"), R"({"key":"quoted \" value","r":"esc\\t"})");
  EXPECT_EQ(pairs(R"(key1="quoted \" value" key2 key3=value3)"), R"({"key1":"quoted \" value","key2":true,"key3":"value3"})");
  EXPECT_EQ(pairs("foo=bar a=14 baz=\"hello kitty\" \xc6\x92=2h3s cool%story=bro f %^asdf"),
            "{\"foo\":\"bar\",\"a\":14,\"baz\":\"hello kitty\",\"\xc6\x92\":\"2h3s\",\"cool%story\":\"bro\",\"f\":true,\"%^asdf\":true}");
  EXPECT_EQ(pairs(R"(key="")"), R"({"key":""})");
  EXPECT_EQ(pairs(R"(key1="{\"msg\": \"hello\tworld\"}")"), R"({"key1":"{\"msg\": \"hello\\tworld\"}"})");
  EXPECT_EQ(pairs("method=GET query=position=44.80450799126121%2C33.58320759981871&uid=1 status=200"),
            R"({"method":"GET","query":"position=44.80450799126121%2C33.58320759981871&uid=1","status":200})");
}

TEST(LogfmtParserTest, GemSpecTypes) {
  EXPECT_EQ(pairs("key=234"), R"({"key":234})");
  EXPECT_EQ(pairs("key=-3428"), R"({"key":-3428})");
  EXPECT_EQ(pairs("key1=4 key2=9"), R"({"key1":4,"key2":9})");
  EXPECT_EQ(pairs(R"(key="234" f="3.14")"), R"({"key":"234","f":"3.14"})");
  EXPECT_EQ(pairs("key=10.10.10.1"), R"({"key":"10.10.10.1"})");
  Arena arena;
  Value r = Value::emptyObject();
  LogfmtParser::parsePairs("a=3.342 b=-0.9934 c=2.342342342342344e+18 d=.5 e=+7 f=5.", arena, r);
  EXPECT_DOUBLE_EQ(r.find("a")->asDouble(), 3.342);
  EXPECT_DOUBLE_EQ(r.find("b")->asDouble(), -0.9934);
  EXPECT_TRUE(r.find("c")->isDouble());
  EXPECT_DOUBLE_EQ(r.find("c")->asDouble(), 2.342342342342344e+18);
  EXPECT_DOUBLE_EQ(r.find("d")->asDouble(), 0.5);
  EXPECT_EQ(r.find("e")->asInt(), 7);
  EXPECT_EQ(r.find("f")->asString(), "5.");
}

TEST(LogfmtParserTest, RubyIntegerEdges) {
  EXPECT_EQ(pairs("a=017 b=08 c=0"), R"({"a":15,"b":"08","c":0})");  // Integer("017") is octal
  EXPECT_EQ(pairs("big=123456789012345678901234567890"), R"({"big":123456789012345678901234567890})");
  EXPECT_EQ(pairs("a= b==c d=\"open"), R"({"a":true,"b":true,"c":true,"d":true})");
  EXPECT_EQ(pairs("a=\""), R"({"a":""})");
}

TEST(LogfmtParserTest, PluginTime) {
  Arena arena;
  auto out = run("time_format %Y-%m-%d %H:%M:%S\nutc true", {R"(time="2018-01-01 00:00:00" aaa=111 bbb=222)"}, arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].time_ns, 1514764800LL * kNanosPerSecond);
  EXPECT_EQ(toJson(out[0].record), R"({"aaa":111,"bbb":222})");
  auto wrong = run("time_format %Y/%m/%d %H:%M:%S\nutc true",
                   {R"(time="2018-01-01 00:00:00" aaa=111 bbb=222)", R"(time="2018/01/02 01:23:45" aaa=111 bbb=222)"}, arena);
  EXPECT_FALSE(wrong[0].ok());
  ASSERT_TRUE(wrong[1].ok());
  EXPECT_EQ(wrong[1].time_ns, (1514764800LL + 86400 + 3600 + 23 * 60 + 45) * kNanosPerSecond);
  auto key = run("time_format %Y/%m/%d %H:%M:%S\ntime_key real_time\nutc true",
                 {R"(time="2018-01-01 00:00:00" aaa=111 real_time="2018/01/02 01:23:45" bbb=222)"}, arena);
  ASSERT_TRUE(key[0].ok());
  EXPECT_EQ(key[0].time_ns, (1514764800LL + 86400 + 3600 + 23 * 60 + 45) * kNanosPerSecond);
  EXPECT_EQ(toJson(key[0].record), R"({"time":"2018-01-01 00:00:00","aaa":111,"bbb":222})");
}

TEST(LogfmtParserTest, WarmBatchAllocatesNothing) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "logfmt", "");
  testing::WarmParser warm(*p, testing::linesOf(64, [](int i) {
    return "level=info msg=\"request \\\"done\\\"\" status=200 dur=" + std::to_string(i) + ".5 path=/x id=" + std::to_string(i);
  }));
  EXPECT_EQ(warm.measure(), 0u);
  EXPECT_EQ(toJson(warm.out()[63].record), R"({"level":"info","msg":"request \"done\"","status":200,"dur":63.5,"path":"/x","id":63})");
}

}  // namespace
}  // namespace sluice::plugins::parser_logfmt
