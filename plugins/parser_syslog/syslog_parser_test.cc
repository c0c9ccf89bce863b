// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_syslog/syslog_parser.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_syslog {
namespace {

std::vector<ParsedRecord> run(const std::string& config, std::vector<std::string_view> lines, Arena& arena) {
  static testing::PluginFactory f;
  // Records name their fields with the parser's strings: the parser outlives them.
  static std::vector<std::unique_ptr<Parser>> parsers;
  parsers.push_back(f.mustMake<Parser>(PluginKind::Parser, "syslog", config));
  std::vector<ParsedRecord> out(lines.size());
  parsers.back()->parse(LineBatch{lines}, arena, out);
  return out;
}

TEST(SyslogParserTest, Rfc3164) {
  Arena arena;
  auto out = run("utc true", {"<6>Nov 22 01:02:03 web1 sshd[1234]: Accepted publickey for bob",
                              "<13>Nov  2 01:02:03 web1 cron: job done", "<13>Nov  2 01:02:03 web1 kernel oops",
                              "Nov 22 01:02:03 web1 no priority"}, arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(toJson(out[0].record), R"({"pri":6,"host":"web1","ident":"sshd","pid":"1234","message":"Accepted publickey for bob"})");
  std::string t;
  formatTime(t, out[0].time_ns, "%m-%d %H:%M:%S", true);
  EXPECT_EQ(t, "11-22 01:02:03");
  EXPECT_EQ(toJson(out[1].record), R"({"pri":13,"host":"web1","ident":"cron","message":"job done"})");
  ASSERT_TRUE(out[2].ok());  // colonless ident
  EXPECT_EQ(out[2].record.find("ident")->asString(), "kernel");
  EXPECT_FALSE(out[3].ok());
  auto nopri = run("with_priority false\nutc true", {"Nov 22 01:02:03 web1 app: hello"}, arena);
  EXPECT_EQ(toJson(nopri[0].record), R"({"host":"web1","ident":"app","message":"hello"})");
}

TEST(SyslogParserTest, Rfc5424AndAuto) {
  Arena arena;
  const char* line =
      "<165>1 2026-11-22T01:02:03.003Z mymachine.example.com evntslog - ID47 "
      "[exampleSDID@32473 iut=\"3\" eventSource=\"App\\]lication\"] An application event";
  auto out = run("message_format rfc5424", {line}, arena);
  ASSERT_TRUE(out[0].ok()) << out[0].error;
  EXPECT_EQ(toJson(out[0].record),
            R"({"pri":165,"host":"mymachine.example.com","ident":"evntslog","pid":"-","msgid":"ID47","extradata":"[exampleSDID@32473 iut=\"3\" eventSource=\"App\\]lication\"]","message":"An application event"})");
  EXPECT_EQ(out[0].time_ns, 1795309323LL * kNanosPerSecond + 3000000);
  auto mixed = run("message_format auto\nutc true", {line, "<6>Nov 22 01:02:03 web1 app: x"}, arena);
  EXPECT_TRUE(mixed[0].ok());
  EXPECT_TRUE(mixed[1].ok());
  EXPECT_EQ(mixed[1].record.find("ident")->asString(), "app");
}

}  // namespace
}  // namespace sluice::plugins::parser_syslog
