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
  ASSERT_EQ(d.sections.size(), 1u);
  const ParamInfo& type = d.sections[0].params.at(0);
  EXPECT_EQ(type.name, "@type");
  EXPECT_STREQ(type.default_value, "stdout");
}

}  // namespace
}  // namespace sluice::plugins::out_stdout
