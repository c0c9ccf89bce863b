// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_none/none_parser.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_none {
namespace {

TEST(NoneParserTest, KeepsTheLine) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "none", "message_key log");
  std::vector<std::string_view> lines = {"raw \"text\"", ""};
  std::vector<ParsedRecord> out(2);
  Arena arena;
  p->parse(LineBatch{lines}, arena, out);
  EXPECT_EQ(toJson(out[0].record), R"({"log":"raw \"text\""})");
  EXPECT_EQ(toJson(out[1].record), R"({"log":""})");
  EXPECT_FALSE(out[0].has_time);
}

}  // namespace
}  // namespace sluice::plugins::parser_none
