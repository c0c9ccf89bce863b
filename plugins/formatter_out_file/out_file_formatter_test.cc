// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_out_file/out_file_formatter.h"

#include <gtest/gtest.h>

#include "support/formatter_support.h"

namespace sluice::plugins::formatter_out_file {
namespace {

using testing::batchOf;
using testing::PluginFactory;

std::string formatWith(const std::string& config) { return testing::formatOneEvent("out_file", config); }

TEST(OutFileFormatterTest, WritesTimeTagAndJson) {
  EXPECT_EQ(formatWith("utc true"), "2026-11-22T01:02:03+00:00\tapp.web\t{\"a\":\"x\\ny\",\"n\":1}\n");
}

TEST(OutFileFormatterTest, DelimiterNamesAndOptionalParts) {
  EXPECT_EQ(formatWith("utc true\ndelimiter COMMA\noutput_time false"), "app.web,{\"a\":\"x\\ny\",\"n\":1}\n");
}


}  // namespace
}  // namespace sluice::plugins::formatter_out_file
