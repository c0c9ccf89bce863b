// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "core/json.h"
#include "core/json_borrow.h"
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

// Issue 15 item 7: each of these used to make the whole line disappear.
std::string repaired(std::string_view text, JsonRepairs& repairs) {
  Arena arena;
  auto v = parseJson(text, arena, false, &repairs);
  EXPECT_TRUE(v.isOk()) << text << ": " << (v ? "" : v.status().message());
  if (!v) return "";
  std::string out = toJson(*v);
  EXPECT_TRUE(isValidUtf8(out)) << out;
  auto again = parseJson(out, arena);  // and what we write reads back the same
  EXPECT_TRUE(again.isOk()) << out;
  if (again) {
    EXPECT_EQ(toJson(*again), out);
  }
  return out;
}

TEST(JsonTest, RepairsInvalidUtf8InStringsAndKeys) {
  JsonRepairs r;
  EXPECT_EQ(repaired("{\"msg\":\"bad \xff byte\",\"k\xc3\":1}", r),
            "{\"msg\":\"bad \xEF\xBF\xBD byte\",\"k\xEF\xBF\xBD\":1}");
  EXPECT_EQ(r.invalid_utf8, 2u);
  EXPECT_EQ(r.total(), 2u);
}

TEST(JsonTest, RepairsLoneSurrogates) {
  JsonRepairs r;
  EXPECT_EQ(repaired(R"({"a":"x\ud800y","b":"\udc00","c":"\ud83d\ude00","d":"\ud800\ud800\udc00"})", r),
            "{\"a\":\"x\xEF\xBF\xBDy\",\"b\":\"\xEF\xBF\xBD\",\"c\":\"\xF0\x9F\x98\x80\",\"d\":\"\xEF\xBF\xBD\xF0\x90\x80\x80\"}");
  EXPECT_EQ(r.lone_surrogates, 3u);
}

TEST(JsonTest, KeepsNumbersNo64BitTypeHoldsAsTheirText) {
  JsonRepairs r;
  EXPECT_EQ(repaired(R"({"a":18446744073709551616})", r), R"({"a":18446744073709551616})");
  EXPECT_EQ(repaired(R"({"a":-9223372036854775809})", r), R"({"a":-9223372036854775809})");
  EXPECT_EQ(repaired(R"({"a":1e999,"b":-1E+999})", r), R"({"a":1e999,"b":-1E+999})");
  EXPECT_EQ(repaired(R"({"a":18446744073709551615})", r), R"({"a":18446744073709551615})");
  EXPECT_EQ(repaired(R"({"a":-0,"b":[-0],"c":-0.0,"d":0,"e":"-0"})", r),
            R"({"a":-0,"b":[-0],"c":-0.0,"d":0,"e":"-0"})");
  EXPECT_EQ(repaired(R"({"a":123456789012345678901234567890.5e5})", r),
            R"({"a":1.234567890123457e+34})");  // fits a double: a double, as before
  EXPECT_EQ(r.number_text, 7u);
  // Readers see the literal as a string.
  Arena arena;
  auto v = parseJson(R"({"a":18446744073709551616})", arena);
  ASSERT_TRUE(v.isOk());
  EXPECT_TRUE(v->find("a")->isString());
  EXPECT_EQ(v->find("a")->asString(), "18446744073709551616");
}

TEST(JsonTest, DuplicateKeysLastOneWinsAtTheFirstPosition) {
  JsonRepairs r;
  EXPECT_EQ(repaired(R"({"a":2,"b":3,"a":1})", r), R"({"a":1,"b":3})");
  EXPECT_EQ(repaired(R"({"o":{"x":1,"x":{"y":1,"y":2}}})", r), R"({"o":{"x":{"y":2}}})");
  EXPECT_EQ(r.duplicate_keys, 3u);
  // The tolerant reader (here because of the bad byte) applies the same rule.
  EXPECT_EQ(repaired("{\"a\":2,\"a\":\"\xff\"}", r), "{\"a\":\"\xEF\xBF\xBD\"}");
  EXPECT_EQ(r.duplicate_keys, 4u);
  // Large objects go through the hash table.
  std::string big = "{";
  for (int i = 0; i < 100; ++i) big += "\"k" + std::to_string(i % 50) + "\":" + std::to_string(i) + ",";
  big += "\"last\":true}";
  JsonRepairs r2;
  std::string out = repaired(big, r2);
  EXPECT_EQ(r2.duplicate_keys, 50u);
  EXPECT_TRUE(out.starts_with(R"({"k0":50,"k1":51,)")) << out;
  EXPECT_TRUE(out.ends_with(R"("k49":99,"last":true})")) << out;
}

