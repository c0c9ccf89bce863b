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

}  // namespace
}  // namespace sluice
