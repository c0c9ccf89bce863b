// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_ltsv/ltsv_formatter.h"

#include <gtest/gtest.h>

#include "support/formatter_support.h"

namespace sluice::plugins::formatter_ltsv {
namespace {

using testing::batchOf;
using testing::PluginFactory;

std::string formatWith(const std::string& config) { return testing::formatOneEvent("ltsv", config); }

TEST(LtsvFormatterTest, WritesLabelValuePairs) {
  EXPECT_EQ(formatWith(""), "a:x\ny\tn:1\n");
}

TEST(LtsvFormatterTest, DelimitersAreSettable) {
  EXPECT_EQ(formatWith("delimiter SPACE\nlabel_delimiter ="), "a=x\ny n=1\n");
}


}  // namespace
}  // namespace sluice::plugins::formatter_ltsv
