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
  EXPECT_NE(r.err.find("sluice: 3 lines read, 2 records out, 1 malformed (first at line 2)\n"), std::string::npos) << r.err;
  size_t lines = std::count(r.err.begin(), r.err.end(), '\n');
  EXPECT_EQ(lines, 2u) << r.err;  // the warning and the summary
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

// Issue 15 item 1: a record value in a file path walked out of the folder.
TEST(HostileInputTest, RecordValuesInFilePathsStayInTheirFolder) {
  TempDir dir;
  std::filesystem::create_directories(dir.file("var/log/out"));
  writeFile(dir.file("p.conf"),
            "<source>\n @type stdin\n tag t\n <parse>\n  @type json\n </parse>\n</source>\n"
            "<match t>\n @type file\n path " + dir.file("var/log/out") + "/${$.user}/app.log\n"
            " <buffer $.user>\n  dead_letter_path " + dir.file("dead") + "\n </buffer>\n</match>\n");
  auto r = runSluice({"-c", dir.file("p.conf")},
                     "{\"user\":\"../../escaped\",\"n\":1}\n{\"user\":\"/etc\",\"n\":2}\n{\"user\":\"..\",\"n\":3}\n"
                     "{\"user\":\"\",\"n\":4}\n{\"n\":5}\n{\"user\":\"alice\",\"n\":6}\n{\"user\":\"a\\u0000b%2F\",\"n\":7}\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("var/escaped")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("var/log/escaped")));
  EXPECT_EQ(readFile(dir.file("var/log/out/..%2F..%2Fescaped/app.log")), "{\"user\":\"../../escaped\",\"n\":1}\n");
  EXPECT_EQ(readFile(dir.file("var/log/out/%2Fetc/app.log")), "{\"user\":\"/etc\",\"n\":2}\n");
  EXPECT_EQ(readFile(dir.file("var/log/out/%2E%2E/app.log")), "{\"user\":\"..\",\"n\":3}\n");
  EXPECT_EQ(readFile(dir.file("var/log/out/alice/app.log")), "{\"user\":\"alice\",\"n\":6}\n");
  EXPECT_EQ(readFile(dir.file("var/log/out/a%00b%252F/app.log")), "{\"user\":\"a\\u0000b%2F\",\"n\":7}\n");
  EXPECT_FALSE(std::filesystem::exists(dir.file("var/log/out/app.log")));
  // Empty and missing values are refused: their events are dead letters, counted and logged.
  std::string dead = readFile(dir.file("dead/file.0.jsonl"));
  EXPECT_NE(dead.find("\\\"n\\\":4"), std::string::npos) << dead;
  EXPECT_NE(dead.find("\\\"n\\\":5"), std::string::npos) << dead;
  EXPECT_NE(dead.find("${$.user} is empty, which would make the path component ''"), std::string::npos) << dead;
  EXPECT_NE(r.err.find("written to the dead letters"), std::string::npos) << r.err;
}

// Issue 15 item 7: strict JSON dropped these lines, in quick mode and in the parser filter.
TEST(HostileInputTest, JsonLinesAreKeptAndRepairsCounted) {
  const std::string input =
      "{\"a\":\"bad \xff\"}\n{\"a\":\"\\ud800\"}\n{\"a\":18446744073709551616}\n{\"a\":-9223372036854775809}\n"
      "{\"a\":1e999}\n{\"a\":18446744073709551615}\n{\"a\":-0}\n{\"a\":2,\"a\":1}\n";
  const std::string expected =
      "{\"a\":\"bad \xEF\xBF\xBD\"}\n{\"a\":\"\xEF\xBF\xBD\"}\n{\"a\":18446744073709551616}\n"
      "{\"a\":-9223372036854775809}\n{\"a\":1e999}\n{\"a\":18446744073709551615}\n{\"a\":-0}\n{\"a\":1}\n";
  for (const char* parser : {"json", "auto"}) {
    auto r = runSluice({"--parse", parser}, input);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expected) << parser;
    EXPECT_EQ(r.err, "") << parser;
  }
  TempDir dir;
  writeFile(dir.file("f.conf"),
            "<source>\n @type stdin\n tag t\n <parse>\n  @type none\n </parse>\n</source>\n"
            "<filter t>\n @type parser\n key_name message\n replace_invalid_sequence true\n <parse>\n  @type json\n </parse>\n</filter>\n"
            "<match t>\n @type file\n path " + dir.file("out.jsonl") + "\n</match>\n");
  auto r = runSluice({"-c", dir.file("f.conf"), "--dry-run", "--list-metrics"});
  EXPECT_NE(r.out.find("sluice_parser_json_repaired_values_total{plugin_id=\"json.0\",type=\"json\",error_type=\"invalid_utf8\"}"),
            std::string::npos) << r.out;
  r = runSluice({"-c", dir.file("f.conf")}, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(readFile(dir.file("out.jsonl")), expected);
}

// Issue 15 item 8: duplicate keys reached grep and the outputs differently.
TEST(HostileInputTest, DuplicateKeysResolveOnceForEveryFilter) {
  auto r = runSluice({"--parse", "json", "-f", "grep", "-s", "regexp=a:^2$"}, "{\"a\":2,\"a\":1}\n{\"a\":1,\"a\":2}\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"a\":2}\n");
}

// Issue 15 item 6: a tag that is not UTF-8 matched no <match>, not even `**`.
TEST(HostileInputTest, TagsThatAreNotUtf8AreRouted) {
  TempDir dir;
  writeFile(dir.file("t.conf"),
            "<source>\n @type stdin\n tag bad\xff.log\n</source>\n"
            "<match **>\n @type file\n path " + dir.file("out.log") + "\n <format>\n  @type out_file\n  output_time false\n </format>\n</match>\n");
  auto r = runSluice({"-c", dir.file("t.conf")}, "one\ntwo\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(readFile(dir.file("out.log")), "bad\xff.log\t{\"message\":\"one\"}\nbad\xff.log\t{\"message\":\"two\"}\n");
  // A /regexp/ pattern sees the bad byte as U+FFFD.
  writeFile(dir.file("r.conf"),
            "<source>\n @type stdin\n tag bad\xff.log\n</source>\n"
            "<match /bad.\\.log/>\n @type file\n path " + dir.file("r.jsonl") + "\n</match>\n");
  r = runSluice({"-c", dir.file("r.conf")}, "one\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(readFile(dir.file("r.jsonl")), "{\"message\":\"one\"}\n");
}

// Issue 15 item 9: 32 lines in, 7 records out, 5 reported, exit 0 and no summary.
TEST(HostileInputTest, QuickModeAccountsForEveryLine) {
  std::string input;
  for (int i = 1; i <= 1000; ++i) input += i % 100 == 0 ? "{\"n\":" + std::to_string(i) + "}\n" : "bad line\n";
  auto r = runSluice({"--parse", "json"}, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 10);
  EXPECT_NE(r.err.find("sluice: 1000 lines read, 10 records out, 990 malformed (first at line 1)\n"), std::string::npos)
      << r.err;
  r = runSluice({"--parse", "json", "--fail-on-malformed"}, "{\"a\":1}\n{\"a\":\n{\"b\":2}\n");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("sluice: 3 lines read, 2 records out, 1 malformed (first at line 2)\n"), std::string::npos) << r.err;
  r = runSluice({"--parse", "json", "--fail-on-malformed"}, "{\"a\":1}\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

// Issue 15 item 11: these ran quick mode or said "configuration OK" with nothing to run.
TEST(HostileInputTest, CommandLineMistakesAreUsageErrors) {
  TempDir dir;
  writeFile(dir.file("empty.conf"), "# nothing\n");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const Case cases[] = {
      {{"-c", dir.path()}, "is a directory"},
      {{"-c", dir.file("empty.conf"), "--dry-run"}, "holds no configuration"},
      {{"conf/demo.conf"}, "unexpected argument 'conf/demo.conf' (did you mean -c conf/demo.conf?)"},
      {{"foo", "bar"}, "unexpected argument 'foo'"},
      {{"replay"}, "replay needs the dead-letter directory"},
      {{"--list-metrics"}, "--list-metrics only works with --dry-run"},
      {{"--parse", "json", "--list-metrics"}, "--list-metrics only works with --dry-run"},
  };
  for (const Case& c : cases) {
    auto r = runSluice(c.args, "{\"a\":1}\n");
    EXPECT_EQ(r.exit_code, 2) << c.args[0] << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << c.args[0];
  }
}

// Issue 15 item 12: `-f grep -s key=a` was an unknown parameter, so grep passed everything.
TEST(HostileInputTest, QuickModeFiltersWithSections) {
  const std::string input = "{\"level\":\"error\",\"m\":1}\n{\"level\":\"info\",\"m\":2}\n{\"level\":\"error\",\"m\":3}\n";
  auto r = runSluice({"--parse", "json", "-f", "grep", "-s", "regexp=level:^error$", "-s", "exclude=m:^3$"}, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"level\":\"error\",\"m\":1}\n");
  r = runSluice({"--parse", "json", "-f", "record_transformer", "-s", "record.host=web1", "-s", "remove_keys=m"}, input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "{\"level\":\"error\",\"host\":\"web1\"}");
  r = runSluice({"--parse", "json", "-f", "grep", "-s", "key=a", "--strict"}, input);
  EXPECT_EQ(r.exit_code, 2) << r.err;
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