TEST(JsonTest, DepthLimitIsAClearError) {
  Arena arena;
  std::string ok(kMaxJsonDepth, '[');
  ok += std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(parseJson(ok, arena).isOk());
  std::string deep(20000, '[');
  deep += std::string(20000, ']');
  auto v = parseJson(deep, arena);
  ASSERT_FALSE(v.isOk());
  EXPECT_NE(v.status().message().find("nested deeper than 1024"), std::string::npos) << v.status().message();
  // The tolerant reader (a bad byte forces it) has the same limit.
  std::string deep_bad(20000, '[');
  deep_bad += "\"\xff\"" + std::string(20000, ']');
  v = parseJson(deep_bad, arena);
  ASSERT_FALSE(v.isOk());
  EXPECT_NE(v.status().message().find("nested deeper than 1024"), std::string::npos) << v.status().message();
  std::string edge_bad(kMaxJsonDepth, '[');
  edge_bad += "\"\xff\"" + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(parseJson(edge_bad, arena).isOk());
}

TEST(JsonTest, StillRejectsBrokenStructure) {
  Arena arena;
  for (const char* bad : {"{\"a\":\"\xff\"", "{\"a\":\"\\ud800\",}", "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}",
                          "{\"a\":\"\\x\"}", "{\"a\":\"\t\"}", "[1e999 2]"}) {
    EXPECT_FALSE(parseJson(bad, arena).isOk()) << bad;
  }
}

TEST(JsonTest, NonFiniteNumbersBecomeNull) {
  std::string out;
  appendJson(out, Value::real(std::numeric_limits<double>::infinity()));
  EXPECT_EQ(out, "null");
}

