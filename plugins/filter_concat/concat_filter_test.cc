// SPDX-License-Identifier: Apache-2.0
// The concat filter with the cases of fluent-plugin-concat's test_filter_concat.rb (n_lines,
// regexps, stream identity, end regexps with single lines, timeouts to @ERROR or a label),
// partial lines (CRI P/F through partial_key and use_partial_cri_logtag, Docker's partial
// metadata), and multi-line Java and Python stack traces.

#include <gtest/gtest.h>

#include "plugins/filter_concat/concat_filter.h"
#include "support/alloc_counter.h"
#include "support/capture_output.h"
#include "support/pipeline_fixture.h"
#include "support/test_support.h"

namespace sluice::plugins::filter_concat {
namespace {

using testing::batchOf;
using testing::CaptureStore;
using testing::jsonRecords;
using testing::PluginFactory;
using Records = std::vector<std::string>;

Records run(const std::string& config, const Records& records, size_t batch_size = 1) {
  PluginFactory f;
  auto filter = f.mustMake<ConcatFilter>(PluginKind::Filter, "concat", config);
  Records out;
  for (size_t i = 0; i < records.size(); i += batch_size) {
    Batch b = batchOf(Records(records.begin() + i, records.begin() + std::min(records.size(), i + batch_size)));
    filter->process(b);
    for (auto& r : jsonRecords(b)) out.push_back(r);
  }
  return out;
}

std::string msg(const std::string& host_key, const std::string& host, const std::string& message) {
  std::string out = "{\"" + host_key + "\":\"" + host + "\",\"message\":";
  appendJsonString(out, message);
  return out + "}";
}

const char* kLines = "key message\nn_lines 3\n";

TEST(ConcatFilterTest, NLines) {
  auto m = [](int i) { return msg("host", "example.com", "message " + std::to_string(i)); };
  EXPECT_EQ(run(kLines, {m(1), m(2), m(3)}), Records{msg("host", "example.com", "message 1\nmessage 2\nmessage 3")});
  EXPECT_EQ(run(kLines, {m(1), m(2), m(3), m(4)}), Records{msg("host", "example.com", "message 1\nmessage 2\nmessage 3")});
  EXPECT_EQ(run(kLines, {m(1), m(2), m(3), m(4), m(5), m(6)}, 4),
            (Records{msg("host", "example.com", "message 1\nmessage 2\nmessage 3"),
                     msg("host", "example.com", "message 4\nmessage 5\nmessage 6")}));
}

TEST(ConcatFilterTest, NLinesPerStreamIdentity) {
  Records in;
  for (int i = 1; i <= 6; ++i) in.push_back(msg("container_id", std::to_string(2 - i % 2), "message " + std::to_string(i)));
  EXPECT_EQ(run(std::string(kLines) + "stream_identity_key container_id\n", in, 6),
            (Records{msg("container_id", "1", "message 1\nmessage 3\nmessage 5"),
                     msg("container_id", "2", "message 2\nmessage 4\nmessage 6")}));
}

TEST(ConcatFilterTest, StartRegexp) {
  Records in;
  for (const char* m : {"start", "  message 1", "  message 2", "start", "  message 3", "  message 4", "start"}) {
    in.push_back(msg("host", "example.com", m));
  }
  EXPECT_EQ(run("key message\nmultiline_start_regexp /^start/\n", in, 2),
            (Records{msg("host", "example.com", "start\n  message 1\n  message 2"),
                     msg("host", "example.com", "start\n  message 3\n  message 4")}));
}

TEST(ConcatFilterTest, StartRegexpPerStream) {
  Records in;
  for (auto [id, m] : std::vector<std::pair<const char*, const char*>>{
           {"1", "start"}, {"1", "  message 1"}, {"1", "  message 2"}, {"2", "start"}, {"2", "  message 3"},
           {"2", "  message 4"}, {"1", "start"}, {"2", "  message 5"}, {"2", "start"}}) {
    in.push_back(msg("container_id", id, m));
  }
  EXPECT_EQ(run("key message\nstream_identity_key container_id\nmultiline_start_regexp /^start/\n", in, 3),
            (Records{msg("container_id", "1", "start\n  message 1\n  message 2"),
                     msg("container_id", "2", "start\n  message 3\n  message 4\n  message 5")}));
}

TEST(ConcatFilterTest, EndRegexpAndSingleLines) {
  Records in;
  for (auto [id, m] : std::vector<std::pair<const char*, const char*>>{
           {"1", "single1"}, {"2", "single2"}, {"1", "start"}, {"2", "start"}, {"1", "  message 1"},
           {"2", "  message 3"}, {"1", "  message 2"}, {"2", "  message 4"}, {"1", "end"}, {"2", "end"},
           {"1", "single3"}, {"2", "single4"}}) {
    in.push_back(msg("container_id", id, m));
  }
  EXPECT_EQ(run("key message\nstream_identity_key container_id\nmultiline_start_regexp /^start/\n"
                "multiline_end_regexp /^end/\n",
                in, 5),
            (Records{msg("container_id", "1", "single1"), msg("container_id", "2", "single2"),
                     msg("container_id", "1", "start\n  message 1\n  message 2\nend"),
                     msg("container_id", "2", "start\n  message 3\n  message 4\nend"),
                     msg("container_id", "1", "single3"), msg("container_id", "2", "single4")}));
}

TEST(ConcatFilterTest, ContinuousLineRegexpEndsAJoin) {
  Records in;
  for (const char* m : {"start", "  cont 1", "  cont 2", "other", "start", "  cont 3"}) in.push_back(msg("h", "x", m));
  auto out = run("key message\nmultiline_start_regexp /^start/\ncontinuous_line_regexp /^ /\n", in);
  EXPECT_EQ(out, (Records{msg("h", "x", "start\n  cont 1\n  cont 2"), msg("h", "x", "other")}));
}

TEST(ConcatFilterTest, JavaAndPythonStackTraces) {
  const Records java = {
      "Exception in thread \"main\" java.lang.IllegalStateException: boom",
      "\tat com.example.App.run(App.java:42)",
      "\tat com.example.App.main(App.java:7)",
      "Caused by: java.io.IOException: disk",
      "\t... 2 more",
  };
  const Records python = {
      "Traceback (most recent call last):",
      "  File \"app.py\", line 3, in <module>",
      "    main()",
      "ValueError: bad",
  };
  Records in;
  auto line = [](const std::string& text) { return "{\"log\":" + toJson(Value::string(text)) + ",\"stream\":\"stderr\"}"; };
  in.push_back(line("2024-01-01 INFO started"));
  for (const auto& l : java) in.push_back(line(l));
  in.push_back(line("2024-01-01 INFO next"));
  for (const auto& l : python) in.push_back(line(l));
  in.push_back(line("2024-01-01 INFO done"));
  // A new record starts at a line that is not indented and does not continue a trace.
  auto out = run("key log\nmultiline_start_regexp /^(\\d{4}-|Exception|Traceback)/\n", in, 4);
  std::string joined_java, joined_python;
  for (const auto& l : java) joined_java += (joined_java.empty() ? "" : "\n") + l;
  for (const auto& l : python) joined_python += (joined_python.empty() ? "" : "\n") + l;
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], line("2024-01-01 INFO started"));
  EXPECT_EQ(out[1], line(joined_java));
  EXPECT_EQ(out[2], line("2024-01-01 INFO next"));
  EXPECT_EQ(out[3], line(joined_python));  // "done" waits for the next start
}

