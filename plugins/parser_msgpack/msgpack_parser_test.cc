// SPDX-License-Identifier: Apache-2.0
// Cases of Fluentd's test/plugin/test_parser_msgpack.rb, restated; then through a real
// pipeline: a binary field parsed by the parser filter.
#include "plugins/parser_msgpack/msgpack_parser.h"

#include <gtest/gtest.h>

#include "engine/pipeline.h"
#include "support/capture_output.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_msgpack {
namespace {

using namespace std::string_view_literals;

struct Parsed {
  std::string record;  // JSON, or "error: ..."
  int64_t time_ns = 0;
  bool has_time = false;
};

std::vector<Parsed> run(const std::string& config, std::vector<std::string_view> inputs) {
  testing::PluginFactory f;
  auto parser = f.mustMake<Parser>(PluginKind::Parser, "msgpack", config);
  Arena arena;
  std::vector<ParsedRecord> out(inputs.size());
  parser->parse(LineBatch{inputs}, arena, out);
  std::vector<Parsed> result;
  for (const ParsedRecord& r : out) {
    result.push_back(Parsed{r.ok() ? toJson(r.record) : "error: " + std::string(r.error), r.time_ns, r.has_time});
  }
  return result;
}

std::string one(const std::string& config, std::string_view input) { return run(config, {input}).at(0).record; }

TEST(MsgpackParserTest, FluentdSimpleSettingCases) {
  // "Normal Hash": {"message" => "Hello msgpack", "num" => 100}
  EXPECT_EQ(one("", "\x82\xA7message\xADHello msgpack\xA3num\x64"sv), R"({"message":"Hello msgpack","num":100})");
  // "String": not a record.
  EXPECT_EQ(one("", "\xADHello msgpack"sv).rfind("error: msgpack: not a map", 0), 0u);
  // "Array of multiple Hash", "Array of String", "Array of String and Hash": Fluentd emits each
  // map of the array; here one input gives one record, so the input is refused with that reason.
  EXPECT_NE(one("", "\x92\x81\xA7message\xA3" "foo\x81\xA7message\xA3" "bar"sv).find("an array, not a map"), std::string::npos);
  EXPECT_NE(one("", "\x92\xA3" "foo\xA3" "bar"sv).find("an array, not a map"), std::string::npos);
}

TEST(MsgpackParserTest, NullEmptyStringIsApplied) {
  // {message: "foo", empty: ""} with null_empty_string.
  EXPECT_EQ(one("null_empty_string true", "\x82\xA7message\xA3" "foo\xA5" "empty\xA0"sv), R"({"message":"foo","empty":null})");
}

TEST(MsgpackParserTest, EachInputIsOneRecord) {
  auto out = run("", {"\x81\xA1" "a\x01"sv, "\xC1"sv, ""sv, "\x82\xA1" "a"sv, "\x81\xA1" "a\x01\x81\xA1" "b\x02"sv,
                      "\x81\x01\x02"sv, "\x81\xA1" "n\xC0"sv, "\x81\xA1" "b\xC4\x02\xFF\x00"sv});
  EXPECT_EQ(out[0].record, R"({"a":1})");
  EXPECT_EQ(out[1].record, "error: msgpack: invalid MessagePack");  // 0xC1 is never used
  EXPECT_EQ(out[2].record, "error: msgpack: the input is empty");
  EXPECT_EQ(out[3].record, "error: msgpack: the input ends inside an object");
  EXPECT_NE(out[4].record.find("more than one object"), std::string::npos);
  EXPECT_NE(out[5].record.find("not a string"), std::string::npos);
  EXPECT_EQ(out[6].record, R"({"n":null})");
  EXPECT_EQ(out[7].record, "{\"b\":\"\xEF\xBF\xBD\\u0000\"}");  // binaries are strings (JSON writes U+FFFD for the invalid byte)
}

TEST(MsgpackParserTest, TimeKeyAndTypes) {
  // {"time": 1795309323, "n": "7", "msg": "x"}
  auto out = run("time_key time\ntime_type unixtime\ntypes n:integer",
                 {"\x83\xA4time\xCE\x6B\x02\x3F\x0B\xA1n\xA1" "7\xA3msg\xA1x"sv});
  EXPECT_EQ(out[0].record, R"({"n":7,"msg":"x"})");
  EXPECT_TRUE(out[0].has_time);
  EXPECT_EQ(out[0].time_ns, 1795309323LL * kNanosPerSecond);
  // No time_key by default (Fluentd's parser base): a "time" field stays in the record.
  EXPECT_EQ(one("", "\x81\xA4time\x01"sv), R"({"time":1})");
}

TEST(MsgpackParserTest, DeepNestingIsRefusedNotRecursed) {
  std::string deep(100000, '\x91');  // [[[[...]]]]
  deep = "\x81\xA1" "a" + deep + "\xC0";
  EXPECT_EQ(one("", deep).rfind("error: msgpack: nested too deep", 0), 0u);
}

// Through a real pipeline: a record whose `data` field holds MessagePack bytes (as a forward or
// http client sends a bin field) is parsed by the parser filter; an input that is not a map
// goes to @ERROR with the record as it was (and, with reserve_data, on as it was).
TEST(MsgpackParserTest, ParserFilterInAPipeline) {
  std::vector<const PluginDescriptor*> descriptors;
  for (const PluginDescriptor* d : builtinPlugins()) descriptors.push_back(d);
  descriptors.push_back(&testing::captureOutputDescriptor());
  Registry registry(descriptors);
  MetricsRegistry metrics;
  testing::CaptureStore::get().clear();
  config::Element root = testing::parseConfig(
      "<source>\n @type sample\n tag unused\n</source>\n"
      "<filter bin.**>\n @type parser\n key_name data\n reserve_data true\n <parse>\n  @type msgpack\n  time_key t\n  time_type float\n </parse>\n</filter>\n"
      "<match bin.**>\n @type capture\n @id parsed\n</match>\n"
      "<label @ERROR>\n <match **>\n  @type capture\n  @id errors\n </match>\n</label>\n");
  auto p = engine::Pipeline::build(root, registry, metrics, engine::BuildOptions{false});
  ASSERT_TRUE(p.isOk()) << p.status().message();
  ASSERT_TRUE((*p)->start().isOk());
  Batch b;
  const std::string_view packed = "\x82\xA1t\xCB\x41\xDA\xC0\x8F\xC2\xC0\x00\x00\xA3msg\xA2hi"sv;  // {"t":1795309323.0,"msg":"hi"}
  Value ok = Value::emptyObject();
  ok.setMember("data", Value::string(b.arena().copy(packed)), b.arena());
  ok.setMember("host", Value::string("h1"), b.arena());
  Value bad = Value::emptyObject();
  bad.setMember("data", Value::string(b.arena().copy("\xA3" "abc"sv)), b.arena());
  b.add("bin.x", 5, ok);
  b.add("bin.x", 6, bad);
  ASSERT_TRUE((*p)->inputs()[0]->emit(b).isOk());
  auto parsed = testing::CaptureStore::get().lines("parsed");
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_NE(parsed[0].find(R"("host":"h1")"), std::string::npos) << parsed[0];
  EXPECT_NE(parsed[0].find(R"("msg":"hi")"), std::string::npos) << parsed[0];
  EXPECT_EQ(parsed[0].find(R"("t":)"), std::string::npos) << parsed[0];  // time_key taken out
  EXPECT_EQ(parsed[1].find(R"("msg")"), std::string::npos) << parsed[1];
  auto errors = testing::CaptureStore::get().lines("errors");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("\"data\":\"\xEF\xBF\xBD" "abc\""), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace sluice::plugins::parser_msgpack
