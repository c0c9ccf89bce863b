// SPDX-License-Identifier: Apache-2.0
// <group> rate limits and strftime paths through real files, inotify and the input's
// ManualClock. The rule cases port Fluentd's test/plugin/test_in_tail.rb ("configure group",
// "group rules line limit resolution", "files should be placed in groups", "throttling logs
// at in_tail level") as facts.

#include "plugins/in_tail/tail_test_support.h"

namespace sluice::plugins::in_tail {
namespace {

using namespace testing;
using sluice::testing::waitFor;

// Fluentd's tailing_group_pattern under /tmp/x (docker ids of six characters).
const std::string kPattern =
    R"(/\/tmp\/x\/(?<podname>[a-z0-9]([-a-z0-9]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)_(?<namespace>[^_]+)_(?<container>.+)-(?<docker_id>[a-z0-9]{6})\.log$/)";

std::string rule(const std::string& match, int limit) {
  return "<rule>\n" + (match.empty() ? std::string() : "match " + match + "\n") + "limit " + std::to_string(limit) +
         "\n</rule>\n";
}

Result<std::unique_ptr<GroupRules>> rulesOf(const std::string& pattern, const std::string& rules) {
  static std::vector<std::unique_ptr<config::Element>> keep;
  keep.push_back(std::make_unique<config::Element>(
      sluice::testing::parseConfig("<group>\npattern " + pattern + "\nrate_period 1m\n" + rules + "</group>\n")));
  return GroupRules::create(*keep.back()->children("group").front());
}

int64_t limitFor(const GroupRules& rules, const std::string& file) {
  return rules.limitOf(rules.groupOf("/tmp/x/" + file));
}

TEST(TailGroupRules, MoreSpecificRulesWinWhateverTheirOrder) {
  auto rules = rulesOf(kPattern, rule(R"({"namespace": "/namespace-a/"})", 100) +
                                     rule(R"({"namespace": "/namespace-a/", "podname": "/podname-[b|c]/"})", 50) +
                                     rule(R"({"podname": "/podname-[b|c]/"})", 400));
  ASSERT_TRUE(rules.isOk()) << rules.status().message();
  EXPECT_EQ(limitFor(**rules, "podname-b_namespace-a_c-abcdef.log"), 50);
  EXPECT_EQ(limitFor(**rules, "podname-c_namespace-a_c-abcdef.log"), 50);
  EXPECT_EQ(limitFor(**rules, "podname-d_namespace-a_c-abcdef.log"), 100);
  EXPECT_EQ(limitFor(**rules, "podname-b_namespace-f_c-abcdef.log"), 400);
  EXPECT_EQ(limitFor(**rules, "podname-d_namespace-f_c-abcdef.log"), -1);  // no rule: not limited
  EXPECT_EQ(limitFor(**rules, "test1.txt"), -1);                          // not matched by the pattern
}

TEST(TailGroupRules, FilesArePlacedInTheirGroupsAndARuleWithoutMatchLimitsTheDefaultGroup) {
  auto rules = rulesOf(kPattern, rule("", 400) + rule(R"({"podname": "/test-podname2/"})", 300) +
                                     rule(R"({"namespace": "/test-namespace1/"})", 200) +
                                     rule(R"({"namespace": "/test-namespace1/", "podname": "/test-podname1/"})", 100));
  ASSERT_TRUE(rules.isOk()) << rules.status().message();
  EXPECT_EQ(limitFor(**rules, "test-podname1_test-namespace1_test-container-15fabq.log"), 100);
  EXPECT_EQ(limitFor(**rules, "test-podname3_test-namespace1_test-container-15fabq.log"), 200);
  EXPECT_EQ(limitFor(**rules, "test-podname2_test-namespace2_test-container-15fabq.log"), 300);
  EXPECT_EQ(limitFor(**rules, "test-podname4_test-namespace3_test-container-15fabq.log"), 400);
  EXPECT_EQ(limitFor(**rules, "test1.txt"), 400);  // not matched by the pattern: the default group
}

TEST(TailGroupRules, ConfigurationErrors) {
  auto message = [](const Result<std::unique_ptr<GroupRules>>& r) { return r ? std::string() : r.status().message(); };
  EXPECT_NE(message(rulesOf(kPattern, "")).find("needs at least one <rule>"), std::string::npos);
  EXPECT_NE(message(rulesOf(kPattern, rule(R"({"namespace": "/a/"})", -100))).find("limit must be -1"),
            std::string::npos);
  EXPECT_EQ(message(rulesOf(kPattern, rule(R"({"namespace": "/a/"})", 0) + rule(R"({"podname": "/g/"})", -1))), "");
  // Fluentd silently ignores a key the pattern does not capture (its documentation's own
  // example writes "directoy"); sluice names it.
  EXPECT_NE(message(rulesOf(kPattern, rule(R"({"directoy": "/payment/"})", 10))).find("'directoy' is not a named capture"),
            std::string::npos);
  EXPECT_NE(message(rulesOf(kPattern, "<rule>\nlimits 5\n</rule>\n")).find("unknown parameter 'limits'"), std::string::npos);
}

// The default pattern is Fluentd's: podname, namespace, container and a 64-character docker id
// from a /var/log/containers link.
TEST(TailGroupRules, TheDefaultPatternReadsKubernetesContainerLinks) {
  static config::Element e = sluice::testing::parseConfig(
      "<group>\n" + rule(R"({"namespace": "/^kube-system$/"})", 7) + "</group>\n");
  auto rules = GroupRules::create(*e.children("group").front());
  ASSERT_TRUE(rules.isOk()) << rules.status().message();
  const std::string id(64, 'a');
  EXPECT_EQ((*rules)->limitOf((*rules)->groupOf("/var/log/containers/coredns-1_kube-system_coredns-" + id + ".log")), 7);
  EXPECT_EQ((*rules)->limitOf((*rules)->groupOf("/var/log/containers/web-1_default_web-" + id + ".log")), -1);
  EXPECT_EQ((*rules)->ratePeriodNs(), 5 * kNanosPerSecond);  // Fluentd's code default
}

std::string lines(const std::string& prefix, int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out += prefix + std::to_string(i) + "\n";
  return out;
}

std::vector<std::string> expected(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

const std::string kLogPattern =
    R"(/\/(?<podname>[a-z0-9-]+)_(?<namespace>[^_]+)_(?<container>.+)-(?<docker_id>[a-z0-9]{6})\.log$/)";

// Fluentd's "lines collected with throttling": `limit` lines per rate_period, the rest later,
// nothing lost, in order. The period is the input's clock: the rest waits until exactly one
// rate_period after the first line of the period was read.
TEST_F(TailInputTest, AGroupReadsLimitLinesPerRatePeriodAndTheRestLater) {
  const std::string log = dir_.file("logs/pod-a_ns1_app-abcdef.log");
  fs::create_directories(dir_.file("logs"));
  append(log, lines("m", 0, 10));
  startTail("read_from_head true\n<group>\npattern " + kLogPattern + "\nrate_period 10s\n" +
            rule(R"({"namespace": "/ns1/"})", 4) + "</group>\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 4; }));
  awaitIdle();
  clock_.advance(10 * kNanosPerSecond - 1);
  awaitIdle();
  EXPECT_EQ(sink_.count(), 4u) << "within the first rate_period";
  clock_.advance(1);
  expectHeldUntil(8, 10 * kNanosPerSecond, 10);
  EXPECT_EQ(sink_.messages(), expected("m", 0, 10));
  // Lines written later count in a new period (this one began with the 9th line).
  append(log, lines("m", 10, 16));
  expectHeldUntil(12, 10 * kNanosPerSecond, 16);
  EXPECT_EQ(sink_.messages(), expected("m", 0, 16));
}

// Lines waiting for the group are not recorded as read: the pos_file stays before them, and
// after a restart they are read once, in order, within the limit again.
TEST_F(TailInputTest, LinesWaitingForTheGroupAreNotRecordedAsRead) {
  const std::string log = dir_.file("logs/pod-a_ns1_app-abcdef.log");
  fs::create_directories(dir_.file("logs"));
  append(log, lines("m", 0, 10));  // 3 bytes a line
  const std::string config = "read_from_head true\n<group>\npattern " + kLogPattern + "\nrate_period 10s\n" +
                             rule(R"({"namespace": "/ns1/"})", 4) + "</group>\n";
  startTail(config);
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 4; }));
  awaitIdle();
  clock_.advance(kNanosPerSecond);  // the next pos_file write, within the rate_period
  ASSERT_TRUE(waitFor([&] { return posOffset(log) == 12; })) << posFile();
  stopTail();
  EXPECT_EQ(posOffset(log), 12) << posFile();
  startTail(config);
  expectHeldUntil(8, 10 * kNanosPerSecond, 10);
  EXPECT_EQ(sink_.messages(), expected("m", 0, 10));
}

// Two files of one group share its limit equally; a file of no rule is not limited, and a
// rule with limit 0 reads nothing.
TEST_F(TailInputTest, FilesOfAGroupShareItsLimit) {
  fs::create_directories(dir_.file("logs"));
  const std::string a = dir_.file("logs/pod-a_ns1_app-aaaaaa.log"), b = dir_.file("logs/pod-b_ns1_app-bbbbbb.log");
  const std::string free = dir_.file("logs/pod-c_ns2_app-cccccc.log"), none = dir_.file("logs/pod-d_ns3_app-dddddd.log");
  append(a, lines("a", 0, 6));
  append(b, lines("b", 0, 6));
  append(free, lines("c", 0, 50));
  append(none, lines("d", 0, 5));
  startTail("read_from_head true\n<group>\npattern " + kLogPattern + "\nrate_period 1m\n" +
            rule(R"({"namespace": "/ns1/"})", 4) + rule(R"({"namespace": "/ns3/"})", 0) + "</group>\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 54; }));
  awaitIdle();
  auto of = [&](char c) {
    std::vector<std::string> out;
    for (const std::string& m : sink_.messages()) {
      if (m[0] == c) out.push_back(m);
    }
    return out;
  };
  EXPECT_EQ(of('a'), expected("a", 0, 2));
  EXPECT_EQ(of('b'), expected("b", 0, 2));
  EXPECT_EQ(of('c').size(), 50u);
  EXPECT_TRUE(of('d').empty());
  clock_.advance(60 * kNanosPerSecond);
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 58; }));
  clock_.advance(60 * kNanosPerSecond);
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 62; }));
  awaitIdle();
  EXPECT_EQ(of('a'), expected("a", 0, 6));
  EXPECT_EQ(of('b'), expected("b", 0, 6));
  EXPECT_TRUE(of('d').empty());
}

