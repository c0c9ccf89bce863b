// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_docker/docker_parser.h"
#include "support/fixtures.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_docker {
namespace {

TEST(DockerParserTest, JoinsSplitLinesAndStripsNewline) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "docker", "");
  auto state = p->newState();
  std::vector<std::string_view> lines = {
      R"({"log":"aa\n","stream":"stdout","time":"2021-02-01T16:45:03.01231Z"})",
      R"({"log":"bb","stream":"stdout","time":"2021-02-01T16:45:03.01232Z"})",
      R"({"log":"x\n","stream":"stderr","time":"2021-02-01T16:45:03.01233Z"})",
      R"({"log":"cc\n","stream":"stdout","time":"2021-02-01T16:45:03.01234Z"})",
      R"({"log":"no json"})",
      "garbage"};
  std::vector<ParsedRecord> out(lines.size());
  Arena arena;
  p->parse(LineBatch{lines, false, state.get(), 0}, arena, out);
  EXPECT_EQ(toJson(out[0].record), R"({"log":"aa","stream":"stdout"})");
  EXPECT_TRUE(out[1].held);
  EXPECT_EQ(toJson(out[2].record), R"({"log":"x","stream":"stderr"})");
  EXPECT_EQ(toJson(out[3].record), R"({"log":"bbcc","stream":"stdout"})");
  TimeParser iso("", true);
  EXPECT_EQ(out[3].time_ns, *iso.parse("2021-02-01T16:45:03.01232Z"));
  EXPECT_TRUE(out[4].held);  // a fragment without a stream still joins
  EXPECT_FALSE(out[5].ok());
  EXPECT_FALSE(out[5].held);
}

}  // namespace
}  // namespace sluice::plugins::parser_docker

namespace sluice::plugins::parser_docker {
namespace {

// Fluent Bit's tail docker-mode cases: fragments without "\n" are joined.
TEST(DockerParserTest, FluentBitDockerModeFiles) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures not present";
  for (const char* name : {"dockermode", "dockermode_splitted_line"}) {
    std::string dir = testing::sharedDir() + "/fixtures/container-logs/fluent-bit-tail-dockermode/";
    std::string log = testing::readFile(dir + "log/" + name + ".log");
    std::string expected = testing::readFile(dir + "out/" + name + ".out");
    ASSERT_FALSE(log.empty()) << name;  // a renamed file would otherwise compare "" with ""
    ASSERT_FALSE(expected.empty()) << name;
    testing::PluginFactory f;
    auto p = f.mustMake<Parser>(PluginKind::Parser, "docker", "");
    auto state = p->newState();
    std::vector<std::string_view> lines;
    for (size_t s = 0, nl; (nl = log.find('\n', s)) != std::string::npos; s = nl + 1) {
      lines.emplace_back(log.data() + s, nl - s);
    }
    std::vector<ParsedRecord> out(lines.size());
    Arena arena;
    p->parse(LineBatch{lines, false, state.get(), 0}, arena, out);
    std::string got;
    for (const auto& r : out) {
      if (!r.ok()) continue;
      // Fluent Bit keeps the final newline; sluice strips it (as the kubernetes parser does).
      Value rec = Value::emptyObject();
      rec.setMember("log", Value::string(arena.copy(std::string(r.record.find("log")->asString()) + "\n")), arena);
      got += toJson(rec) + "\n";
    }
    EXPECT_EQ(got, expected) << name;
  }
}

}  // namespace
}  // namespace sluice::plugins::parser_docker
