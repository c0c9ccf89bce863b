// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_json/json_formatter.h"

#include <gtest/gtest.h>

#include "support/formatter_support.h"

namespace sluice::plugins::formatter_json {
namespace {

using testing::batchOf;
using testing::PluginFactory;

std::string formatWith(const std::string& config) { return testing::formatOneEvent("json", config); }

TEST(JsonFormatterTest, WritesTheRecordAsOneJsonLine) {
  EXPECT_EQ(formatWith(""), "{\"a\":\"x\\ny\",\"n\":1}\n");
}

TEST(JsonFormatterTest, AddNewlineFalseLeavesTheLineOpen) {
  EXPECT_EQ(formatWith("add_newline false"), "{\"a\":\"x\\ny\",\"n\":1}");
}

}  // namespace
}  // namespace sluice::plugins::formatter_json
