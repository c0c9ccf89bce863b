// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_pretty/pretty_formatter.h"

#include <gtest/gtest.h>

#include "support/formatter_support.h"

namespace sluice::plugins::formatter_pretty {
namespace {

using testing::batchOf;
using testing::PluginFactory;

std::string formatWith(const std::string& config) { return testing::formatOneEvent("pretty", config); }

TEST(PrettyFormatterTest, WritesTimeTagAndPairs) {
  EXPECT_EQ(formatWith("utc true"), "2026-11-22 01:02:03.000 app.web a=\"x\\ny\" n=1\n");
}


}  // namespace
}  // namespace sluice::plugins::formatter_pretty
