// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_regexp/regexp_parser.h"
#include "support/alloc_counter.h"
#include "support/parser_support.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_regexp {
namespace {

using testing::PluginFactory;

constexpr const char* kApache =
    "expression /^(?<host>[^ ]*) [^ ]* (?<user>[^ ]*) \\[(?<time>[^\\]]*)\\] \"(?<method>\\S+)(?: +(?<path>[^ ]*) +\\S*)?\" (?<code>[^ ]*) (?<size>[^ ]*)$/\n"
    "time_format %d/%b/%Y:%H:%M:%S %z\ntypes code:integer,size:integer";

TEST(RegexpParserTest, ApacheAccessLog) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "regexp", kApache);
  std::vector<std::string_view> lines = {
      "192.168.0.1 - bob [22/Nov/2026:10:02:03 +0900] \"GET /index.html HTTP/1.1\" 200 777",
      "garbage"};
  std::vector<ParsedRecord> out(2);
  Arena arena;
  p->parse(LineBatch{lines}, arena, out);
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].time_ns, 1795309323LL * kNanosPerSecond);
  EXPECT_EQ(toJson(out[0].record),
            R"({"host":"192.168.0.1","user":"bob","method":"GET","path":"/index.html","code":200,"size":777})");
  EXPECT_FALSE(out[1].ok());
}

TEST(RegexpParserTest, OptionalGroupThatDidNotTakePartIsLeftOut) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "regexp", "expression /^(?<a>\\w+)(?: (?<b>\\w+))?$/");
  std::vector<std::string_view> lines = {"one"};
  std::vector<ParsedRecord> out(1);
  Arena arena;
  p->parse(LineBatch{lines}, arena, out);
  EXPECT_EQ(toJson(out[0].record), R"({"a":"one"})");  // as Fluentd's regexp parser
}

TEST(RegexpParserTest, ConfigErrorsNameTheRegexpProblem) {
  PluginFactory f;
  auto missing = f.make(PluginKind::Parser, "regexp", "");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("missing required parameter 'expression'"), std::string::npos);
  auto lookaround = f.make(PluginKind::Parser, "regexp", "expression /(?<a>x)(?!y)/");
  ASSERT_FALSE(lookaround.isOk());
  EXPECT_NE(lookaround.status().message().find("lookahead"), std::string::npos);
  EXPECT_NE(lookaround.status().message().find("(test):3"), std::string::npos) << lookaround.status().message();
  EXPECT_FALSE(f.make(PluginKind::Parser, "regexp", "expression /no groups/").isOk());
}

TEST(RegexpParserTest, WarmBatchAllocatesNothing) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "regexp", "expression /^(?<level>\\w+) (?<msg>.*)$/");
  testing::WarmParser warm(*p, std::vector<std::string>(64, "INFO something happened"));
  // Other lines than the warm-up's. The per-call match vector is one allocation per batch, not
  // per line.
  auto others = testing::linesOf(64, [](int i) { return (i % 2 ? "WARN disk " : "ERROR code ") + std::to_string(i * 31) + " x"; });
  EXPECT_LE(warm.measure(others), 1u);
  EXPECT_TRUE(warm.out()[63].ok());
}

}  // namespace
}  // namespace sluice::plugins::parser_regexp
