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
