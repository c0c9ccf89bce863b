// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_syslog/syslog_parser.h"
#include "support/alloc_counter.h"
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

// The syslog input parses every message with this parser. Its own work allocates nothing per
// line (the match slots and the RFC 3164 time text are reused per thread); what is left is
// RE2's: a match with submatches runs BitState or the NFA, which allocate their work arrays on
// every search (about 7 allocations per line here). The bound catches anything added to that.
TEST(SyslogParserTest, WarmBatchAllocatesOnlyInRe2) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "syslog", "message_format auto");
  std::vector<std::string> storage, other_storage;
  for (int i = 0; i < 64; ++i) {
    storage.push_back("<13>Nov 27 21:00:0" + std::to_string(i % 10) + " web1 app[" + std::to_string(i) + "]: message " + std::to_string(i));
    storage.push_back("<165>1 2026-11-27T21:00:01.5Z host app " + std::to_string(i) + " ID47 [sd@1 a=\"b\"] event " + std::to_string(i));
    other_storage.push_back("<30>Dec  1 01:02:0" + std::to_string(i % 10) + " db2 postgres: checkpoint " + std::to_string(i * 7));
    other_storage.push_back("<34>1 2026-12-01T01:02:03+01:00 h2 su - - - other " + std::to_string(i * 3));
  }
  std::vector<std::string_view> lines(storage.begin(), storage.end()), others(other_storage.begin(), other_storage.end());
  std::vector<ParsedRecord> out(lines.size());
  Arena arena;
  for (int warm = 0; warm < 3; ++warm) {
    arena.reset();
    p->parse(LineBatch{lines}, arena, out);
  }
  testing::AllocationCounter counter;
  arena.reset();
  p->parse(LineBatch{others}, arena, out);
  EXPECT_LE(counter.count(), 8 * others.size());
  for (const ParsedRecord& r : out) EXPECT_TRUE(r.ok()) << r.error;
}

}  // namespace
}  // namespace sluice::plugins::parser_syslog
