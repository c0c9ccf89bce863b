// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <csignal>

#include "plugins/out_stdout/stdout_output.h"
#include "support/formatter_support.h"
#include "support/test_support.h"

namespace sluice::plugins::out_stdout {
namespace {

using testing::batchOf;
using testing::PluginFactory;

std::string formatWith(const std::string& config) { return testing::outputFormatsOneEvent("stdout", config); }

TEST(StdoutOutputTest, DefaultIsFluentdsTimeTagJson) {
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(formatWith(""), "2026-11-22 01:02:03.000000005 +0000 app.web: {\"a\":\"x\\ny\",\"n\":1}\n");
}

TEST(StdoutOutputTest, JsonFormatIsTheRecordAlone) {
  EXPECT_EQ(formatWith("<format>\n @type json\n</format>"), "{\"a\":\"x\\ny\",\"n\":1}\n");
}

TEST(StdoutOutputTest, OtherFormats) {
  EXPECT_EQ(formatWith("<format>\n @type single_value\n message_key a\n</format>"), "x\ny\n");
  EXPECT_EQ(formatWith("<format>\n @type ltsv\n</format>"), "a:x\ny\tn:1\n");
  EXPECT_EQ(formatWith("<format>\n @type out_file\n utc true\n</format>"),
            "2026-11-22T01:02:03+00:00\tapp.web\t{\"a\":\"x\\ny\",\"n\":1}\n");
  std::string pretty = formatWith("<format>\n @type pretty\n utc true\n</format>");
  EXPECT_EQ(pretty, "2026-11-22 01:02:03.000 app.web a=\"x\\ny\" n=1\n");
}

TEST(StdoutOutputTest, WritesToItsDescriptor) {
  signal(SIGPIPE, SIG_IGN);  // as the engine does
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  PluginFactory f;
  auto out = f.mustMake<StdoutOutput>(PluginKind::Output, "stdout", "");
  out->setFdForTest(fds[1]);
  EXPECT_EQ(out->write(ChunkView("hello\n")).kind, WriteResult::Kind::Ok);
  char buf[16] = {0};
  EXPECT_EQ(read(fds[0], buf, sizeof(buf)), 6);
  close(fds[0]);
  EXPECT_EQ(out->write(ChunkView("x")).kind, WriteResult::Kind::Fail);  // EPIPE: nobody reads
  close(fds[1]);
}

// Issue 15 item 3: printf 'evil \x1b[2J\x1b]0;PWNED\x07\n' | sluice cleared the screen and
// set the window title through the pretty view.
TEST(StdoutOutputTest, PrettyViewEscapesTerminalControls) {
  PluginFactory f;
  auto out = f.mustMake<Output>(PluginKind::Output, "stdout", "<format>\n @type pretty\n utc true\n</format>");
  Batch b = batchOf({"{\"message\":\"evil \\u001b[2J\\u001b]0;PWNED\\u0007\",\"level\":\"\\u001b[31mx\","
                     "\"k\\u001b\":\"v\\u009b1m\\u007f\",\"ok\":\"caf\u00e9 \u2713\"}"},
                    "tag.\x1b]0;T\x07.\xff", 1795309323LL * kNanosPerSecond);
  FormattedEvents text;
  out->format(b, text);
  EXPECT_EQ(text.bytes.find('\x1b'), std::string::npos) << text.bytes;
  EXPECT_EQ(text.bytes.find('\x07'), std::string::npos) << text.bytes;
  EXPECT_EQ(text.bytes.find("\xc2\x9b"), std::string::npos) << text.bytes;
  EXPECT_EQ(text.bytes,
            "2026-11-22 01:02:03.000 \\x1b[31M tag.\\x1b]0;T\\x07.\\xff evil \\x1b[2J\\x1b]0;PWNED\\x07 "
            "k\\x1b=v\\u009b1m\\x7f ok=\"café ✓\"\n");
  // The plain stdout format writes the tag through the same escaping.
  auto plain = f.mustMake<Output>(PluginKind::Output, "stdout", "<format>\n @type stdout\n utc true\n</format>");
  FormattedEvents t2;
  plain->format(b, t2);
  EXPECT_EQ(t2.bytes.find('\x1b'), std::string::npos) << t2.bytes;
}

// Colour only on a terminal, and never with NO_COLOR set or TERM=dumb (a real pty here).
TEST(StdoutOutputTest, ColourHonoursNoColorAndDumbTerminals) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) GTEST_SKIP() << "no pty here";
  int tty = ::open(::ptsname(master), O_RDWR | O_NOCTTY);
  ASSERT_GE(tty, 0);
  const char* saved_term = std::getenv("TERM");
  std::string term = saved_term ? saved_term : "";
  ::unsetenv("NO_COLOR");
  ::setenv("TERM", "xterm-256color", 1);
  EXPECT_TRUE(colorWanted(tty));
  int null_fd = ::open("/dev/null", O_WRONLY);
  EXPECT_FALSE(colorWanted(null_fd));
  ::close(null_fd);
  ::setenv("NO_COLOR", "1", 1);
  EXPECT_FALSE(colorWanted(tty));
  ::setenv("NO_COLOR", "", 1);  // set but empty: colour (no-color.org)
  EXPECT_TRUE(colorWanted(tty));
  ::unsetenv("NO_COLOR");
  ::setenv("TERM", "dumb", 1);
  EXPECT_FALSE(colorWanted(tty));
  if (saved_term) {
    ::setenv("TERM", term.c_str(), 1);
  } else {
    ::unsetenv("TERM");
  }
  ::close(tty);
  ::close(master);
}

