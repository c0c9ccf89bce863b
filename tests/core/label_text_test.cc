// SPDX-License-Identifier: Apache-2.0
#include "core/label_text.h"

#include <gtest/gtest.h>

#include "core/format.h"

namespace sluice {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TEST(LabelTextTest, ParsesAnySpacingAndEscapes) {
  Pairs pairs;
  ASSERT_TRUE(parseLabelSet(" { a = \"1\",b=\"x\\\"y\" } ", pairs));
  EXPECT_EQ(pairs, (Pairs{{"a", "1"}, {"b", "x\"y"}}));
  ASSERT_TRUE(parseLabelSet(R"({a="x} y\"", b="2"})", pairs));
  EXPECT_EQ(pairs, (Pairs{{"a", "x} y\""}, {"b", "2"}}));
  EXPECT_TRUE(parseLabelSet("{}", pairs));
  EXPECT_TRUE(pairs.empty());
}

TEST(LabelTextTest, RefusesWhatIsNoLabelSet) {
  Pairs pairs;
  EXPECT_FALSE(parseLabelSet("{a=1}", pairs));
  EXPECT_FALSE(parseLabelSet("{1a=\"x\"}", pairs));
  EXPECT_FALSE(parseLabelSet("{a-b=\"x\"}", pairs));
  EXPECT_FALSE(parseLabelSet("{a=\"x\"", pairs));
  EXPECT_FALSE(parseLabelSet("a=\"x\"", pairs));
  EXPECT_FALSE(parseLabelSet("{a=\"x\\", pairs));
  EXPECT_FALSE(parseLabelSet("{a=\"x\"} tail", pairs));
  EXPECT_FALSE(parseLabelSet("", pairs));
}

// What appendLabelValue writes, parseLabelSet reads back as it was.
TEST(LabelTextTest, ReadsBackWhatAppendLabelValueWrites) {
  const std::string value = "say \"hi\"\n\\ back} {, =";
  std::string text = "{a=\"";
  appendLabelValue(text, value);
  text += "\", b=\"\"}";
  Pairs pairs;
  ASSERT_TRUE(parseLabelSet(text, pairs));
  EXPECT_EQ(pairs, (Pairs{{"a", value}, {"b", ""}}));
}

}  // namespace
}  // namespace sluice
