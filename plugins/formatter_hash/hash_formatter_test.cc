// SPDX-License-Identifier: Apache-2.0
// Fluentd's test/plugin/test_formatter_hash.rb: {"message" => "awesome"}.to_s, with newline.
#include "plugins/formatter_hash/hash_formatter.h"

#include <gtest/gtest.h>

#include "support/formatter_support.h"

namespace sluice::plugins::formatter_hash {
namespace {

TEST(HashFormatterTest, RubysHashToS) {
  EXPECT_EQ(testing::formatOneEvent("hash", ""), "{\"a\"=>\"x\\ny\", \"n\"=>1}\n");
  EXPECT_EQ(testing::formatOneEvent("hash", "add_newline false"), "{\"a\"=>\"x\\ny\", \"n\"=>1}");
}

}  // namespace
}  // namespace sluice::plugins::formatter_hash
