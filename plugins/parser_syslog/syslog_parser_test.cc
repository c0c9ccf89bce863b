// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_syslog/syslog_parser.h"
#include <random>

#include "support/alloc_counter.h"
#include "support/parser_support.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_syslog {
namespace {

std::vector<ParsedRecord> run(const std::string& config, std::vector<std::string_view> lines, Arena& arena) {
  return testing::parseWith("syslog", config, std::move(lines), arena);
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

// The syslog input parses every message with this parser. A warm batch of RFC 3164 lines
// allocates nothing (the fast reader; the match slots and the time text are reused per thread).
// RFC 5424 lines go through RE2, whose match with submatches (BitState or the NFA) allocates its
// work arrays on every search: about 11 allocations per line, bounded here so that nothing is
// added to them.
TEST(SyslogParserTest, WarmBatchAllocationsRfc3164NoneRfc5424OnlyRe2s) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "syslog", "message_format auto");
  std::vector<std::string> storage, bsd, ietf;
  for (int i = 0; i < 64; ++i) {
    storage.push_back("<13>Nov 27 21:00:0" + std::to_string(i % 10) + " web1 app[" + std::to_string(i) + "]: message " + std::to_string(i));
    storage.push_back("<165>1 2026-11-27T21:00:01.5Z host app " + std::to_string(i) + " ID47 [sd@1 a=\"b\"] event " + std::to_string(i));
    bsd.push_back("<30>Dec  1 01:02:0" + std::to_string(i % 10) + " db2 postgres: checkpoint " + std::to_string(i * 7));
    ietf.push_back("<34>1 2026-12-01T01:02:03+01:00 h2 su - - - other " + std::to_string(i * 3));
  }
  testing::WarmParser warm(*p, std::move(storage), 3);
  for (auto* batch : {&bsd, &ietf}) {
    const size_t allocations = warm.measure(*batch);
    if (batch == &bsd) {
      EXPECT_EQ(allocations, 0u);
    } else {
      EXPECT_LE(allocations, 12 * batch->size());
    }
    for (size_t i = 0; i < batch->size(); ++i) EXPECT_TRUE(warm.out()[i].ok()) << warm.out()[i].error;
  }
}

// RFC 3164 lines are read without RE2 where the regexp's match is certain; everywhere the two
// must give the same record, time and error. Lines are generated around the format's edges
// (PRI forms, one to three spaces, empty fields, brackets, colons, CR, tabs, non-ASCII bytes,
// newlines) plus random bytes of the same alphabet.
TEST(SyslogParserTest, FastRfc3164ReaderAgreesWithTheRegexp) {
  for (const char* config : {"utc true", "with_priority false\nutc true", "keep_time_key true"}) {
    testing::PluginFactory f;
    auto p = f.mustMake<SyslogParser>(PluginKind::Parser, "syslog", config);
    std::mt19937 rng(20261127);
    // The first option is the ordinary one: taken 70% of the time, so that most lines are
    // close to valid and the odd parts come one or two at a time.
    auto pick = [&](std::initializer_list<const char*> options) {
      size_t k = rng() % 10 < 7 ? 0 : rng() % options.size();
      return std::string(*(options.begin() + k));
    };
    const std::string alphabet = " :[]<>0123456789abNov\r\t\n\xc3\xa9";
    size_t fast_ok = 0;
    for (int i = 0; i < 60000; ++i) {
      std::string line;
      if (i % 4 == 3) {
        for (size_t k = rng() % 40; k > 0; --k) line += alphabet[rng() % alphabet.size()];
      } else {
        line = pick({"<13>", "<6>", "<191>", "<1234>", "<>", "<1", "", "<13> ", "<x>"}) +
               pick({"Nov", "Dec", "", "N:v", "<1>Nov", "Nov\r"}) + pick({" ", "  ", "   ", ""}) +
               pick({"27", "2", "", "x:"}) + pick({" ", "  "}) + pick({"21:00:00", "1", "", "21:0a", "::", "21:00:00\t"}) +
               pick({" ", "", "  "}) + pick({"web1", "", "h:x", "[a]", "h\xc3\xa9"}) + pick({" ", "", "  "}) +
               pick({"app[42]", "", "a:b", "app", "app[x]", "app[42", "app[]", "[1]"}) +
               pick({": ", ":", " ", "", "[9]: ", " x: y", "::", " : "}) +
               pick({"message", "", "  spaced", "a: b: c", "tail\r", "multi\nline", "[brackets]"});
      }
      Arena arena;
      std::vector<std::string_view> one{line};
      ParsedRecord fast, slow;
      std::span<ParsedRecord> out(&fast, 1);
      p->parse(LineBatch{one}, arena, out);
      p->parseWithRegexpForTest(line, arena, slow);
      ASSERT_EQ(fast.ok(), slow.ok()) << config << " [" << line << "] " << fast.error << " / " << slow.error;
      ASSERT_EQ(fast.error, slow.error) << "[" << line << "]";
      if (!fast.ok()) continue;
      ++fast_ok;
      ASSERT_EQ(toJson(fast.record), toJson(slow.record)) << "[" << line << "]";
      ASSERT_EQ(fast.time_ns, slow.time_ns) << "[" << line << "]";
    }
    EXPECT_GT(fast_ok, 5000u) << config;  // the generator reaches the matching shapes
  }
}

}  // namespace
}  // namespace sluice::plugins::parser_syslog
