// SPDX-License-Identifier: Apache-2.0
// Cases ported from Fluentd's test/test_match.rb, plus space-separated and /regex/ patterns.

#include <gtest/gtest.h>

#include "core/tag_pattern.h"

namespace sluice {
namespace {

struct MatchCase {
  const char* pattern;
  const char* tag;
  bool matches;
};

void PrintTo(const MatchCase& c, std::ostream* os) {
  *os << "'" << c.pattern << "' vs '" << c.tag << "'";
}

class TagPatternTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(TagPatternTest, MatchesLikeFluentd) {
  const MatchCase& c = GetParam();
  auto p = TagPattern::compile(c.pattern);
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->matches(c.tag), c.matches) << "pattern " << c.pattern << " tag " << c.tag
                                          << " regex " << globToRegex(c.pattern);
}

const MatchCase kCases[] = {
    // test_simple
    {"a", "a", true}, {"a.b", "a.b", true}, {"a", "b", false}, {"a.b", "aab", false},
    // test_wildcard
    {"a*", "a", true}, {"a*", "ab", true}, {"a*", "abc", true}, {"*a", "a", true}, {"*a", "ba", true},
    {"*a", "cba", true}, {"*a*", "a", true}, {"*a*", "ba", true}, {"*a*", "ac", true},
    {"*a*", "bac", true}, {"a*", "a.b", false}, {"a*", "ab.c", false}, {"a*", "ba", false},
    {"*a", "ab", false}, {"a.*", "a.b", true}, {"a.*", "a.c", true}, {"a.*", "ab", false},
    {"a.*.c", "a.b.c", true}, {"a.*.c", "a.c.c", true}, {"a.*.c", "a.c", false},
    // test_recursive_wildcard
    {"a.**", "a", true}, {"a.**", "ab", false}, {"a.**", "abc", false}, {"a.**", "a.b", true},
    {"a.**", "ab.c", false}, {"a.**", "ab.d.e", false}, {"a**", "a", true}, {"a**", "ab", true},
    {"a**", "abc", true}, {"a**", "a.b", true}, {"a**", "ab.c", true}, {"a**", "ab.d.e", true},
    {"**.a", "a", true}, {"**.a", "ba", false}, {"**.a", "c.ba", false}, {"**.a", "b.a", true},
    {"**.a", "cb.a", true}, {"**.a", "d.e.a", true}, {"**a", "a", true}, {"**a", "ba", true},
    {"**a", "c.ba", true}, {"**a", "b.a", true}, {"**a", "cb.a", true}, {"**a", "d.e.a", true},
    // test_or
    {"a.{b,c}", "a.b", true}, {"a.{b,c}", "a.c", true}, {"a.{b,c}", "a.d", false},
    {"a.{b,c}.**", "a.b", true}, {"a.{b,c}.**", "a.c", true}, {"a.{b,c}.**", "a.d", false},
    {"a.{b,c}.**", "a.cd", false}, {"a.{b.**,c}", "a.b", true}, {"a.{b.**,c}", "a.b.c", true},
    {"a.{b.**,c}", "a.c", true}, {"a.{b.**,c}", "a.c.d", false},
    // sluice: middle '**', alternatives, regexps, the empty pattern
    {"a.**.z", "a.z", true}, {"a.**.z", "a.b.z", true}, {"a.**.z", "a.b.c.z", true}, {"a.**.z", "a.bz", false},
    {"a.** b.*", "b.x", true}, {"a.** b.*", "a.x.y", true}, {"a.** b.*", "c", false},
    {"/kube\\.(ns1|ns2)\\..*/", "kube.ns1.pod", true}, {"/kube\\.ns1/", "x.kube.ns1.pod", false},
    {"/^app\\..*$/ sys.*", "sys.log", true}, {"{a,{b,c}}.x", "c.x", true}, {"{a,{b,c}}.x", "d.x", false},
    {"", "anything.at.all", true},
    {"kubernetes.agentarea.**", "kubernetes.agentarea.var.log.containers.a_b_c-0123.log", true},
};

INSTANTIATE_TEST_SUITE_P(Fluentd, TagPatternTest, ::testing::ValuesIn(kCases));

TEST(TagPatternTest, UnterminatedRegexIsAnError) {
  EXPECT_FALSE(TagPattern::compile("/abc").isOk());
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// Issue 15 item 6: a tag that is not UTF-8 (from a file named bad\xff.log) matched no
// <match>, not even `**`, and its lines were lost.
TEST(TagPatternBytesTest, TagsThatAreNotUtf8StillMatch) {
  const std::string tag = "var.log.bad\xff.log";
  for (const char* pattern : {"**", "var.**", "var.log.*.log", "*.*.bad*.log", "var.log.bad\xff.log", "other.** **",
                              "/var\\.log\\..*/", "/.*bad.\\.log/"}) {
    auto p = TagPattern::compile(pattern);
    ASSERT_TRUE(p.isOk()) << pattern << ": " << p.status().message();
    EXPECT_TRUE(p->matches(tag)) << pattern;
  }
  for (const char* pattern : {"var.log", "var.log.bad.log", "/var\\.log\\.bad\\.log/"}) {
    EXPECT_FALSE(TagPattern::compile(pattern)->matches(tag)) << pattern;
  }
  // Non-ASCII (UTF-8) globs compare bytes too, and a newline in a tag is just a byte.
  EXPECT_TRUE(TagPattern::compile("app.café.*")->matches("app.café.x"));
  EXPECT_FALSE(TagPattern::compile("app.café.*")->matches("app.cafe.x"));
  EXPECT_TRUE(TagPattern::compile("**")->matches(std::string("a\nb\0c", 5)));
  EXPECT_TRUE(TagPattern::compile("a.*")->matches("a.x\ny"));
}

}  // namespace
}  // namespace sluice
