// SPDX-License-Identifier: Apache-2.0
// Issue 15 item 7 for the container parsers: what the json parser repairs rather than drop
// (invalid UTF-8 and lone surrogates made U+FFFD, numbers no 64-bit type holds kept as their
// text, duplicate keys resolved) the docker and kubernetes parsers repair the same way in
// Docker json-file lines, and count in their own repaired_values_total; a CRI line's message
// goes to a nested JSON parser, which counts in its own.
#include <gtest/gtest.h>

#include "core/json.h"
#include "core/parser.h"
#include "support/test_support.h"

namespace sluice {
namespace {

struct RepairCase {
  const char* parser;
  const char* config;
  const char* metric;  // whose repaired_values_total counts
};

class ContainerParserRepairTest : public ::testing::TestWithParam<RepairCase> {};

TEST_P(ContainerParserRepairTest, RepairsAreKeptAndCounted) {
  const RepairCase& c = GetParam();
  const bool cri = std::string_view(c.parser) == "cri";
  const std::vector<std::string> docker = {
      "{\"log\":\"bad \xff\xfe\\n\",\"stream\":\"stdout\",\"time\":\"2021-02-01T16:45:03.01231Z\"}",
      R"({"log":"half \ud800\n","stream":"stderr"})",
      R"({"log":"n\n","stream":"stdout","size":18446744073709551616,"stream":"stderr"})",
      "{\"no_log\":\"\xff\"}",  // not a Docker entry: its repair is not counted as one
  };
  const std::vector<std::string> cri_lines = {
      "2021-02-01T16:45:03.01231Z stdout F {\"log\":\"bad \xff\xfe\"}",
      R"(2021-02-01T16:45:03.01231Z stderr F {"log":"half \ud800"})",
      R"(2021-02-01T16:45:03.01231Z stdout F {"log":"n","size":18446744073709551616,"log":"m"})",
      "not a CRI line {\"x\":\"\xff\"}",
  };
  const std::vector<std::string>& text = cri ? cri_lines : docker;
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, c.parser, c.config);
  auto state = p->newState();
  std::vector<std::string_view> lines(text.begin(), text.end());
  std::vector<ParsedRecord> out(lines.size());
  Arena arena;
  p->parse(LineBatch{lines, false, state.get(), 0}, arena, out);
  std::vector<std::string> got;
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(out[i].ok()) << i;
    got.push_back(toJson(out[i].record));
  }
  if (cri) {
    EXPECT_EQ(got[0], "{\"log\":\"bad \xEF\xBF\xBD\xEF\xBF\xBD\",\"stream\":\"stdout\",\"logtag\":\"F\"}");
    EXPECT_EQ(got[1], "{\"log\":\"half \xEF\xBF\xBD\",\"stream\":\"stderr\",\"logtag\":\"F\"}");
    EXPECT_EQ(got[2], "{\"log\":\"m\",\"size\":18446744073709551616,\"stream\":\"stdout\",\"logtag\":\"F\"}");
  } else {
    EXPECT_EQ(got[0], "{\"log\":\"bad \xEF\xBF\xBD\xEF\xBF\xBD\",\"stream\":\"stdout\"}");
    EXPECT_EQ(got[1], "{\"log\":\"half \xEF\xBF\xBD\",\"stream\":\"stderr\"}");
    // docker keeps the entry's other fields; kubernetes gives log and stream only.
    EXPECT_EQ(got[2], std::string_view(c.parser) == "docker"
                          ? "{\"log\":\"n\",\"stream\":\"stderr\",\"size\":18446744073709551616}"
                          : "{\"log\":\"n\",\"stream\":\"stderr\"}");
  }
  auto count = [&](const char* type) {
    return f.metrics().valueForTest(c.metric, {{"error_type", type}});
  };
  EXPECT_EQ(count("invalid_utf8"), 2);
  EXPECT_EQ(count("lone_surrogate"), 1);
  EXPECT_EQ(count("number_as_text"), 1);
  EXPECT_EQ(count("duplicate_key"), 1);
}

INSTANTIATE_TEST_SUITE_P(
    Parsers, ContainerParserRepairTest,
    ::testing::Values(RepairCase{"docker", "", "sluice_parser_docker_repaired_values_total"},
                      RepairCase{"kubernetes", "", "sluice_parser_kubernetes_repaired_values_total"},
                      RepairCase{"cri", "keep_time_key false\n<parse>\n @type json\n</parse>",
                                 "sluice_parser_json_repaired_values_total"}),
    [](const auto& info) { return std::string(info.param.parser); });

}  // namespace
}  // namespace sluice
