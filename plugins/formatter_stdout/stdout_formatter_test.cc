// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_stdout/stdout_formatter.h"

#include <gtest/gtest.h>

#include "support/formatter_support.h"

namespace sluice::plugins::formatter_stdout {
namespace {

using testing::batchOf;
using testing::PluginFactory;

std::string formatWith(const std::string& config) { return testing::formatOneEvent("stdout", config); }

TEST(StdoutFormatterTest, WritesFluentdsTimeTagJson) {
  EXPECT_EQ(formatWith("utc true"), "2026-11-22 01:02:03.000000005 +0000 app.web: {\"a\":\"x\\ny\",\"n\":1}\n");
}

TEST(StdoutFormatterTest, TagCannotDriveATerminal) {
  PluginFactory f;
  auto fmt = f.mustMake<Formatter>(PluginKind::Formatter, "stdout", "utc true");
  Batch b = batchOf({R"({"n":1})"}, "a\x1b[2Jb", 0);
  FormattedEvents out;
  fmt->formatBatch(b, out);
  EXPECT_EQ(out.bytes, "1970-01-01 00:00:00.000000000 +0000 a\\x1b[2Jb: {\"n\":1}\n");
}

}  // namespace
}  // namespace sluice::plugins::formatter_stdout
