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

// A template's JSON is used for its copies only while they are unchanged, whatever changed.
TEST(JsonTest, TemplateCopiesUseTheStoredJsonWhileUnchanged) {
  Arena arena;
  Value original = *parseJson(R"({"pod":"web-1","labels":{"app":"web","tier":"1"},"ids":[1,2.5,true,null]})", arena);
  JsonTemplate t{&original, "STORED"};  // a marker: shows when the stored text is used
  Value copy = Value::copyOfTemplate(t, arena);
  EXPECT_EQ(toJson(copy), "STORED");
  EXPECT_TRUE(copy == original);

  auto fresh = [&] { return Value::copyOfTemplate(t, arena); };
  Value a = fresh();  // a member added at the top
  a.setMember("extra", Value::integer(1), arena);
  EXPECT_EQ(toJson(a), R"({"pod":"web-1","labels":{"app":"web","tier":"1"},"ids":[1,2.5,true,null],"extra":1})");
  Value b = fresh();  // a nested value replaced in place
  *b.find("labels")->find("app") = Value::string("api");
  EXPECT_EQ(toJson(b), R"({"pod":"web-1","labels":{"app":"api","tier":"1"},"ids":[1,2.5,true,null]})");
  Value c = fresh();  // a nested member removed
  c.find("labels")->removeMember("tier");
  EXPECT_EQ(toJson(c), R"({"pod":"web-1","labels":{"app":"web"},"ids":[1,2.5,true,null]})");
  Value d = fresh();  // an array item changed
  d.find("ids")->items()[0] = Value::integer(7);
  EXPECT_EQ(toJson(d), R"({"pod":"web-1","labels":{"app":"web","tier":"1"},"ids":[7,2.5,true,null]})");
  Value e = fresh();  // a top-level value replaced with an equal string elsewhere in memory
  std::string other = "web-1";
  *e.find("pod") = Value::string(other);
  EXPECT_EQ(toJson(e), R"({"pod":"web-1","labels":{"app":"web","tier":"1"},"ids":[1,2.5,true,null]})");
  // Copies are independent of each other and of the original.
  EXPECT_EQ(toJson(original), R"({"pod":"web-1","labels":{"app":"web","tier":"1"},"ids":[1,2.5,true,null]})");
  EXPECT_EQ(toJson(fresh()), "STORED");
  // A shallow copy (what filters take before changing a record) is serialised normally.
  EXPECT_EQ(toJson(fresh().shallowCopy(arena)), toJson(original));
}

}  // namespace
}  // namespace sluice