// Issue 15 item 13: --describe stdout listed the <format> default as json.
TEST(StdoutOutputTest, DescribeShowsTheRealFormatDefault) {
  const PluginDescriptor& d = descriptor();
  ASSERT_EQ(d.sections.size(), 2u);
  EXPECT_EQ(d.sections[0].name, "format");
  EXPECT_EQ(d.sections[1].name, "inject");
  const ParamInfo& type = d.sections[0].params.at(0);
  EXPECT_EQ(type.name, "@type");
  EXPECT_STREQ(type.default_value, "stdout");
}

// Fluentd's v0.12 `output_type` beside the plugin's parameters (compat_parameters), as
// fluentd-examples/copy_roundrobin.conf writes it; a <format> section wins over it.
TEST(StdoutOutputTest, V012OutputTypeAndFormat) {
  setenv("TZ", "UTC", 1);
  tzset();
  const std::string head = "2026-11-22 01:02:03.000000005 +0000 app.web: ";
  EXPECT_EQ(formatWith("output_type ltsv"), head + "a:x\ny\tn:1\n");
  EXPECT_EQ(formatWith("output_type hash"), head + "{\"a\"=>\"x\\ny\", \"n\"=>1}\n");
  EXPECT_EQ(formatWith("format json"), "{\"a\":\"x\\ny\",\"n\":1}\n");
  EXPECT_EQ(formatWith("output_type ltsv\n<format>\n @type json\n</format>"), "{\"a\":\"x\\ny\",\"n\":1}\n");
  PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Output, "stdout", "output_type foo").isOk());
}

// Cases of Fluentd's test/plugin_helper/test_inject.rb and the <inject> documentation example
// (time 1547575563.952259 UTC, tag test: fluentd_time "2019-01-15T18:06:03.952259000Z").
std::string injected(const std::string& inject, int64_t time_ns = 1547575563952259804LL) {
  PluginFactory f;
  auto out = f.mustMake<Output>(PluginKind::Output, "stdout", "<format>\n @type json\n</format>\n<inject>\n" + inject + "</inject>");
  Batch b = batchOf({R"({"message":"hello"})"}, "test", time_ns);
  FormattedEvents text;
  out->format(b, text);
  // The batch itself is not changed (another <store> of a copy may share it).
  EXPECT_EQ(testing::jsonRecords(b).at(0), R"({"message":"hello"})");
  return text.bytes;
}

