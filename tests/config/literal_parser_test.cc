// SPDX-License-Identifier: Apache-2.0
// Cases ported from Fluentd's test/config/test_literal_parser.rb (input → expected value).
// Deliberate differences are listed in tests/FLUENTD_DIFFERENCES.md.

#include <gtest/gtest.h>

#include "config/parser.h"

namespace sluice::config {
namespace {

struct LiteralCase {
  const char* input;
  const char* expected;  // nullptr: nil
};

void PrintTo(const LiteralCase& c, std::ostream* os) { *os << "[" << c.input << "]"; }

class LiteralParserTest : public ::testing::TestWithParam<LiteralCase> {};

EvalEnvironment testEnv() {
  EvalEnvironment e;
  e.hostname = "test-host";
  e.env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "HOME_SET") return std::string("/home/me");
    if (name == "EMPTY") return std::string("");
    return std::nullopt;
  };
  return e;
}

TEST_P(LiteralParserTest, ParsesAsFluentdDoes) {
  const LiteralCase& c = GetParam();
  auto v = parseLiteralForTest(c.input, testEnv());
  ASSERT_TRUE(v.isOk()) << "input: [" << c.input << "] error: " << v.status().message();
  if (c.expected == nullptr) {
    EXPECT_FALSE(v->has_value()) << c.input;
  } else {
    ASSERT_TRUE(v->has_value()) << c.input;
    EXPECT_EQ(**v, std::string(c.expected)) << "input: [" << c.input << "]";
  }
}

const LiteralCase kCases[] = {
    // boolean / integer / float / keywords: all stay strings at this level
    {"true", "true"}, {"false", "false"}, {"trueX", "trueX"}, {"falseX", "falseX"},
    {"0", "0"}, {"1", "1"}, {"10", "10"}, {"-1", "-1"}, {"-10", "-10"}, {"0 ", "0"}, {" -1 ", "-1"},
    {"01", "01"}, {"00", "00"}, {"-01", "-01"}, {"-00", "-00"}, {"0x61", "0x61"}, {"0s", "0s"},
    {"1.1", "1.1"}, {"0.1", "0.1"}, {"0.0", "0.0"}, {"-1.1", "-1.1"}, {"-0.1", "-0.1"}, {"1.10", "1.10"},
    {"12e8", "12e8"}, {"12.1e7", "12.1e7"}, {"-12e8", "-12e8"}, {"-12.1e7", "-12.1e7"}, {".0", ".0"},
    {".1", ".1"}, {"0.", "0."}, {"1.", "1."}, {".0a", ".0a"}, {"1.a", "1.a"}, {"0@", "0@"},
    {"NaN", "NaN"}, {"Infinity", "Infinity"}, {"-Infinity", "-Infinity"}, {"NaNX", "NaNX"},
    // double quoted
    {"\"\"", ""}, {"\"text\"", "text"}, {"\"\\\"\"", "\""}, {"\"\\t\"", "\t"}, {"\"\\n\"", "\n"},
    {"\"\\r\\n\"", "\r\n"}, {"\"\\f\\b\"", "\f\b"}, {"\"\\.t\"", ".t"}, {"\"\\$t\"", "$t"},
    {"\"\\#t\"", "#t"}, {"\"t\nt\"", "t\nt"}, {"\"t\\\nt\"", "tt"}, {"t\"", "t\""}, {"\".\"", "."},
    {"\"*\"", "*"}, {"\"@\"", "@"}, {"\"\\#{test}\"", "#{test}"}, {"\"$\"", "$"}, {"\"$t\"", "$t"},
    {"\"$}\"", "$}"}, {"\"\\\\\"", "\\"}, {"\"\\[\"", "["},
    // single quoted
    {"''", ""}, {"'text'", "text"}, {"'\\''", "'"}, {"'\\t'", "\\t"}, {"'\\n'", "\\n"},
    {"'\\r\\n'", "\\r\\n"}, {"'\\f\\b'", "\\f\\b"}, {"'\\.t'", "\\.t"}, {"'\\$t'", "\\$t"},
    {"'\\#t'", "\\#t"}, {"'\\z'", "\\z"}, {"'\\0'", "\\0"}, {"'\\1'", "\\1"}, {"t'", "t'"},
    {"'.'", "."}, {"'*'", "*"}, {"'@'", "@"}, {"'#{test}'", "#{test}"}, {"'$'", "$"}, {"'$t'", "$t"},
    {"'$}'", "$}"}, {"'\\\\'", "\\"}, {"'\\['", "\\["},
    // unquoted
    {"", nullptr}, {"text", "text"}, {"\\\"", "\\\""}, {"\\t", "\\t"}, {"\\n", "\\n"},
    {"\\r\\n", "\\r\\n"}, {"\\f\\b", "\\f\\b"}, {"\\.t", "\\.t"}, {"\\$t", "\\$t"}, {"\\#t", "\\#t"},
    {"\\z", "\\z"}, {"\\0", "\\0"}, {"\\1", "\\1"}, {".", "."}, {"*", "*"}, {"@", "@"},
    {"#{test}", "#{test}"}, {"$", "$"}, {"$t", "$t"}, {"$}", "$}"}, {"\\\\", "\\\\"}, {"\\[", "\\["},
    {"#foo", "#foo"}, {"foo#bar", "foo#bar"}, {" text", "text"}, {" #foo", "#foo"},
    {"foo #bar", "foo"}, {"foo\t#bar", "foo"}, {"t", "t"}, {"T", "T"}, {"_", "_"}, {"T1", "T1"},
    {"_2", "_2"}, {"t0", "t0"}, {"t@", "t@"}, {"t-", "t-"}, {"t.", "t."}, {"t+", "t+"}, {"t/", "t/"},
    {"t=", "t="}, {"t,", "t,"}, {"0t", "0t"}, {"@1t", "@1t"}, {"-1t", "-1t"}, {".1t", ".1t"},
    {",1t", ",1t"}, {".t", ".t"}, {"*t", "*t"}, {"@t", "@t"}, {"t{", "t{"}, {"}t", "}t"},
    {"t[", "t["}, {"]t", "]t"}, {"t:", "t:"}, {"t;", "t;"}, {"t?", "t?"}, {"t^", "t^"}, {"t`", "t`"},
    {"t~", "t~"}, {"t|", "t|"}, {"t>", "t>"}, {"t<", "t<"}, {"t(", "t("},
    // embedded code: the evaluated subset
    {"\"#{}\"", ""}, {"\"#{\"}\"}\"", "}"}, {"\"foo#{hostname}\"", "footest-host"},
    {"\"#{ENV['HOME_SET']}\"", "/home/me"}, {"\"#{ENV[\"HOME_SET\"]}\"", "/home/me"},
    {"\"#{ENV['UNSET'] || 'fallback'}\"", "fallback"}, {"\"#{ENV['EMPTY'] || 'fallback'}\"", ""},
    {"\"#{ENV.fetch('UNSET', 'dflt')}\"", "dflt"}, {"\"#{ENV.fetch('HOME_SET', 'dflt')}\"", "/home/me"},
    {"\"#{File.join(ENV['HOME_SET'], 'conf', 'a.conf')}\"", "/home/me/conf/a.conf"},
    {"\"x#{ENV['UNSET']}y\"", "xy"}, {"\"#{use_nil}\"", nullptr}, {"\"#{1+1}\"", "2"},
    // arrays and hashes (kept as normalised JSON text)
    {"[]", "[]"}, {"[1]", "[1]"}, {"[1,2]", "[1,2]"}, {"[1, 2]", "[1,2]"}, {"[ 1 , 2 ]", "[1,2]"},
    {"[\n1\n,\n2\n]", "[1,2]"}, {"[\"a\"]", "[\"a\"]"}, {"[\"a\",\"b\"]", "[\"a\",\"b\"]"},
    {"[ \"a\" , \"b\" ]", "[\"a\",\"b\"]"}, {"[\n\"a\"\n,\n\"b\"\n]", "[\"a\",\"b\"]"},
    {"[\n \"a\", // this is a\n \"b\", // this is b\n \"c\"  // this is c\n]", "[\"a\",\"b\",\"c\"]"},
    {"[\n \"a\", # this is a\n \"b\", # this is b\n \"c\"  # this is c\n]", "[\"a\",\"b\",\"c\"]"},
    {"{}", "{}"}, {"{\"a\":1}", "{\"a\":1}"}, {"{\"a\":1,\"b\":2}", "{\"a\":1,\"b\":2}"},
    {"{ \"a\" : 1 , \"b\" : 2 }", "{\"a\":1,\"b\":2}"}, {"{\n\"a\"\n:\n1\n,\n\"b\"\n:\n2\n}", "{\"a\":1,\"b\":2}"},
    {"{\"a\":\"b\"}", "{\"a\":\"b\"}"}, {"{\"a\":\"b#c\"}", "{\"a\":\"b#c\"}"},
    {"{\n \"a\": 1, # this is a\n \"b\": 2, # this is b\n \"c\": 3  # this is c\n}", "{\"a\":1,\"b\":2,\"c\":3}"},
};

