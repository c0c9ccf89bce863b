// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "core/ruby_regex.h"

namespace sluice {
namespace {

TEST(RubyRegexTest, NamedGroupsHexAndFlags) {
  auto re = compileRubyRegex("/^(?<host>[^ ]+) (?<id>\\h+)\\Z/i");
  ASSERT_TRUE(re.isOk()) << re.status().message();
  std::string host, id;
  EXPECT_TRUE(RE2::PartialMatch("web-1 DEADbeef", **re, &host, &id));
  EXPECT_EQ(host, "web-1");
  EXPECT_EQ(id, "DEADbeef");
  EXPECT_FALSE(RE2::PartialMatch("web-1 xyz", **re));
}

TEST(RubyRegexTest, BarePatternAndSingleQuotedNames) {
  auto re = compileRubyRegex("(?'a'\\d+)-[\\h_]+");
  ASSERT_TRUE(re.isOk()) << re.status().message();
  EXPECT_TRUE(RE2::FullMatch("12-ab_f", **re));
  EXPECT_EQ((*re)->NamedCapturingGroups().count("a"), 1u);
}

TEST(RubyRegexTest, CaretAndDollarAreLineAnchorsAsInRuby) {
  auto re = compileRubyRegex("/^b$/");
  ASSERT_TRUE(re.isOk());
  EXPECT_TRUE(RE2::PartialMatch("a\nb\nc", **re));
}

TEST(RubyRegexTest, MultilineFlagLetsDotMatchNewline) {
  auto plain = compileRubyRegex("/a.b/");
  auto m = compileRubyRegex("/a.b/m");
  EXPECT_FALSE(RE2::PartialMatch("a\nb", **plain));
  EXPECT_TRUE(RE2::PartialMatch("a\nb", **m));
}

TEST(RubyRegexTest, UnsupportedConstructsNameWhatIsWrong) {
  struct Case {
    const char* re;
    const char* why;
  };
  for (const Case& c : {Case{"/(?=x)/", "lookahead"}, Case{"/(?<!x)y/", "lookbehind"},
                        Case{"/(a)\\1/", "backreference"}, Case{"/(?>a)/", "atomic"},
                        Case{"/a/x", "extended"}, Case{"/a++/", "possessive"}, Case{"/[a/", "invalid"}}) {
    auto re = compileRubyRegex(c.re);
    ASSERT_FALSE(re.isOk()) << c.re;
    EXPECT_NE(re.status().message().find(c.why), std::string::npos) << re.status().message();
  }
}

}  // namespace
}  // namespace sluice