// Fluentd's test_lines_collected_with_no_throttling: limit -1 reads everything at once.
TEST_F(TailInputTest, AGroupWithoutLimitReadsEverything) {
  const std::string log = dir_.file("logs/test1.log");
  fs::create_directories(dir_.file("logs"));
  append(log, lines("msg", 0, 5120));
  startTail("read_from_head true\n<group>\npattern /\\/(?<file>[^/]+)\\.log$/\nrate_period 1s\n" +
            rule(R"({"file": "/test.*/"})", -1) + "</group>\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 5120; }));
  EXPECT_EQ(sink_.messages().back(), "msg5119");
}

// 2026-11-27T23:59:50Z.
constexpr int64_t kBeforeMidnightUtc = 1'795'823'990 * kNanosPerSecond;

// A path with strftime placeholders is expanded with the input's clock in path_timezone and
// again at every refresh_interval: the next day's file is picked up after midnight.
TEST_F(TailInputTest, StrftimePathsMoveToTheNextDaysFileAtRefresh) {
  clock_.advance(kBeforeMidnightUtc - clock_.nowNs());
  fs::create_directories(dir_.file("logs"));
  append(dir_.file("logs/2026-11-27.log"), "day 27\n");
  append(dir_.file("logs/2026-11-28.log"), "day 28 early\n");
  startTail("read_from_head true\npath_timezone +00:00\nrefresh_interval 30\n", "none", "logs/%Y-%m-%d.log");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  awaitIdle();
  append(dir_.file("logs/2026-11-28.log"), "day 28\n");  // the folder's event rescans: still the 27th
  awaitIdle();
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"day 27"}));
  clock_.advance(30 * kNanosPerSecond);  // 00:00:20 on the 28th, a refresh
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 3; }));
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"day 27", "day 28 early", "day 28"}));
}

TEST_F(TailInputTest, PathTimezoneDecidesTheDay) {
  clock_.advance(kBeforeMidnightUtc - 8 * 3600 * kNanosPerSecond - clock_.nowNs());  // 15:59:50 UTC: the 28th at +09:00
  fs::create_directories(dir_.file("logs/2026/11"));
  append(dir_.file("logs/2026/11/27.log"), "utc day\n");
  append(dir_.file("logs/2026/11/28.log"), "tokyo day\n");
  startTail("read_from_head true\npath_timezone +09:00\n", "none", "logs/%Y/%m/%d.log");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  awaitIdle();
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"tokyo day"}));
}

TEST_F(TailInputTest, PathTimezoneMustBeAnOffset) {
  EXPECT_EQ(configError("path_timezone -0700\n"), "");
  EXPECT_NE(configError("path_timezone Asia/Tokyo\n").find("not an offset"), std::string::npos);
}

}  // namespace
}  // namespace sluice::plugins::in_tail