TEST(ConcatFilterTest, CriPartialLinesByPartialKey) {
  // The DaemonSet's containerd setup: the cri parser leaves logtag P/F, concat joins them.
  Records in = {R"({"stream":"stdout","logtag":"P","log":"part one, "})", R"({"stream":"stdout","logtag":"P","log":"two, "})",
                R"({"stream":"stdout","logtag":"F","log":"three"})", R"({"stream":"stdout","logtag":"F","log":"whole"})"};
  EXPECT_EQ(run("key log\npartial_key logtag\npartial_value P\nseparator \"\"\n", in, 3),
            (Records{R"({"stream":"stdout","log":"part one, two, three"})", R"({"stream":"stdout","log":"whole"})"}));
  EXPECT_EQ(run("key log\npartial_key logtag\npartial_value P\nseparator \"\"\nkeep_partial_key true\n", in),
            (Records{R"({"stream":"stdout","logtag":"F","log":"part one, two, three"})",
                     R"({"stream":"stdout","logtag":"F","log":"whole"})"}));
  // Records without the partial key pass as they are.
  EXPECT_EQ(run("key log\npartial_key logtag\npartial_value P\n", {R"({"log":"x"})"}), Records{R"({"log":"x"})"});
}

TEST(ConcatFilterTest, CriLogtagMode) {
  Records in = {R"({"stream":"stderr","logtag":"P","message":"a"})", R"({"stream":"stderr","logtag":"F","message":"b"})",
                R"({"stream":"stderr","message":"no tag"})"};
  PluginFactory f;
  auto filter = f.mustMake<ConcatFilter>(PluginKind::Filter, "concat",
                                         "key message\nuse_partial_cri_logtag true\npartial_cri_logtag_key logtag\n"
                                         "partial_cri_stream_key stream\nseparator \"\"\n");
  Batch b = batchOf(in);
  filter->process(b);
  EXPECT_EQ(jsonRecords(b), Records{R"({"message":"ab"})"});
  ASSERT_EQ(b.errors().size(), 1u);  // no logtag: an error event, as Fluentd's raises one
}

