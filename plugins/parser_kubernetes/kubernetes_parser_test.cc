// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/parser_kubernetes/kubernetes_parser.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_kubernetes {
namespace {

std::vector<std::string> run(const std::vector<std::string_view>& lines, bool with_state = true) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "kubernetes", "");
  auto state = with_state ? p->newState() : nullptr;
  std::vector<ParsedRecord> out(lines.size());
  Arena arena;
  p->parse(LineBatch{lines, false, state.get(), 0}, arena, out);
  std::vector<std::string> got;
  for (const auto& r : out) {
    if (r.ok()) got.push_back(toJson(r.record));
  }
  ParsedRecord last;
  if (state && p->flush(*state, arena, last)) got.push_back("flushed " + toJson(last.record));
  return got;
}

TEST(KubernetesParserTest, SameFieldsForCriAndDocker) {
  EXPECT_EQ(run({"2026-11-22T01:00:00.5Z stdout P {\"a\":", "2026-11-22T01:00:00.6Z stdout F 1}"}),
            (std::vector<std::string>{R"({"log":"{\"a\":1}","stream":"stdout"})"}));
  EXPECT_EQ(run({R"({"log":"{\"a\":","stream":"stdout","time":"2026-11-22T01:00:00.5Z"})",
                 R"({"log":"1}\n","stream":"stdout","time":"2026-11-22T01:00:00.6Z"})"}),
            (std::vector<std::string>{R"({"log":"{\"a\":1}","stream":"stdout"})"}));
}

TEST(KubernetesParserTest, KlogWithContinuationLines) {
  EXPECT_EQ(run({"I1121 10:00:00.123456    1234 server.go:42] started",
                 "E1121 10:00:01.000001    1234 handler.go:7] panic: boom",
                 "goroutine 1 [running]:", "main.main()", "I1121 10:00:02.000000    1234 x.go:1] next"}),
            (std::vector<std::string>{
                R"({"severity":"I","pid":"1234","source":"server.go:42","message":"started"})",
                R"J({"severity":"E","pid":"1234","source":"handler.go:7","message":"panic: boom\ngoroutine 1 [running]:\nmain.main()"})J",
                R"(flushed {"severity":"I","pid":"1234","source":"x.go:1","message":"next"})"}));
}

TEST(KubernetesParserTest, OtherLinesKeptAsLog) {
  EXPECT_EQ(run({"plain text"}, false), (std::vector<std::string>{R"({"log":"plain text"})"}));
}

}  // namespace
}  // namespace sluice::plugins::parser_kubernetes
