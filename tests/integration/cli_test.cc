// SPDX-License-Identifier: Apache-2.0
// End-to-end tests of the built binary: real processes, pipes, files and signals.

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "support/test_support.h"

namespace sluice {
namespace {

using testing::readFile;
using testing::runSluice;
using testing::TempDir;
using testing::writeFile;

TEST(CliTest, QuickModeEmitsGoodLinesAndReportsBadOnes) {
  auto r = runSluice({"--parse", "json"}, "{\"a\":1}\nnot json\n{\"b\":\"x\"}\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"a\":1}\n{\"b\":\"x\"}\n");
  EXPECT_NE(r.err.find("Malformed line skipped (invalid JSON): source=stdin line=\"not json\""), std::string::npos) << r.err;
  size_t lines = std::count(r.err.begin(), r.err.end(), '\n');
  EXPECT_EQ(lines, 1u) << r.err;
}

TEST(CliTest, QuickModeAutoParsesJsonOrText) {
  auto r = runSluice({}, "{\"level\":\"info\"}\nplain text\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"level\":\"info\"}\n{\"message\":\"plain text\"}\n");
}

TEST(CliTest, QuickModeFiltersAndSettings) {
  auto ok = runSluice({"--parse", "json", "-f", "record_transformer", "-s", "remove_keys=secret", "-o",
                       "stdout", "-s", "format.@type=single_value", "-s", "format.message_key=msg"},
                      "{\"msg\":\"a\",\"secret\":1}\n{\"msg\":\"b\"}\n");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "a\nb\n");
  auto bad = runSluice({"-s", "x=1"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("must follow --parse, -f or -o"), std::string::npos);
}

TEST(CliTest, ConfigFileWithFileOutput) {
  TempDir dir;
  writeFile(dir.file("s.conf"),
            "<source>\n @type stdin\n tag t\n <parse>\n  @type regexp\n  expression /^(?<level>\\w+) (?<msg>.*)$/\n </parse>\n</source>\n"
            "<filter t>\n @type grep\n <exclude>\n  key level\n  pattern DEBUG\n </exclude>\n</filter>\n"
            "<match t>\n @type file\n path " + dir.file("out/x.jsonl") + "\n</match>\n");
  auto r = runSluice({"-c", dir.file("s.conf")}, "INFO one\nDEBUG two\nWARN three\n???\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(readFile(dir.file("out/x.jsonl")),
            "{\"level\":\"INFO\",\"msg\":\"one\"}\n{\"level\":\"WARN\",\"msg\":\"three\"}\n");
  EXPECT_NE(r.err.find("pattern not matched"), std::string::npos) << r.err;
}

TEST(CliTest, ConfigErrorsExitWithTwoAndNameFileLine) {
  TempDir dir;
  writeFile(dir.file("bad.conf"), "<source>\n @type stdin\n</source>\n<match **>\n @type stdout\n<match>\n");
  auto r = runSluice({"-c", dir.file("bad.conf"), "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.conf:6: section <match> is not closed"), std::string::npos) << r.err;
  writeFile(dir.file("size.conf"), "<match **>\n @type stdin\n</match>\n");
  r = runSluice({"-c", dir.file("size.conf"), "--dry-run"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("known output plugins"), std::string::npos) << r.err;
  r = runSluice({"-c", dir.file("missing.conf")});
  EXPECT_EQ(r.exit_code, 2);
  r = runSluice({"--no-such-flag"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(CliTest, StrictTurnsUnknownParametersIntoErrors) {
  TempDir dir;
  writeFile(dir.file("c.conf"), "<source>\n @type stdin\n tagg x\n</source>\n<match **>\n @type null\n</match>\n");
  auto lenient = runSluice({"-c", dir.file("c.conf"), "--dry-run"});
  EXPECT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_NE(lenient.err.find("c.conf:3: unknown parameter 'tagg' in <source> (@type stdin); did you mean 'tag'?"),
            std::string::npos) << lenient.err;
  auto strict = runSluice({"-c", dir.file("c.conf"), "--dry-run", "--strict"});
  EXPECT_EQ(strict.exit_code, 2);
}

TEST(CliTest, ListDescribeVersion) {
  auto list = runSluice({"--list-plugins"});
  EXPECT_EQ(list.exit_code, 0);
  for (const char* name : {"stdin", "sample", "json", "regexp", "none", "parser", "grep", "record_transformer",
                           "stdout", "file", "copy", "relabel", "null"}) {
    EXPECT_NE(list.out.find(std::string("  ") + name + " "), std::string::npos) << name;
  }
  auto d = runSluice({"--describe", "record_transformer"});
  EXPECT_EQ(d.exit_code, 0);
  EXPECT_NE(d.out.find("renew_record  (bool, default: false)"), std::string::npos) << d.out;
  auto md = runSluice({"--describe", "filter_grep", "--markdown"});
  EXPECT_NE(md.out.find("| `key` | string | `required` |"), std::string::npos) << md.out;
  EXPECT_EQ(runSluice({"--describe", "nope"}).exit_code, 2);
  EXPECT_EQ(runSluice({"--version"}).out.rfind("sluice ", 0), 0u);
}

TEST(CliTest, EveryBundledConfigPassesDryRun) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(SLUICE_SOURCE_DIR) + "/conf")) {
    if (entry.path().extension() != ".conf") continue;
    auto r = runSluice({"-c", entry.path().string(), "--dry-run", "--strict"});
    EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.err;
    EXPECT_NE(r.out.find("configuration OK"), std::string::npos) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

TEST(CliTest, DryRunListsMetrics) {
  auto r = runSluice({"-c", std::string(SLUICE_SOURCE_DIR) + "/conf/demo.conf", "--dry-run", "--list-metrics"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sluice_filter_received_records_total{plugin_id=\"drop_debug\",type=\"grep\"}"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sluice_output_write_duration_seconds{plugin_id=\"out_stdout\",type=\"stdout\"}"), std::string::npos);
}

TEST(CliTest, SigtermStopsAndFlushes) {
  TempDir dir;
  writeFile(dir.file("s.conf"),
            "<source>\n @type sample\n tag s\n rate 200\n auto_increment_key n\n</source>\n"
            "<match s>\n @type file\n path " + dir.file("out.jsonl") + "\n</match>\n");
  testing::SluiceProcess p({"-c", dir.file("s.conf")}, dir.file("stdout"));
  ASSERT_TRUE(testing::waitFor([&] { return readFile(dir.file("out.jsonl")).size() > 200; }));
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0);
  std::string out = readFile(dir.file("out.jsonl"));
  size_t lines = std::count(out.begin(), out.end(), '\n');
  EXPECT_GT(lines, 5u);
  // Every line is whole and the counter has no gap.
  EXPECT_NE(out.find("\"n\":" + std::to_string(lines - 1) + "}"), std::string::npos);
  EXPECT_NE(readFile(dir.file("stdout.err")).find("Received SIGTERM"), std::string::npos);
}

TEST(CliTest, DemoConfigRunsOnTheBundledLog) {
  auto r = runSluice({"-c", std::string(SLUICE_SOURCE_DIR) + "/conf/demo.conf"},
                     readFile(std::string(SLUICE_SOURCE_DIR) + "/conf/demo/app.log"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 5) << r.out;
  EXPECT_EQ(r.out.find("\"level\":\"debug\""), std::string::npos);
  EXPECT_NE(r.out.find("\"error_detail\":{\"type\":\"TimeoutError\",\"after_s\":30}"), std::string::npos) << r.out;
}

TEST(CliTest, JsonSelfLogs) {
  auto r = runSluice({"--parse", "json", "--log-format", "json"}, "nope\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.err.find("{\"time\":\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"level\":\"warn\",\"source\":\"[in:stdin:stdin.0]\",\"message\":\"Malformed line skipped"),
            std::string::npos) << r.err;
}

TEST(CliTest, InvalidUtf8IsReplacedNotEmittedRaw) {
  auto r = runSluice({"--parse", "none"}, std::string("bad \xff\xfe bytes\n"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "{\"message\":\"bad \xEF\xBF\xBD\xEF\xBF\xBD bytes\"}\n");
}

// The real-world configs of ../shared/fixtures parse (syntax level: every section, literal,
// include and embedded expression), and v1_literal_example.conf yields the values its
// comments state.
TEST(FixtureConfigsTest, RealFluentdConfigsParse) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures not present";
  std::string dir = testing::sharedDir() + "/fixtures/fluentd-configs";
  int parsed = 0;
  config::EvalEnvironment env;
  env.hostname = "node-1";
  env.env = [](std::string_view) -> std::optional<std::string> { return std::nullopt; };
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().extension() != ".conf") continue;
    auto r = config::parseConfigFile(entry.path().string(), env);
    if (entry.path().filename() == "v1_literal_example.conf") {
      // Its `key9 "#{test}"` calls Ruby's Kernel#test: sluice names it instead of running it.
      ASSERT_FALSE(r.isOk());
      EXPECT_NE(r.status().message().find("\"#{test}\""), std::string::npos) << r.status().message();
      EXPECT_NE(r.status().message().find("v1_literal_example.conf:22"), std::string::npos) << r.status().message();
      continue;
    }
    EXPECT_TRUE(r.isOk()) << entry.path() << ": " << r.status().message();
    ++parsed;
  }
  EXPECT_GE(parsed, 10);
}

// v1_literal_example.conf states each value in a comment; the one Ruby call (key9 of
// section2) is left out.
TEST(FixtureConfigsTest, LiteralExampleValues) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures not present";
  std::string text = readFile(testing::sharedDir() + "/fixtures/fluentd-configs/fluentd-examples/v1_literal_example.conf");
  size_t k9 = text.find("  key9  \"#{test}\"");
  ASSERT_NE(k9, std::string::npos);
  text.erase(k9, text.find('\n', k9) - k9 + 1);
  auto r = config::parseConfigText(text, "v1_literal_example.conf", ".", config::EvalEnvironment{});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const std::string regex = R"(\[(?<time>[^\]]*)\] (?<message>.*))";
  const std::vector<std::vector<std::pair<std::string, std::string>>> expected = {
      {{"key1", "text"}, {"key2", "'"}, {"key3", "\\"}, {"key4", "\\t"}, {"key5", "\\["}, {"key6", "\\["},
       {"key7", "#t"}, {"key8", "\\#{test}"}, {"key9", "#{test}"}, {"key10", regex}},
      {{"key1", "text"}, {"key2", "\""}, {"key3", "\\"}, {"key4", "\t"}, {"key5", "["}, {"key6", "\\["},
       {"key7", "#t"}, {"key8", "#{test}"}, {"key10", regex}},
      {{"key1", "text"}, {"key2", "\\"}, {"key3", "\\\\"}, {"key4", "\\t"}, {"key5", "\\["}, {"key6", "\\\\["},
       {"key7", "#t"}, {"key8", "\\#{test}"}, {"key9", "#{test}"}, {"key10", regex}},
  };
  ASSERT_EQ(r->elements.size(), 3u);
  for (size_t s = 0; s < 3; ++s) {
    for (const auto& [key, value] : expected[s]) {
      const config::Param* p = r->elements[s].find(key);
      ASSERT_NE(p, nullptr) << "section" << s + 1 << " " << key;
      EXPECT_EQ(p->value, value) << "section" << s + 1 << " " << key;
    }
  }
}

}  // namespace
}  // namespace sluice
