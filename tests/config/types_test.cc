// SPDX-License-Identifier: Apache-2.0
// Cases from Fluentd's test/config/test_types.rb. Where Fluentd silently turns a bad value
// into 0 or nil, sluice reports an error (tests/FLUENTD_DIFFERENCES.md).

#include <gtest/gtest.h>

#include "config/types.h"

namespace sluice::config {
namespace {

TEST(ConfigTypesTest, Size) {
  EXPECT_EQ(*parseSize("2k"), 2048u);
  EXPECT_EQ(*parseSize("2K"), 2048u);
  EXPECT_EQ(*parseSize("3m"), 3145728u);
  EXPECT_EQ(*parseSize("3M"), 3145728u);
  EXPECT_EQ(*parseSize("4g"), 4294967296u);
  EXPECT_EQ(*parseSize("4G"), 4294967296u);
  EXPECT_EQ(*parseSize("5t"), 5497558138880u);
  EXPECT_EQ(*parseSize("5T"), 5497558138880u);
  EXPECT_EQ(*parseSize("6"), 6u);
  EXPECT_EQ(*parseSize("1000"), 1000u);
  EXPECT_EQ(*parseSize("512k"), 524288u);
  EXPECT_EQ(*parseSize("1.5m"), 1572864u);
  EXPECT_FALSE(parseSize("hoge").isOk());  // Fluentd: 0
  EXPECT_FALSE(parseSize("").isOk());      // Fluentd: 0
  EXPECT_FALSE(parseSize("2x").isOk());
  EXPECT_FALSE(parseSize("-1").isOk());
}

TEST(ConfigTypesTest, Time) {
  EXPECT_DOUBLE_EQ(*parseTime("10s"), 10);
  EXPECT_DOUBLE_EQ(*parseTime("10sec"), 10);
  EXPECT_DOUBLE_EQ(*parseTime("2m"), 120);
  EXPECT_DOUBLE_EQ(*parseTime("3h"), 10800);
  EXPECT_DOUBLE_EQ(*parseTime("4d"), 345600);
  EXPECT_DOUBLE_EQ(*parseTime("0"), 0);
  EXPECT_DOUBLE_EQ(*parseTime("1"), 1);
  EXPECT_DOUBLE_EQ(*parseTime("1.01"), 1.01);
  EXPECT_DOUBLE_EQ(*parseTime("1s"), 1);
  EXPECT_DOUBLE_EQ(*parseTime("1m"), 60);
  EXPECT_DOUBLE_EQ(*parseTime("1.5m"), 90);  // Fluentd's regexp would read 5m
  EXPECT_DOUBLE_EQ(*parseTime("1h"), 3600);
  EXPECT_DOUBLE_EQ(*parseTime("1d"), 86400);
  EXPECT_DOUBLE_EQ(*parseTime("0.4"), 0.4);
  EXPECT_FALSE(parseTime("hoge").isOk());  // Fluentd: 0.0
  EXPECT_FALSE(parseTime("").isOk());
  EXPECT_FALSE(parseTime("5 parsecs").isOk());
}

TEST(ConfigTypesTest, Bool) {
  EXPECT_TRUE(*parseBool("true"));
  EXPECT_TRUE(*parseBool("yes"));
  EXPECT_TRUE(*parseBool(""));  // a bare key: `retry_forever`
  EXPECT_FALSE(*parseBool("false"));
  EXPECT_FALSE(*parseBool("no"));
  for (const char* bad : {"hoge", "TRUE", "True", "Yes", "No", "unexpected_string"}) {
    EXPECT_FALSE(parseBool(bad).isOk()) << bad;  // Fluentd: nil
  }
}

TEST(ConfigTypesTest, Integer) {
  EXPECT_EQ(*parseInteger("1"), 1);
  EXPECT_EQ(*parseInteger("1.0"), 1);
  EXPECT_EQ(*parseInteger("1_000"), 1000);
  EXPECT_EQ(*parseInteger("-42"), -42);
  EXPECT_FALSE(parseInteger("1x").isOk());  // Fluentd: 1
  EXPECT_FALSE(parseInteger("1.5").isOk());
  EXPECT_FALSE(parseInteger("").isOk());
}

TEST(ConfigTypesTest, Float) {
  EXPECT_DOUBLE_EQ(*parseFloat("1"), 1.0);
  EXPECT_DOUBLE_EQ(*parseFloat("1.0"), 1.0);
  EXPECT_DOUBLE_EQ(*parseFloat("1.00"), 1.0);
  EXPECT_DOUBLE_EQ(*parseFloat("1e0"), 1.0);
  EXPECT_FALSE(parseFloat("abc").isOk());
}

TEST(ConfigTypesTest, Hash) {
  StringMap expected{{"x", "v"}, {"k", "1"}};
  EXPECT_EQ(*parseHash("{\"x\":\"v\",\"k\":1}"), expected);
  EXPECT_EQ(*parseHash("x:v,k:1"), expected);
  EXPECT_EQ(*parseHash("x:v, k:1"), expected);
  EXPECT_EQ(*parseHash(" x:v, k:1 "), expected);
  EXPECT_EQ(*parseHash("x:v , k:1 "), expected);
  EXPECT_EQ(*parseHash("x:v:v, k:1"), (StringMap{{"x", "v:v"}, {"k", "1"}}));
  EXPECT_EQ(*parseHash("3:Märch"), (StringMap{{"3", "Märch"}}));
  EXPECT_EQ(*parseHash("hiragana:あいうえお"), (StringMap{{"hiragana", "あいうえお"}}));
  EXPECT_FALSE(parseHash("novalue").isOk());
  EXPECT_FALSE(parseHash("{\"x\":").isOk());
}

TEST(ConfigTypesTest, Array) {
  EXPECT_EQ(*parseArray("[\"1\",\"2\",1]"), (StringList{"1", "2", "1"}));
  EXPECT_EQ(*parseArray("1,2,1"), (StringList{"1", "2", "1"}));
  EXPECT_EQ(*parseArray("[\"a\",\"b\",\"c\"]"), (StringList{"a", "b", "c"}));
  EXPECT_EQ(*parseArray("a,b,c"), (StringList{"a", "b", "c"}));
  EXPECT_EQ(*parseArray("a, b, c"), (StringList{"a", "b", "c"}));
  EXPECT_EQ(*parseArray("a , b , c"), (StringList{"a", "b", "c"}));
  EXPECT_EQ(*parseArray("[\"a a\",\"b,b\",\" c \"]"), (StringList{"a a", "b,b", " c "}));
  EXPECT_EQ(*parseArray("a a,b,c"), (StringList{"a a", "b", "c"}));
  EXPECT_EQ(*parseArray(""), StringList{});
  EXPECT_FALSE(parseArray("[1,2").isOk());
}

}  // namespace
}  // namespace sluice::config