TEST(ConcatFilterTest, DockerPartialMetadataInOrdinalOrder) {
  Records in = {R"({"partial_message":"true","partial_id":"x1","partial_ordinal":"2","partial_last":"false","log":"b"})",
                R"({"partial_message":"true","partial_id":"x1","partial_ordinal":"1","partial_last":"false","log":"a"})",
                R"({"partial_message":"true","partial_id":"x1","partial_ordinal":"3","partial_last":"true","log":"c"})",
                R"({"log":"plain"})"};
  EXPECT_EQ(run("key log\nuse_partial_metadata true\nseparator \"\"\n", in, 4),
            (Records{R"({"log":"abc"})", R"({"log":"plain"})"}));
}

TEST(ConcatFilterTest, FirstTimestampAndFluentLogsPass) {
  PluginFactory f;
  auto filter = f.mustMake<ConcatFilter>(PluginKind::Filter, "concat", "key message\nn_lines 2\nuse_first_timestamp true\n");
  Batch b;
  auto add = [&](std::string_view tag, int64_t t, const std::string& json) {
    auto v = parseJson(json, b.arena());
    b.add(tag, t, *v);
  };
  add("app", 100, R"({"message":"one"})");
  add("fluent.warn", 150, R"({"message":"self log"})");
  add("app", 200, R"({"message":"two"})");
  filter->process(b);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.events()[0].tag, "fluent.warn");
  EXPECT_EQ(b.events()[1].time_ns, 100);
  EXPECT_EQ(toJson(b.events()[1].record), R"({"message":"one\ntwo"})");
}

TEST(ConcatFilterTest, ConfigErrors) {
  PluginFactory f;
  auto bad = [&](const std::string& body, const std::string& needle) {
    auto p = f.make(PluginKind::Filter, "concat", body);
    ASSERT_FALSE(p.isOk()) << body;
    EXPECT_NE(p.status().message().find(needle), std::string::npos) << p.status().message();
  };
  bad("n_lines 3\n", "key");
  bad("key message\n", "Either n_lines");
  bad("key message\nn_lines 10\nmultiline_start_regexp /^start/\n", "exclusive");
  bad("key message\npartial_key logtag\n", "partial_value is required");
  bad("key message\npartial_key a\npartial_value b\nuse_partial_metadata true\n", "exclusive");
  bad("key message\nmultiline_start_regexp /(?<=x)y/\n", "multiline_start_regexp");
  bad("key message\nn_lines 2\ntimeout_label @NOWHERE\n", "label");  // (outside a pipeline)
  bad("key message\nuse_partial_cri_logtag true\n", "partial_cri_logtag_key");
}

