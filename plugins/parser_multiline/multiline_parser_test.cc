// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_multiline/multiline_parser.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_multiline {
namespace {

constexpr const char* kJava =
    "format_firstline /^\\d{4}-\\d{2}-\\d{2}/\n"
    "format1 /^(?<time>\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}) \\[(?<thread>.*)\\] (?<level>[^\\s]+)/\n"
    "format2 /(?<message>.*)/\n"
    "time_format %Y-%m-%d %H:%M:%S\nutc true";

TEST(MultilineParserTest, JavaStackTraces) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "multiline", kJava);
  auto state = p->newState();
  ASSERT_NE(state, nullptr);
  std::vector<std::string_view> lines = {
      "2026-11-22 01:02:03 [main] ERROR boom",
      "java.lang.IllegalStateException: bad",
      "    at com.example.Foo.bar(Foo.java:42)",
      "2026-11-22 01:02:04 [main] INFO fine",
  };
  std::vector<ParsedRecord> out(lines.size());
  Arena arena;
  p->parse(LineBatch{lines, false, state.get(), 100}, arena, out);
  EXPECT_TRUE(out[0].held);
  EXPECT_TRUE(out[1].held);
  EXPECT_TRUE(out[2].held);
  ASSERT_TRUE(out[3].ok()) << out[3].error;
  EXPECT_EQ(toJson(out[3].record),
            R"J({"thread":"main","level":"ERROR","message":" boom\njava.lang.IllegalStateException: bad\n    at com.example.Foo.bar(Foo.java:42)"})J");
  EXPECT_EQ(out[3].time_ns, 1795309323LL * kNanosPerSecond);
  EXPECT_EQ(state->held_from, 103u);  // the INFO line waits for its continuation or a flush
  ParsedRecord last;
  ASSERT_TRUE(p->flush(*state, arena, last));
  EXPECT_EQ(last.record.find("level")->asString(), "INFO");
  EXPECT_FALSE(state->held_from.has_value());
}

TEST(MultilineParserTest, ConfigErrors) {
  testing::PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Parser, "multiline", "format_firstline /x/").isOk());
  EXPECT_FALSE(f.make(PluginKind::Parser, "multiline", "format1 /(?<a>x)/\nformat3 /y/").isOk());
  EXPECT_FALSE(f.make(PluginKind::Parser, "multiline", "format1 /(?<a>x)(?=y)/").isOk());
}

}  // namespace
}  // namespace sluice::plugins::parser_multiline
