// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/filter_grep/grep_filter.h"
#include "support/alloc_counter.h"
#include "support/test_support.h"

namespace sluice::plugins::filter_grep {
namespace {

using testing::batchOf;
using testing::jsonRecords;
using testing::PluginFactory;

std::vector<std::string> run(const std::string& config, const std::vector<std::string>& records) {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "grep", config);
  Batch b = batchOf(records);
  filter->process(b);
  return jsonRecords(b);
}

const std::vector<std::string> kRecords = {
    R"({"level":"info","message":"started","host":"web1"})",
    R"({"level":"error","message":"disk full","host":"db1"})",
    R"({"level":"debug","message":"tick","host":"web2"})",
    R"({"message":"no level","host":"web3"})",
    R"({"level":"warn","message":"slow","code":503})",
};

TEST(GrepFilterTest, RegexpsMustAllMatch) {
  EXPECT_EQ(run("<regexp>\n key level\n pattern /^(error|warn)$/\n</regexp>\n"
                "<regexp>\n key message\n pattern /disk/\n</regexp>", kRecords),
            (std::vector<std::string>{kRecords[1]}));
}

TEST(GrepFilterTest, AnyExcludeDrops) {
  EXPECT_EQ(run("<exclude>\n key level\n pattern debug\n</exclude>\n"
                "<exclude>\n key host\n pattern ^db\n</exclude>", kRecords),
            (std::vector<std::string>{kRecords[0], kRecords[3], kRecords[4]}));
}

TEST(GrepFilterTest, MissingFieldNeverMatches) {
  // <regexp> on a missing field drops; <exclude> on a missing field keeps.
  EXPECT_EQ(run("<regexp>\n key level\n pattern .\n</regexp>", kRecords).size(), 4u);
  EXPECT_EQ(run("<exclude>\n key level\n pattern .\n</exclude>", kRecords),
            (std::vector<std::string>{kRecords[3]}));
}

TEST(GrepFilterTest, AndOrGroups) {
  EXPECT_EQ(run("<or>\n <regexp>\n  key level\n  pattern ^error$\n </regexp>\n"
                " <regexp>\n  key host\n  pattern ^web1$\n </regexp>\n</or>", kRecords),
            (std::vector<std::string>{kRecords[0], kRecords[1]}));
  EXPECT_EQ(run("<and>\n <exclude>\n  key level\n  pattern ^debug$\n </exclude>\n"
                " <exclude>\n  key host\n  pattern ^web\n </exclude>\n</and>", kRecords),
            (std::vector<std::string>{kRecords[0], kRecords[1], kRecords[3], kRecords[4]}));
}

TEST(GrepFilterTest, NonStringValuesAndNestedKeys) {
  EXPECT_EQ(run("<regexp>\n key code\n pattern ^5\\d\\d$\n</regexp>", kRecords),
            (std::vector<std::string>{kRecords[4]}));
  EXPECT_EQ(run("<regexp>\n key $.k.ns\n pattern prod\n</regexp>",
                {R"({"k":{"ns":"prod-a"}})", R"({"k":{"ns":"dev"}})"}),
            (std::vector<std::string>{R"({"k":{"ns":"prod-a"}})"}));
}

TEST(GrepFilterTest, ConfigErrors) {
  PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Filter, "grep", "<regexp>\n key a\n</regexp>").isOk());
  EXPECT_FALSE(f.make(PluginKind::Filter, "grep", "<regexp>\n key a\n pattern (\n</regexp>").isOk());
  EXPECT_FALSE(f.make(PluginKind::Filter, "grep",
                      "<and>\n <regexp>\n  key a\n  pattern b\n </regexp>\n <exclude>\n  key a\n  pattern c\n </exclude>\n</and>")
                   .isOk());
}

TEST(GrepFilterTest, WarmBatchAllocatesNothingForStringFields) {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "grep", "<exclude>\n key level\n pattern debug\n</exclude>");
  std::vector<std::string> records(100, R"({"level":"info","message":"x"})");
  for (int i = 0; i < 100; ++i) {  // and the measured records' shape, with other values
    records.push_back(std::string(R"({"level":")") + (i % 2 ? "debug" : "error") + R"(","message":"z)" +
                      std::to_string(100000 + i) + "\"}");
  }
  Batch warm = batchOf(records);
  filter->process(warm);  // RE2 builds its DFA lazily on first use
  // Other records than the warm-up's: other levels (a third dropped) and messages.
  std::vector<std::string> others;
  for (int i = 0; i < 99; ++i) {
    others.push_back(std::string(R"({"level":")") + (i % 3 == 0 ? "debug" : i % 3 == 1 ? "error" : "info") +
                     R"(","message":"y)" + std::to_string(i) + "\"}");
  }
  Batch b = batchOf(others);
  testing::AllocationCounter counter;
  filter->process(b);
  EXPECT_EQ(counter.count(), 0u);
  EXPECT_EQ(b.size(), 66u);
}

// Fluentd v0.12's numbered parameters, still read by Fluentd v1 (fluentd-examples/v0_12_filter.conf).
TEST(GrepFilterTest, NumberedRegexpKeepsOnlyMatchingRecords) {
  const std::vector<std::string> records = {R"({"message":"keep this please"})", R"({"message":"Do not keep"})",
                                            R"({"messag22":"keep this please"})"};
  EXPECT_EQ(run("regexp1 message keep this", records), (std::vector<std::string>{records[0]}));
}

TEST(GrepFilterTest, NumberedRulesCombineLikeSections) {
  // regexpN all must match, any excludeN drops, together with the sections.
  EXPECT_EQ(run("regexp1 level ^(error|warn|info)$\nregexp2 message [a-z]\nexclude1 host ^db\nexclude2 code 503\n"
                "<exclude>\n key message\n pattern started\n</exclude>", kRecords),
            (std::vector<std::string>{}));
  EXPECT_EQ(run("regexp1 level ^(error|warn|info)$\nexclude1 host ^db\nexclude2 code 503", kRecords),
            (std::vector<std::string>{kRecords[0]}));
  // The regexp is everything after the first space, spaces included.
  EXPECT_EQ(run("exclude1 message disk full", kRecords).size(), kRecords.size() - 1);
}

TEST(GrepFilterTest, NumberedRuleErrorsAreConfigErrors) {
  PluginFactory f;
  auto one = f.make(PluginKind::Filter, "grep", "regexp1 message");
  ASSERT_FALSE(one.isOk());
  EXPECT_NE(one.status().message().find("regexp1: needs two parameters"), std::string::npos) << one.status().message();
  auto twice = f.make(PluginKind::Filter, "grep", "exclude1 host a\nexclude3 host b");
  ASSERT_FALSE(twice.isOk());
  EXPECT_NE(twice.status().message().find("exclude3: the key 'host' is given twice"), std::string::npos)
      << twice.status().message();
}

}  // namespace
}  // namespace sluice::plugins::filter_grep
