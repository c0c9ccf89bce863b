// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <csignal>

#include "plugins/out_stdout/stdout_output.h"
#include "support/test_support.h"

namespace sluice::plugins::out_stdout {
namespace {

using testing::batchOf;
using testing::PluginFactory;

std::string formatWith(const std::string& config) {
  PluginFactory f;
  auto out = f.mustMake<Output>(PluginKind::Output, "stdout", config);
  Batch b = batchOf({R"({"a":"x\ny","n":1})"}, "app.web", 1795309323LL * kNanosPerSecond + 5);
  FormattedEvents text;
  out->format(b, text);
  return text.bytes;
}

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
  EXPECT_EQ(pretty, "01:02:03.000 app.web a=\"x\\ny\" n=1\n");
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

}  // namespace
}  // namespace sluice::plugins::out_stdout
