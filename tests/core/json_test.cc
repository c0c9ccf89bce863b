// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "core/json.h"
#include "support/alloc_counter.h"

namespace sluice {
namespace {

std::string roundTrip(std::string_view text) {
  Arena arena;
  auto v = parseJson(text, arena);
  EXPECT_TRUE(v.isOk()) << text;
  return v ? toJson(*v) : "";
}

TEST(JsonTest, RoundTripsValues) {
  for (const char* text : {"{}", "[]", "null", "true", "false", "0", "-12", "1.5", "\"x\"",
                           "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
                           "{\"z\":1,\"a\":2,\"m\":3}", "[1,[2,[3,[4]]]]",
                           "{\"unicode\":\"héllo ✓ 😀\"}", "9223372036854775807", "-9223372036854775808"}) {
    EXPECT_EQ(roundTrip(text), text);
  }
}

TEST(JsonTest, KeepsFloatsFloats) {
  EXPECT_EQ(roundTrip("1.0"), "1.0");
  EXPECT_EQ(roundTrip("2e3"), "2000.0");
  EXPECT_EQ(roundTrip("0.1"), "0.1");
}

TEST(JsonTest, EscapesWhatJsonRequires) {
  Arena arena;
  std::string out;
  appendJsonString(out, std::string_view("q\"b\\n\nr\rt\tc\x01\x1f/", 14));
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\nr\\rt\\tc\\u0001\\u001f/\"");
  EXPECT_EQ(roundTrip("\"\\u0000\""), "\"\\u0000\"");
  EXPECT_EQ(roundTrip("\"\\u00e9\\ud83d\\ude00\""), "\"é😀\"");
}

TEST(JsonTest, ReplacesInvalidUtf8) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"a\xff" "b", "\"a\xEF\xBF\xBD" "b\""},              // invalid byte
      {"\xc3", "\"\xEF\xBF\xBD\""},                       // truncated sequence
      {"\xc0\xaf", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},       // overlong
      {"\xed\xa0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},  // surrogate
      {"ok \xe2\x9c\x93", "\"ok \xe2\x9c\x93\""},          // valid stays
  };
  for (const Case& c : cases) {
    std::string out;
    appendJsonString(out, c.in);
    EXPECT_EQ(out, c.out);
    EXPECT_TRUE(isValidUtf8(out));
  }
}

TEST(JsonTest, RejectsMalformedInputWithoutCrashing) {
  Arena arena;
  for (const char* bad : {"", "{", "{\"a\":}", "[1,2,]", "nul", "{\"a\" 1}", "\"unterminated",
                          "{\"a\":1}}", "\x80\x81"}) {
    auto v = parseJson(bad, arena);
    EXPECT_FALSE(v.isOk()) << bad;
  }
}

TEST(JsonTest, NonFiniteNumbersBecomeNull) {
  std::string out;
  appendJson(out, Value::real(std::numeric_limits<double>::infinity()));
  EXPECT_EQ(out, "null");
}

TEST(JsonTest, WarmParseAndEncodeAllocateNothing) {
  const std::string line = "{\"a\":1,\"b\":\"text\",\"c\":[1,2,3],\"d\":{\"e\":null}}";
  Arena arena;
  std::string out;
  out.reserve(4096);
  for (int i = 0; i < 3; ++i) {  // warm the parser and the arena
    arena.reset();
    out.clear();
    appendJson(out, *parseJson(line, arena));
  }
  testing::AllocationCounter counter;
  for (int i = 0; i < 100; ++i) {
    arena.reset();
    out.clear();
    auto v = parseJson(line, arena);
    appendJson(out, *v);
  }
  EXPECT_EQ(counter.count(), 0u);
}

TEST(ValueTest, ObjectsGrowAndShrinkInOrder) {
  Arena arena;
  Value obj = Value::emptyObject();
  for (int i = 0; i < 20; ++i) {
    std::string key = "k" + std::to_string(i);
    obj.setMember(arena.copy(key), Value::integer(i), arena);
  }
  EXPECT_EQ(obj.size(), 20u);
  obj.setMember("k3", Value::string("three"), arena);
  EXPECT_EQ(obj.size(), 20u);
  EXPECT_TRUE(obj.removeMember("k0"));
  EXPECT_FALSE(obj.removeMember("absent"));
  EXPECT_EQ(obj.members()[0].key, "k1");
  EXPECT_EQ(obj.find("k3")->asString(), "three");
  Value copy = obj.deepCopy(arena);
  EXPECT_TRUE(copy == obj);
  copy.setMember("k1", Value(), arena);
  EXPECT_FALSE(copy == obj);
}

TEST(ValueTest, ShallowCopyLeavesTheOriginalAlone) {
  Arena arena;
  Value a = *parseJson("{\"x\":1,\"y\":2}", arena);
  Value b = a.shallowCopy(arena);
  b.setMember("x", Value::integer(9), arena);
  b.setMember("z", Value::integer(3), arena);
  EXPECT_EQ(toJson(a), "{\"x\":1,\"y\":2}");
  EXPECT_EQ(toJson(b), "{\"x\":9,\"y\":2,\"z\":3}");
}

}  // namespace
}  // namespace sluice