TEST(ConcatFilterTest, WarmBatchAllocatesNothing) {
  PluginFactory f;
  auto filter = f.mustMake<ConcatFilter>(PluginKind::Filter, "concat",
                                         "key log\nmultiline_start_regexp /^\\S/\nstream_identity_key stream\n");
  Records in;
  for (int i = 0; i < 300; ++i) {
    in.push_back(std::string(R"({"stream":")") + (i % 2 ? "stdout" : "stderr") + R"(","log":")" +
                 (i % 3 == 0 ? "start " : "  cont ") + std::to_string(i) + "\"}");
  }
  Batch warm = batchOf(in);
  filter->process(warm);
  Batch b = batchOf(in);
  size_t allocations;
  {
    testing::AllocationCounter counter;
    filter->process(b);
    allocations = counter.count();
  }
  // Joined records are built in the batch's arena: at most a few new arena blocks for the
  // batch, never one allocation per record (300 records, 100 joined).
  EXPECT_LE(allocations, 3u);
  EXPECT_EQ(b.size(), 100u);  // each of the 100 start lines flushes the one before it in its stream
}

// Timeouts in a real pipeline: to timeout_label, or @ERROR, and what is held at stop.
using ConcatPipelineTest = testing::PipelineFixture;

TEST_F(ConcatPipelineTest, IdleStreamsGoToTheTimeoutLabelAndHeldOnesAtStop) {
  auto* p = &mustBuild("<filter app.**>\n @type concat\n key message\n multiline_start_regexp /^start/\n"
                 " flush_interval 1s\n timeout_label @NORMAL\n stream_identity_key id\n</filter>\n"
                 "<match app.**>\n @type capture\n @id main\n</match>\n"
                 "<label @NORMAL>\n <match **>\n  @type capture\n  @id timeout\n </match>\n</label>\n");
  Batch b = batchOf({R"({"id":"1","message":"start"})", R"({"id":"1","message":"  message 1"})",
                     R"({"id":"1","message":"  message 2"})"},
                    "app.x");
  ASSERT_TRUE(p->inputs()[0]->emit(b).isOk());
  EXPECT_TRUE(CaptureStore::get().lines("main").empty());
  ASSERT_TRUE(testing::waitFor([] { return !CaptureStore::get().lines("timeout").empty(); }));
  EXPECT_EQ(CaptureStore::get().lines("timeout"),
            (Records{"app.x {\"id\":\"1\",\"message\":\"start\\n  message 1\\n  message 2\"}"}));
  Batch held = batchOf({R"({"id":"2","message":"start"})", R"({"id":"2","message":"  tail"})"}, "app.y");
  ASSERT_TRUE(p->inputs()[0]->emit(held).isOk());
  p->stopFiltersAndOutputs();
  EXPECT_EQ(CaptureStore::get().lines("timeout").back(), "app.y {\"id\":\"2\",\"message\":\"start\\n  tail\"}");
}

TEST_F(ConcatPipelineTest, WithoutTimeoutLabelTimeoutsGoToError) {
  auto* p = &mustBuild("<filter app>\n @type concat\n key message\n n_lines 3\n flush_interval 1s\n</filter>\n"
                 "<match app>\n @type capture\n @id main\n</match>\n"
                 "<label @ERROR>\n <match **>\n  @type capture\n  @id error\n </match>\n</label>\n");
  Batch b = batchOf({R"({"container_id":"1","message":"message 1"})", R"({"container_id":"1","message":"message 2"})"}, "app");
  ASSERT_TRUE(p->inputs()[0]->emit(b).isOk());
  ASSERT_TRUE(testing::waitFor([] { return !CaptureStore::get().lines("error").empty(); }));
  EXPECT_EQ(CaptureStore::get().lines("error"),
            (Records{"app {\"container_id\":\"1\",\"message\":\"message 1\\nmessage 2\"}"}));
  EXPECT_TRUE(CaptureStore::get().lines("main").empty());
}

}  // namespace
}  // namespace sluice::plugins::filter_concat