TEST(JsonTest, WarmParseAndEncodeAllocateNothing) {
  const std::string line = "{\"a\":1,\"b\":\"text\",\"c\":[1,2,3],\"d\":{\"e\":null},\"z\":0}";
  Arena arena;
  std::string out;
  out.reserve(4096);
  for (int i = 0; i < 3; ++i) {  // warm the parser and the arena
    arena.reset();
    out.clear();
    appendJson(out, *parseJson(line, arena));
  }
  // Lines of one shape (escapes, numbers, nesting), with values from `from`. (Not "-0": lines
  // simdjson refuses go to the tolerant reader, a repair path that may allocate.)
  auto shaped = [](int from) {
    std::vector<std::string> lines;
    for (int i = from; i < from + 100; ++i) {
      lines.push_back("{\"a\":" + std::to_string(i * 7919) + ",\"b\":\"t\\u00e9x\\n" + std::to_string(i) +
                      "\",\"c\":[" + std::to_string(i) + ",2.5,true],\"d\":{\"e\":\"\"},\"z\":-" + std::to_string(i + 1) + "}");
    }
    return lines;
  };
  // Warmed on longer lines of that shape too (capacities grow once), then measured on other
  // lines than the warm-up's: an allocation that depends on the content is not hidden.
  for (const std::string& w : shaped(100000)) {
    arena.reset();
    out.clear();
    appendJson(out, *parseJson(w, arena));
  }
  const std::vector<std::string> others = shaped(0);
  testing::AllocationCounter counter;
  for (int round = 0; round < 2; ++round) {
    for (const std::string& other : others) {
      arena.reset();
      out.clear();
      auto v = parseJson(other, arena);
      ASSERT_TRUE(v.isOk());
      appendJson(out, *v);
    }
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

// The writer's fast paths check and copy strings by words, with loads that overlap at the end:
// every length up to 40, with a byte that needs escaping (or is not UTF-8) at every position, as
// a string and as a member's key and value, reads back as what was written (or with U+FFFD for
// the bad byte), and a plain string is written as it is.
TEST(JsonTest, EveryLengthAndPositionIsEscapedOrCopiedExactly) {
  Arena arena;
  const std::string specials[] = {"\"", "\\", "\n", "\x01", "\x1f", "\xc3\xa9", "\xff", "\xe2\x82"};
  auto readBack = [&](const std::string& json) {
    auto v = parseJson("[" + json + "]", arena);
    EXPECT_TRUE(v.isOk()) << json;
    return v.isOk() && v->items().size() == 1 && v->items()[0].isString() ? std::string(v->items()[0].asString())
                                                                           : std::string("<not a string>");
  };
  for (size_t n = 0; n <= 40; ++n) {
    std::string plain;
    for (size_t k = 0; k < n; ++k) plain += static_cast<char>('a' + k % 26);
    std::string out;
    appendJsonString(out, plain);
    EXPECT_EQ(out, "\"" + plain + "\"");
    for (size_t at = 0; at < n; ++at) {
      for (const std::string& sp : specials) {
        std::string s = plain.substr(0, at) + sp + plain.substr(at + 1);
        std::string want = s;
        if (sp == "\xff" || sp == "\xe2\x82") want = plain.substr(0, at) + "\xEF\xBF\xBD" + plain.substr(at + 1);
        if (sp == "\xe2\x82") want = plain.substr(0, at) + "\xEF\xBF\xBD\xEF\xBF\xBD" + plain.substr(at + 1);
        std::string as_string;
        appendJsonString(as_string, s);
        EXPECT_EQ(readBack(as_string), want) << "length " << n << ", at " << at;
        Value obj = Value::emptyObject();
        obj.setMember(s, Value::string(s), arena);
        obj.setMember("k", Value::string(s), arena);
        auto back = parseJson(toJson(obj), arena);
        ASSERT_TRUE(back.isOk()) << toJson(obj);
        ASSERT_EQ(back->members().size(), 2u);
        EXPECT_EQ(back->members()[0].key, want) << "length " << n << ", at " << at;
        EXPECT_EQ(back->members()[0].value.asString(), want);
        EXPECT_EQ(back->members()[1].value.asString(), want);
      }
    }
  }
}

// Into an output's formatted events that take splices (a file buffer's), an unchanged template
// is listed instead of copied, at the place it belongs; anywhere else it is written out.
TEST(JsonTest, UnchangedTemplatesBecomeSplicesWhereTheEventsTakeThem) {
  Arena arena;
  Value original = *parseJson(R"({"pod":"web-1","labels":{"app":"web"}})", arena);
  const std::string stored = toJson(original);
  JsonTemplate t{&original, stored};
  Value record = *parseJson(R"({"msg":"hi"})", arena);
  record.setMember("kubernetes", Value::copyOfTemplate(t, arena), arena);
  record.setMember("after", Value::integer(1), arena);
  const std::string whole = toJson(record);
  EXPECT_EQ(whole, R"({"msg":"hi","kubernetes":{"pod":"web-1","labels":{"app":"web"}},"after":1})");

  FormattedEvents events;
  events.splice_ok = true;
  events.bytes = "head ";
  appendJson(events.bytes, record, &events);
  events.endEvent();
  ASSERT_EQ(events.splices.size(), 1u);
  EXPECT_EQ(events.splices[0].id, t.id);
  EXPECT_EQ(events.splices[0].text, stored);
  EXPECT_EQ(events.bytes, R"(head {"msg":"hi","kubernetes":,"after":1})");
  std::string put_back = events.bytes;
  put_back.insert(events.splices[0].at, events.splices[0].text);
  EXPECT_EQ(put_back, "head " + whole);
  EXPECT_EQ(events.wholeEnd(0), put_back.size());
  EXPECT_EQ(events.splicesTo(0), 1u);

  // Not taken: written out whole.
  FormattedEvents plain;
  appendJson(plain.bytes, record, &plain);
  EXPECT_TRUE(plain.splices.empty());
  EXPECT_EQ(plain.bytes, whole);
  // Into another string than the events' bytes: no place to splice into, written out.
  std::string elsewhere;
  appendJson(elsewhere, record, &events);
  EXPECT_EQ(elsewhere, whole);
  EXPECT_EQ(events.splices.size(), 1u);
  // A changed copy is no longer the template: written out.
  Value changed = Value::copyOfTemplate(t, arena);
  changed.find("labels")->setMember("tier", Value::string("1"), arena);
  FormattedEvents more;
  more.splice_ok = true;
  appendJson(more.bytes, changed, &more);
  EXPECT_TRUE(more.splices.empty());
  EXPECT_EQ(more.bytes, R"({"pod":"web-1","labels":{"app":"web","tier":"1"}})");
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
  // Changes the word-by-word comparison must see: a scalar's kind, bits or flags, a nested
  // container swapped for another of the same size, a key renamed in place.
  Value f = fresh();
  f.find("ids")->items()[2] = Value::boolean(false);
  EXPECT_EQ(toJson(f), R"({"pod":"web-1","labels":{"app":"web","tier":"1"},"ids":[1,2.5,false,null]})");
  Value g = fresh();
  g.find("ids")->items()[1] = Value::real(-2.5);
  EXPECT_EQ(toJson(g), R"({"pod":"web-1","labels":{"app":"web","tier":"1"},"ids":[1,-2.5,true,null]})");
  Value h = fresh();
  h.find("ids")->items()[0] = Value::real(1.0);
  EXPECT_EQ(toJson(h), R"({"pod":"web-1","labels":{"app":"web","tier":"1"},"ids":[1.0,2.5,true,null]})");
  Value i = fresh();
  i.find("ids")->items()[3] = Value::integer(0);
  EXPECT_EQ(toJson(i), R"({"pod":"web-1","labels":{"app":"web","tier":"1"},"ids":[1,2.5,true,0]})");
  Value j = fresh();  // the same bytes read as a number literal
  Value* app = j.find("labels")->find("app");
  *app = Value::numberText(app->asString());
  EXPECT_EQ(toJson(j), R"({"pod":"web-1","labels":{"app":web,"tier":"1"},"ids":[1,2.5,true,null]})");
  Value k = fresh();  // labels replaced by another object of two members
  Value other_labels = *parseJson(R"({"app":"web","tier":"2"})", arena);
  *k.find("labels") = other_labels;
  EXPECT_EQ(toJson(k), R"({"pod":"web-1","labels":{"app":"web","tier":"2"},"ids":[1,2.5,true,null]})");
  Value l = fresh();
  l.find("labels")->members()[1].key = "tear";
  EXPECT_EQ(toJson(l), R"({"pod":"web-1","labels":{"app":"web","tear":"1"},"ids":[1,2.5,true,null]})");
  Value m = fresh();  // a top-level member removed and another added: same size
  m.removeMember("pod");
  m.setMember("pod", Value::string(original.find("pod")->asString()), arena);
  EXPECT_EQ(toJson(m), R"({"labels":{"app":"web","tier":"1"},"ids":[1,2.5,true,null],"pod":"web-1"})");
}

// The borrowing parser (for parsers, whose records may point into their lines) gives what
// parseJson gives; strings written without escapes point into the text, the others are copied.
TEST(JsonTest, BorrowingParseSharesUnescapedStringsWithTheText) {
  for (std::string_view text :
       {R"({"a":"plain","b":"esc\"aped","":"","c":["x","y\\",{"d":"\u00e9"}],"e":1,"f":-0.5,"g":null})",
        R"({"k\n":"v","k":"v\u0000w","x":"\"","y":"\\","z":"a\/b"})",
        R"(["", "", "\"\"", "a b", {"":{"":""}}])", R"("top")", R"("\t")", "-0", R"({"a":-0,"b":"s"})",
        "{\"dup\":\"1\",\"x\":\"2\",\"dup\":\"3\"}", "{\"bad\":\"\xff\",\"ok\":\"yes\"}",
        R"({"n":18446744073709551615,"s":"after"})", R"(  {  "sp" :  "aces"  ,"t":[ "u" , "v" ] } )"}) {
    Arena a1, a2;
    JsonRepairs r1, r2;
    auto copied = parseJson(text, a1, false, &r1);
    auto borrowed = parseJsonBorrowing(text, a2, false, &r2);
    ASSERT_TRUE(copied.isOk()) << text;
    ASSERT_TRUE(borrowed.isOk()) << text;
    EXPECT_EQ(toJson(*borrowed), toJson(*copied)) << text;
    EXPECT_EQ(r2.total(), r1.total()) << text;
  }
  std::string text = R"({"plain":"value","esc":"a\"b","arr":["in","\u00e9"],"":""})";
  Arena arena;
  Value v = *parseJsonBorrowing(text, arena);
  auto inText = [&](std::string_view s) { return s.data() >= text.data() && s.data() < text.data() + text.size(); };
  EXPECT_TRUE(inText(v.members()[0].key));
  EXPECT_TRUE(inText(v.find("plain")->asString()));
  EXPECT_EQ(v.find("plain")->asString(), "value");
  EXPECT_FALSE(inText(v.find("esc")->asString()));
  EXPECT_EQ(v.find("esc")->asString(), "a\"b");
  EXPECT_TRUE(inText(v.find("arr")->items()[0].asString()));
  EXPECT_FALSE(inText(v.find("arr")->items()[1].asString()));
  EXPECT_EQ(v.find("arr")->items()[1].asString(), "\u00e9");
  EXPECT_NE(v.members()[3].key.data(), nullptr);  // an empty key keeps a real pointer
  EXPECT_EQ(toJson(v), R"({"plain":"value","esc":"a\"b","arr":["in","é"],"":""})");
}

}  // namespace
}  // namespace sluice
