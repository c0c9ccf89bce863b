// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_stdout/stdout_formatter.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/formatter_support.h"

namespace sluice::plugins::formatter_stdout {
namespace {

using testing::batchOf;
using testing::PluginFactory;

std::string formatWith(const std::string& config) { return testing::formatOneEvent("stdout", config); }

TEST(StdoutFormatterTest, WritesFluentdsTimeTagJson) {
  EXPECT_EQ(formatWith("utc true"), "2026-11-22 01:02:03.000000005 +0000 app.web: {\"a\":\"x\\ny\",\"n\":1}\n");
}

TEST(StdoutFormatterTest, TagCannotDriveATerminal) {
  PluginFactory f;
  auto fmt = f.mustMake<Formatter>(PluginKind::Formatter, "stdout", "utc true");
  Batch b = batchOf({R"({"n":1})"}, "a\x1b[2Jb", 0);
  FormattedEvents out;
  fmt->formatBatch(b, out);
  EXPECT_EQ(out.bytes, "1970-01-01 00:00:00.000000000 +0000 a\\x1b[2Jb: {\"n\":1}\n");
}

// Fluentd's output_type (test_out_stdout.rb, test_formatter_stdout): the record after
// `time tag: ` as the named formatter writes it. Issue 21: ltsv used to come out as JSON.
TEST(StdoutFormatterTest, OutputTypeChoosesHowTheRecordIsWritten) {
  const std::string head = "2026-11-22 01:02:03.000000005 +0000 app.web: ";
  EXPECT_EQ(formatWith("utc true\noutput_type json"), head + "{\"a\":\"x\\ny\",\"n\":1}\n");
  EXPECT_EQ(formatWith("utc true\noutput_type ltsv"), head + "a:x\ny\tn:1\n");
  EXPECT_EQ(formatWith("utc true\noutput_type ltsv\ndelimiter ,\nlabel_delimiter ="), head + "a=x\ny,n=1\n");
  EXPECT_EQ(formatWith("utc true\noutput_type single_value\nmessage_key n"), head + "1\n");
  // Ruby's Hash#inspect, as Fluentd's hash formatter writes it: {"test"=>"test2"}.
  EXPECT_EQ(formatWith("utc true\noutput_type hash"), head + "{\"a\"=>\"x\\ny\", \"n\"=>1}\n");
}

TEST(StdoutFormatterTest, OutputTypeIsAnEnumCheckedWhenBound) {
  PluginFactory f;
  auto bad = f.make(PluginKind::Formatter, "stdout", "output_type foo");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("json,hash,ltsv,single_value"), std::string::npos) << bad.status().message();
  auto fmt = f.mustMake<StdoutFormatter>(PluginKind::Formatter, "stdout", "output_type ltsv");
  EXPECT_EQ(fmt->outputType(), OutputType::Ltsv);
  const PluginDescriptor& d = descriptor();
  auto it = std::find_if(d.params.begin(), d.params.end(), [](const ParamInfo& p) { return p.name == "output_type"; });
  ASSERT_NE(it, d.params.end());
  EXPECT_EQ(it->type, ParamType::Enum);
  EXPECT_EQ(it->choices, "json|hash|ltsv|single_value");
  EXPECT_EQ(d.params.size(), formatParams().size());  // the shared table, rebound
}

TEST(StdoutFormatterTest, HashIsRubysInspect) {
  PluginFactory f;
  auto fmt = f.mustMake<Formatter>(PluginKind::Formatter, "stdout", "utc true\noutput_type hash");
  Batch b = batchOf({R"({"s":"q\"\\#{x}\u0001","f":1.5,"g":100.0,"e":1e20,"a":[null,true,false],"h":{"k":-2}})"}, "t", 0);
  FormattedEvents out;
  fmt->formatBatch(b, out);
  EXPECT_EQ(out.bytes,
            "1970-01-01 00:00:00.000000000 +0000 t: {\"s\"=>\"q\\\"\\\\\\#{x}\\u0001\", \"f\"=>1.5, \"g\"=>100.0, "
            "\"e\"=>1.0e+20, \"a\"=>[nil, true, false], \"h\"=>{\"k\"=>-2}}\n");
}

}  // namespace
}  // namespace sluice::plugins::formatter_stdout
