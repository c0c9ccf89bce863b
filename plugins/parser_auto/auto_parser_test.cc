// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_auto/auto_parser.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_auto {
namespace {

TEST(AutoParserTest, JsonWhenJsonElseText) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "auto", "");
  std::vector<std::string_view> lines = {R"({"a":1})", "plain", "{broken", "[1]"};
  std::vector<ParsedRecord> out(lines.size());
  Arena arena;
  p->parse(LineBatch{lines}, arena, out);
  EXPECT_EQ(toJson(out[0].record), R"({"a":1})");
  EXPECT_EQ(toJson(out[1].record), R"({"message":"plain"})");
  EXPECT_EQ(toJson(out[2].record), R"({"message":"{broken"})");
  EXPECT_EQ(toJson(out[3].record), R"({"message":"[1]"})");
  for (const auto& r : out) EXPECT_TRUE(r.ok());
}

}  // namespace
}  // namespace sluice::plugins::parser_auto
