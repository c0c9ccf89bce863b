// SPDX-License-Identifier: Apache-2.0
// Fluentd v0.12's parser parameters beside the tail (format, time_key, …), which Fluentd v1
// still reads through its compat_parameters: the tail builds its <parse> section from them.

#include <gtest/gtest.h>

#include "plugins/in_tail/tail_test_support.h"

namespace sluice::plugins::in_tail::testing {
namespace {

using sluice::testing::waitFor;

class TailCompatTest : public TailInputTest {
 protected:
  // A tail of logs/*.log written the v0.12 way: `v012` instead of a <parse> section.
  void SetUp() override { fs::create_directories(dir_.file("logs")); }
  void startV012(const std::string& v012) {
    factory_.setClock(clock_);
    input_ = factory_.mustMake<TailInput>(PluginKind::Input, "tail",
                                          "path " + dir_.file("logs/*.log") + "\ntag t\nread_from_head true\n" + v012);
    ASSERT_NE(input_, nullptr);
    thread_ = std::thread([this] { EXPECT_TRUE(input_->run(sink_, *stop_).isOk()); });
  }
};

TEST_F(TailCompatTest, FormatAndTimeKeysBecomeTheParseSection) {
  append(dir_.file("logs/a.log"), "{\"at\":\"2026-11-28 01:02:03\",\"msg\":\"hi\"}\n");
  startV012("format json\ntime_key at\ntime_format %Y-%m-%d %H:%M:%S\nkeep_time_key true\nutc true\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  EXPECT_EQ(sink_.records(), (std::vector<std::string>{R"(t {"at":"2026-11-28 01:02:03","msg":"hi"})"}));
  EXPECT_EQ(sink_.times(), (std::vector<int64_t>{1795827723LL * kNanosPerSecond}));
}

TEST_F(TailCompatTest, ARegexpFormatIsTheRegexpParser) {
  append(dir_.file("logs/a.log"), "GET /a 200\n");
  startV012("format /^(?<method>\\S+) (?<path>\\S+) (?<code>\\d+)$/\ntypes code:integer\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  EXPECT_EQ(sink_.records(), (std::vector<std::string>{R"(t {"method":"GET","path":"/a","code":200})"}));
}

TEST_F(TailCompatTest, AWrittenParseSectionWinsAndNeitherIsAnError) {
  // With <parse>, v0.12's format is not used (Fluentd's compat_parameters converts only
  // without one).
  append(dir_.file("logs/a.log"), "{\"msg\":\"hi\"}\n");
  startV012("format json\n<parse>\n@type none\n</parse>\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"{\"msg\":\"hi\"}"}));
  stopTail();
  auto made = factory_.make(PluginKind::Input, "tail", "path " + dir_.file("logs/*.log") + "\ntag t\n");
  ASSERT_FALSE(made.isOk());
  EXPECT_NE(made.status().message().find("tail needs a <parse> section"), std::string::npos) << made.status().message();
  auto unknown = factory_.make(PluginKind::Input, "tail", "path " + dir_.file("logs/*.log") + "\ntag t\nformat nosuch\n");
  ASSERT_FALSE(unknown.isOk());
  EXPECT_NE(unknown.status().message().find("nosuch"), std::string::npos) << unknown.status().message();
}

}  // namespace
}  // namespace sluice::plugins::in_tail::testing
