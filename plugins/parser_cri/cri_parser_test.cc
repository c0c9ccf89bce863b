// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_cri/cri_parser.h"
#include "support/fixtures.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_cri {
namespace {

using testing::PluginFactory;

std::vector<ParsedRecord> parseStream(const Parser& p, ParserState* state, const std::vector<std::string>& lines,
                                      Arena& arena) {
  std::vector<std::string_view> views;
  for (const std::string& l : lines) views.push_back(arena.copy(l));  // records may point into lines
  std::vector<ParsedRecord> out(views.size());
  p.parse(LineBatch{views, false, state, 0}, arena, out);
  return out;
}

// fluent-plugin-parser-cri's own cases (test/plugin/test_parser_cri.rb).
TEST(CriParserTest, FluentPluginParserCriCases) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures not present";
  Arena fixture_arena;
  Value doc = testing::loadJsonFixture("container-logs/fluent-plugin-parser-cri-cases.json", fixture_arena);
  ASSERT_TRUE(doc.isObject());
  int checked = 0;
  for (const Value& c : doc.find("cases")->items()) {
    PluginFactory f;
    auto p = f.mustMake<Parser>(PluginKind::Parser, "cri", std::string(c.find("config")->asString()));
    Arena arena;
    std::vector<std::string> lines = {std::string(c.find("input")->asString())};  // outlives the records
    auto out = parseStream(*p, nullptr, lines, arena);
    std::string name(c.find("name")->asString());
    ASSERT_TRUE(out[0].ok()) << name;
    EXPECT_TRUE(out[0].record == *c.find("expected_record"))
        << name << ": got " << toJson(out[0].record) << " want " << toJson(*c.find("expected_record"));
    TimeParser iso("", true);
    EXPECT_EQ(out[0].time_ns, *iso.parse(c.find("expected_time")->asString())) << name;
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

// Fluent Bit's multiline `cri` case: P fragments per stream joined until F.
TEST(CriParserTest, JoinsPartialLinesPerStream) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures not present";
  Arena fixture_arena;
  Value doc = testing::loadJsonFixture("container-logs/fluent-bit-multiline-cases.json", fixture_arena);
  int checked = 0;
  for (const Value& c : doc.find("cases")->items()) {
    std::string name(c.find("name")->asString());
    if (name != "cri" && name != "docker_cri_chain") continue;
    ++checked;
    PluginFactory f;
    auto p = f.mustMake<Parser>(PluginKind::Parser, "cri", "");
    auto state = p->newState();
    std::vector<std::string> lines;
    for (const Value& l : c.find("input")->items()) lines.emplace_back(l.asString());
    Arena arena;
    auto out = parseStream(*p, state.get(), lines, arena);
    std::vector<std::string> got, want;
    for (const auto& r : out) {
      if (r.ok()) got.emplace_back(r.record.find("message")->asString());
    }
    for (const Value& e : c.find("expected_log")->items()) want.emplace_back(e.asString());
    EXPECT_EQ(got, want) << name;
    EXPECT_FALSE(want.empty()) << name;
    EXPECT_FALSE(state->held_from.has_value());
  }
  EXPECT_EQ(checked, 2);  // a renamed case would otherwise pass unchecked
}

TEST(CriParserTest, HeldLinesAcrossBatchesAndFlush) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "cri", "keep_time_key false");
  auto state = p->newState();
  Arena arena;
  std::vector<std::string_view> b1 = {"2026-11-22T01:00:00.000000001Z stdout F one",
                                      "2026-11-22T01:00:00.000000002Z stdout P tw"};
  std::vector<ParsedRecord> out(2);
  p->parse(LineBatch{b1, false, state.get(), 10}, arena, out);
  EXPECT_TRUE(out[0].ok());
  EXPECT_TRUE(out[1].held);
  EXPECT_EQ(state->held_from, 11u);
  std::vector<std::string_view> b2 = {"2026-11-22T01:00:00.000000003Z stdout F o"};
  std::vector<ParsedRecord> out2(1);
  p->parse(LineBatch{b2, false, state.get(), 12}, arena, out2);
  ASSERT_TRUE(out2[0].ok());
  EXPECT_EQ(toJson(out2[0].record), R"({"stream":"stdout","logtag":"F","message":"two"})");
  EXPECT_EQ(out2[0].time_ns, 1795309200LL * kNanosPerSecond + 2);  // the first fragment's time
  EXPECT_FALSE(state->held_from.has_value());
  // An unfinished partial is emitted by flush (a file that ended, a flush interval).
  std::vector<std::string_view> b3 = {"2026-11-22T01:00:00.000000004Z stderr P dangling"};
  p->parse(LineBatch{b3, false, state.get(), 13}, arena, out2);
  ParsedRecord flushed;
  ASSERT_TRUE(p->flush(*state, arena, flushed));
  EXPECT_EQ(toJson(flushed.record), R"({"stream":"stderr","logtag":"P","message":"dangling"})");
  EXPECT_FALSE(p->flush(*state, arena, flushed));
}

TEST(CriParserTest, BoundsJoinedSize) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "cri", "max_partial_size 10\nkeep_time_key false");
  auto state = p->newState();
  Arena arena;
  auto out = parseStream(*p, state.get(),
                         {"2026-11-22T01:00:00Z stdout P 123456", "2026-11-22T01:00:00Z stdout P 7890ab",
                          "2026-11-22T01:00:00Z stdout F end"},
                         arena);
  EXPECT_TRUE(out[0].held);
  ASSERT_TRUE(out[1].ok());
  EXPECT_EQ(out[1].record.find("message")->asString(), "1234567890ab");
  EXPECT_EQ(out[1].record.find("logtag")->asString(), "P");
  EXPECT_EQ(out[2].record.find("message")->asString(), "end");
}

TEST(CriParserTest, RejectsOtherLines) {
  PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "cri", "");
  Arena arena;
  auto out = parseStream(*p, nullptr,
                         {"not cri", "2026-11-22T01:00:00Z stdin F x", "2026-11-22T01:00:00Z stdout X x",
                          "yesterday stdout F x", "2026-11-22T01:00:00Z stdout F"},
                         arena);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(out[i].ok()) << i;
  ASSERT_TRUE(out[4].ok());  // an empty message is a message
  EXPECT_EQ(out[4].record.find("message")->asString(), "");
}

}  // namespace
}  // namespace sluice::plugins::parser_cri