TEST(StdoutOutputTest, InjectTimeTypes) {
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(injected(" time_key fluentd_time\n time_type string\n time_format %Y-%m-%dT%H:%M:%S.%NZ\n tag_key fluentd_tag\n"),
            "{\"message\":\"hello\",\"fluentd_tag\":\"test\",\"fluentd_time\":\"2019-01-15T18:06:03.952259804Z\"}\n");
  // float: seconds with microseconds (time.to_r.truncate(6).to_f), the default time_type.
  EXPECT_EQ(injected(" time_key t\n"), "{\"message\":\"hello\",\"t\":1547575563.952259}\n");
  EXPECT_EQ(injected(" time_key t\n time_type unixtime\n"), "{\"message\":\"hello\",\"t\":1547575563}\n");
  EXPECT_EQ(injected(" time_key t\n time_type unixtime_millis\n"), "{\"message\":\"hello\",\"t\":1547575563952}\n");
  EXPECT_EQ(injected(" time_key t\n time_type unixtime_micros\n"), "{\"message\":\"hello\",\"t\":1547575563952259}\n");
  EXPECT_EQ(injected(" time_key t\n time_type unixtime_nanos\n"), "{\"message\":\"hello\",\"t\":1547575563952259804}\n");
  // string without time_format: Ruby's Time#iso8601 (local, or Z with utc).
  EXPECT_EQ(injected(" time_key t\n time_type string\n"), "{\"message\":\"hello\",\"t\":\"2019-01-15T18:06:03+00:00\"}\n");
  EXPECT_EQ(injected(" time_key t\n time_type string\n utc true\n"), "{\"message\":\"hello\",\"t\":\"2019-01-15T18:06:03Z\"}\n");
  EXPECT_EQ(injected(" time_key t\n time_type string\n timezone +09:00\n time_format %Y-%m-%d %H:%M:%S %z\n"),
            "{\"message\":\"hello\",\"t\":\"2019-01-16 03:06:03 +0900\"}\n");
  EXPECT_EQ(injected(" time_key t\n time_type string\n timezone -0730\n"),
            "{\"message\":\"hello\",\"t\":\"2019-01-15T10:36:03-07:30\"}\n");
  // Before 1970 a float time stays in its second.
  EXPECT_EQ(injected(" time_key t\n time_type unixtime\n", -1500000000LL), "{\"message\":\"hello\",\"t\":-2}\n");
}

TEST(StdoutOutputTest, InjectTagHostnameWorkerId) {
  EXPECT_EQ(injected(" tag_key tag\n hostname_key host\n worker_id_key worker_id\n"),
            "{\"message\":\"hello\",\"host\":\"test-host\",\"worker_id\":0,\"tag\":\"test\"}\n");
  EXPECT_EQ(injected(" hostname_key host\n hostname myhost\n"), "{\"message\":\"hello\",\"host\":\"myhost\"}\n");
  // A key the record has is overwritten, as Ruby's r[key] = value.
  EXPECT_EQ(injected(" tag_key message\n"), "{\"message\":\"test\"}\n");
  // Nothing to inject: the record as it is.
  EXPECT_EQ(injected(" time_type unixtime\n"), "{\"message\":\"hello\"}\n");
}

TEST(StdoutOutputTest, InjectConfigErrors) {
  PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Output, "stdout", "<inject>\n time_key t\n time_type iso\n</inject>").isOk());
  auto named = f.make(PluginKind::Output, "stdout", "<inject>\n time_key t\n time_type string\n timezone Asia/Tokyo\n</inject>");
  ASSERT_FALSE(named.isOk());
  EXPECT_NE(named.status().message().find("fixed offset"), std::string::npos) << named.status().message();
}

// Through a real process: stdin -> copy -> two stdout stores, with <inject> (the shape of
// fluentd-examples/copy_roundrobin.conf and worker_section.conf).
TEST(StdoutOutputTest, OutputTypeAndInjectThroughAPipeline) {
  testing::TempDir dir;
  testing::writeFile(dir.file("c.conf"),
                     "<source>\n @type stdin\n tag test\n <parse>\n  @type json\n  time_key t\n  time_type unixtime\n </parse>\n</source>\n"
                     "<match test>\n @type copy\n"
                     " <store>\n  @type stdout\n  output_type json\n  <inject>\n   worker_id_key worker_id\n  </inject>\n </store>\n"
                     " <store>\n  @type stdout\n  output_type ltsv\n </store>\n</match>\n");
  setenv("TZ", "UTC", 1);
  auto r = testing::runSluice({"-c", dir.file("c.conf"), "--strict"}, "{\"t\":1795309323,\"test\":\"test1\"}\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "2026-11-22 01:02:03.000000000 +0000 test: {\"test\":\"test1\",\"worker_id\":0}\n"
            "2026-11-22 01:02:03.000000000 +0000 test: test:test1\n");
}

}  // namespace
}  // namespace sluice::plugins::out_stdout