INSTANTIATE_TEST_SUITE_P(Fluentd, LiteralParserTest, ::testing::ValuesIn(kCases));

class LiteralParserErrorTest : public ::testing::TestWithParam<const char*> {};

TEST_P(LiteralParserErrorTest, IsAParseError) {
  auto v = parseLiteralForTest(GetParam(), testEnv());
  EXPECT_FALSE(v.isOk()) << "input: [" << GetParam() << "] parsed as: " << (v && v->has_value() ? **v : "nil");
}

const char* kErrorCases[] = {
    "\"\\z\"", "\"\\1\"", "\"t", "'t", "{t", "[t", "[1,2,]", "{\"a\":1,\"b\":2,}",
    "[\n \"a\", # this is a\n \"b\", # this is b\n \"c\", # this is c\n]",
    "\"#{#}\"",  // a comment in embedded code
    "\"#{system('id')}\"", "\"#{`id`}\"", "\"#{ENV.fetch('UNSET')}\"",
    "\"#{v1}\"",
};

INSTANTIATE_TEST_SUITE_P(Fluentd, LiteralParserErrorTest, ::testing::ValuesIn(kErrorCases));

TEST(LiteralParserTest, UnsupportedRubyNamesTheExpression) {
  auto v = parseLiteralForTest("\"#{system('rm -rf /')}\"", testEnv());
  ASSERT_FALSE(v.isOk());
  EXPECT_NE(v.status().message().find("system('rm -rf /')"), std::string::npos) << v.status().message();
}

TEST(LiteralParserTest, WorkerIdFollowsEnvironment) {
  EvalEnvironment e = testEnv();
  EXPECT_EQ(**parseLiteralForTest("\"foo#{worker_id}\"", e), "foo");
  e.worker_id = "1";
  EXPECT_EQ(**parseLiteralForTest("\"foo#{worker_id}\"", e), "foo1");
}

}  // namespace
}  // namespace sluice::config
