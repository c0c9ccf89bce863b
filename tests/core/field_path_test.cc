// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "core/field_path.h"
#include "core/json.h"

namespace sluice {
namespace {

TEST(FieldPathTest, FindsSetsAndRemoves) {
  Arena arena;
  Value rec = *parseJson("{\"a\":{\"b\":[{\"c\":1}]},\"x.y\":2}", arena);
  EXPECT_EQ(FieldPath::parse("$.a.b[0].c")->find(rec)->asInt(), 1);
  EXPECT_EQ(FieldPath::parse("$['a']['b'][0]['c']")->find(rec)->asInt(), 1);
  EXPECT_EQ(FieldPath::parse("x.y")->find(rec)->asInt(), 2);  // plain keys keep their dots
  EXPECT_EQ(FieldPath::parse("$.a.missing")->find(rec), nullptr);
  // The path owns the key strings that set() links into the record: keep it alive.
  FieldPath kl = *FieldPath::parse("$.k.l");
  kl.set(rec, Value::string("v"), arena);
  EXPECT_EQ(toJson(rec), "{\"a\":{\"b\":[{\"c\":1}]},\"x.y\":2,\"k\":{\"l\":\"v\"}}");
  EXPECT_TRUE(FieldPath::parse("$.a.b")->remove(rec));
  EXPECT_EQ(toJson(rec), "{\"a\":{},\"x.y\":2,\"k\":{\"l\":\"v\"}}");
}

TEST(FieldPathTest, RejectsMalformedPaths) {
  for (const char* bad : {"$.", "$.a[", "$['a'", "$.a[x]"}) {
    EXPECT_FALSE(FieldPath::parse(bad).isOk()) << bad;
  }
}

// Issue 15 item 10: record accessors have a depth limit with a clear error.
TEST(FieldPathTest, DepthLimitIsAClearError) {
  std::string deep = "$";
  for (int i = 0; i < 20000; ++i) deep += ".a";
  auto p = FieldPath::parse(deep);
  ASSERT_FALSE(p.isOk());
  EXPECT_NE(p.status().message().find("deeper than 64 levels"), std::string::npos);
  std::string ok = "$";
  for (int i = 0; i < 64; ++i) ok += "['a']";
  ASSERT_TRUE(FieldPath::parse(ok).isOk());
  EXPECT_FALSE(FieldPath::parse("$.a[99999999999999999999999]").isOk());
}

}  // namespace
}  // namespace sluice
