// SPDX-License-Identifier: Apache-2.0
// Fluentd's filter_parser semantics: key_name, reserve_data, remove_key_name_field,
// reserve_time, inject_key_prefix, hash_value_field, emit_invalid_record_to_error.

#include <gtest/gtest.h>

#include "plugins/filter_parser/parser_filter.h"
#include "support/test_support.h"

namespace sluice::plugins::filter_parser {
namespace {

using testing::batchOf;
using testing::jsonRecords;
using testing::PluginFactory;

constexpr const char* kJson = "<parse>\n @type json\n</parse>";

std::unique_ptr<Filter> make(PluginFactory& f, const std::string& body) {
  return f.mustMake<Filter>(PluginKind::Filter, "parser", body + "\n" + kJson);
}

TEST(ParserFilterTest, ReplacesRecordWithParsedValue) {
  PluginFactory f;
  auto filter = make(f, "key_name log");
  Batch b = batchOf({R"({"log":"{\"a\":1,\"time\":\"2026-11-22T01:02:03Z\"}","stream":"stdout"})"});
  filter->process(b);
  EXPECT_EQ(jsonRecords(b), (std::vector<std::string>{R"({"a":1})"}));
  EXPECT_EQ(b.events()[0].time_ns, 1795309323LL * kNanosPerSecond);
}

TEST(ParserFilterTest, ReserveDataMergesAndRemoveKeyNameField) {
  PluginFactory f;
  auto keep = make(f, "key_name log\nreserve_data true");
  Batch b1 = batchOf({R"({"log":"{\"a\":1,\"stream\":\"x\"}","stream":"stdout"})"});
  keep->process(b1);
  EXPECT_EQ(jsonRecords(b1)[0], R"({"log":"{\"a\":1,\"stream\":\"x\"}","stream":"x","a":1})");
  auto remove = make(f, "key_name log\nreserve_data true\nremove_key_name_field true");
  Batch b2 = batchOf({R"({"log":"{\"a\":1}","stream":"stdout"})"});
  remove->process(b2);
  EXPECT_EQ(jsonRecords(b2)[0], R"({"stream":"stdout","a":1})");
  // record.delete(key_name), then merge: a parsed field of that name goes to the end; a record
  // that does not parse keeps the field.
  Batch b3 = batchOf({R"({"x":0,"log":"{\"log\":\"inner\",\"x\":1}","stream":"stdout"})", R"({"log":"not json","y":2})"});
  remove->process(b3);
  EXPECT_EQ(jsonRecords(b3)[0], R"({"x":1,"stream":"stdout","log":"inner"})");
  EXPECT_EQ(jsonRecords(b3)[1], R"({"log":"not json","y":2})");
  // A nested key_name is removed where it is.
  auto nested = make(f, "key_name $.m.log\nreserve_data true\nremove_key_name_field true");
  Batch b4 = batchOf({R"({"m":{"log":"{\"a\":1}","k":2},"log":"top"})"});
  nested->process(b4);
  EXPECT_EQ(jsonRecords(b4)[0], R"({"m":{"k":2},"log":"top","a":1})");
}

TEST(ParserFilterTest, ReserveTimeKeepsEventTime) {
  PluginFactory f;
  auto filter = make(f, "key_name log\nreserve_time true");
  Batch b = batchOf({R"({"log":"{\"time\":\"2026-11-22T01:02:03Z\"}"})"}, "t", 42);
  filter->process(b);
  EXPECT_EQ(b.events()[0].time_ns, 42);
}

TEST(ParserFilterTest, PrefixAndHashValueField) {
  PluginFactory f;
  auto filter = make(f, "key_name log\ninject_key_prefix p_\nhash_value_field parsed\nreserve_data true");
  Batch b = batchOf({R"({"log":"{\"a\":1}"})"});
  filter->process(b);
  EXPECT_EQ(jsonRecords(b)[0], R"({"log":"{\"a\":1}","parsed":{"p_a":1}})");
}

TEST(ParserFilterTest, InvalidRecordsGoToErrorAndAreDroppedUnlessReserved) {
  PluginFactory f;
  auto drop = make(f, "key_name log");
  Batch b = batchOf({R"({"log":"nope"})", R"({"other":1})", R"({"log":"{\"ok\":true}"})"});
  drop->process(b);
  EXPECT_EQ(jsonRecords(b), (std::vector<std::string>{R"({"ok":true})"}));
  ASSERT_EQ(b.errors().size(), 2u);
  EXPECT_EQ(b.errors()[0].reason, "pattern not matched");
  EXPECT_EQ(b.errors()[1].reason, "key_name does not exist in the record");

  auto reserve = make(f, "key_name log\nreserve_data true\nemit_invalid_record_to_error false");
  Batch b2 = batchOf({R"({"log":"nope"})"});
  reserve->process(b2);
  EXPECT_EQ(jsonRecords(b2), (std::vector<std::string>{R"({"log":"nope"})"}));
  EXPECT_TRUE(b2.errors().empty());
}

TEST(ParserFilterTest, NestedKeyNameAndNonStringValues) {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "parser",
                                   "key_name $.kubernetes.payload\n<parse>\n @type json\n</parse>");
  Batch b = batchOf({R"({"kubernetes":{"payload":"{\"x\":2}"}})", R"({"kubernetes":{"payload":{"y":3}}})"});
  filter->process(b);
  EXPECT_EQ(jsonRecords(b), (std::vector<std::string>{R"({"x":2})", R"({"y":3})"}));
}

TEST(ParserFilterTest, ConfigErrors) {
  PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Filter, "parser", kJson).isOk());         // no key_name
  EXPECT_FALSE(f.make(PluginKind::Filter, "parser", "key_name log").isOk());  // no <parse>
  auto bad = f.make(PluginKind::Filter, "parser", "key_name log\n<parse>\n @type yaml\n</parse>");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("unknown parser plugin 'yaml'"), std::string::npos);
}

}  // namespace
}  // namespace sluice::plugins::filter_parser
