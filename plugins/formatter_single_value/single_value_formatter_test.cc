// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_single_value/single_value_formatter.h"

#include <gtest/gtest.h>

#include "support/formatter_support.h"

namespace sluice::plugins::formatter_single_value {
namespace {

using testing::batchOf;
using testing::PluginFactory;

std::string formatWith(const std::string& config) { return testing::formatOneEvent("single_value", config); }

TEST(SingleValueFormatterTest, WritesTheMessageKeyField) {
  EXPECT_EQ(formatWith("message_key a"), "x\ny\n");
}

TEST(SingleValueFormatterTest, NonStringIsJsonAndMissingIsEmpty) {
  EXPECT_EQ(formatWith("message_key n\nadd_newline false"), "1");
}


}  // namespace
}  // namespace sluice::plugins::formatter_single_value
