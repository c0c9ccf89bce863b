// SPDX-License-Identifier: Apache-2.0
// The router through real pipelines built from Fluentd-syntax configs: filter order, first
// match wins, labels, @ERROR, copy, relabel, null, unmatched tags, unknown types/params.

#include <gtest/gtest.h>

#include "engine/pipeline.h"
#include "support/pipeline_harness.h"

namespace sluice::engine {
namespace {

using testing::CaptureStore;

class RouterTest : public ::testing::Test, public testing::PipelineHarness {};

constexpr const char* kSource = testing::kHarnessSource;

TEST_F(RouterTest, FiltersRunInOrderAndFirstMatchWins) {
  auto p = mustBuild(std::string(kSource) + R"(
<filter app.**>
  @type record_transformer
  <record>
    step one
  </record>
</filter>
<filter app.web>
  @type record_transformer
  <record>
    step ${step}-two
  </record>
</filter>
<match app.web>
  @type capture
  @id first
</match>
<filter app.**>
  @type record_transformer
  <record>
    late yes
  </record>
</filter>
<match app.**>
  @type capture
  @id second
</match>
)");
  emit(*p, "app.web", {R"({"m":1})"});
  emit(*p, "app.db", {R"({"m":2})"});
  EXPECT_EQ(captured("first"), (std::vector<std::string>{R"(app.web {"m":1,"step":"one-two"})"}));
  // Filters after a match only apply to tags that match reached them.
  EXPECT_EQ(captured("second"), (std::vector<std::string>{R"(app.db {"m":2,"step":"one","late":"yes"})"}));
}

TEST_F(RouterTest, LabelsCopyRelabelAndNull) {
  auto p = mustBuild(std::string(kSource) + R"(
<match in.**>
  @type copy
  <store>
    @type capture
    @id direct
  </store>
  <store>
    @type relabel
    @label @PROCESS
  </store>
</match>
<label @PROCESS>
  <filter **>
    @type record_transformer
    <record>
      processed true
    </record>
  </filter>
  <match drop.**>
    @type null
  </match>
  <match **>
    @type capture
    @id processed
  </match>
</label>
)");
  emit(*p, "in.x", {R"({"a":1})"});
  EXPECT_EQ(captured("direct"), (std::vector<std::string>{R"(in.x {"a":1})"}));
  EXPECT_EQ(captured("processed"), (std::vector<std::string>{R"(in.x {"a":1,"processed":"true"})"}));
}

TEST_F(RouterTest, InvalidRecordsGoToErrorLabel) {
  auto p = mustBuild(std::string(kSource) + R"(
<filter app.**>
  @type parser
  key_name log
  <parse>
    @type json
  </parse>
</filter>
<match app.**>
  @type capture
  @id ok
</match>
<label @ERROR>
  <match **>
    @type capture
    @id errors
  </match>
</label>
)");
  emit(*p, "app.a", {R"({"log":"{\"x\":1}"})", R"({"log":"not json"})", R"({"other":1})"});
  EXPECT_EQ(captured("ok"), (std::vector<std::string>{R"(app.a {"x":1})"}));
  EXPECT_EQ(captured("errors"),
            (std::vector<std::string>{R"(app.a {"log":"not json"})", R"(app.a {"other":1})"}));
  EXPECT_EQ(metrics_.valueForTest("sluice_router_error_records_total"), 2);
}

TEST_F(RouterTest, UnmatchedTagsAreCountedAndDiscarded) {
  auto p = mustBuild(std::string(kSource) + "<match known.**>\n @type capture\n @id k\n</match>\n");
  emit(*p, "unknown.tag", {R"({"a":1})", R"({"a":2})"});
  EXPECT_TRUE(captured("k").empty());
  EXPECT_EQ(metrics_.valueForTest("sluice_router_unmatched_records_total"), 2);
}

TEST_F(RouterTest, MixedTagBatchesRouteEachEvent) {
  auto p = mustBuild(std::string(kSource) +
                     "<match a>\n @type capture\n @id a\n</match>\n<match b>\n @type capture\n @id b\n</match>\n");
  Batch batch;
  for (const char* tag : {"a", "b", "a"}) batch.add(tag, 0, Value::emptyObject());
  ASSERT_TRUE(p->inputs()[0]->emit(batch).isOk());
  EXPECT_EQ(captured("a").size(), 2u);
  EXPECT_EQ(captured("b").size(), 1u);
}

TEST_F(RouterTest, SourceLabelRoutesToLabel) {
  auto p = mustBuild(R"(
<source>
  @type sample
  tag t
  @label @L
</source>
<match **>
  @type capture
  @id root
</match>
<label @L>
  <match **>
    @type capture
    @id labelled
  </match>
</label>
)");
  emit(*p, "t", {R"({"a":1})"});
  EXPECT_TRUE(captured("root").empty());
  EXPECT_EQ(captured("labelled").size(), 1u);
}

TEST_F(RouterTest, StandardMetricsPerPlugin) {
  auto p = mustBuild(std::string(kSource) + R"(
<filter **>
  @type grep
  @id g
  <exclude>
    key level
    pattern debug
  </exclude>
</filter>
<match **>
  @type capture
  @id out
</match>
)");
  emit(*p, "x", {R"({"level":"info"})", R"({"level":"debug"})", R"({"level":"warn"})"});
  EXPECT_EQ(metrics_.valueForTest("sluice_filter_received_records_total", {{"plugin_id", "g"}}), 3);
  EXPECT_EQ(metrics_.valueForTest("sluice_filter_sent_records_total", {{"plugin_id", "g"}}), 2);
  EXPECT_EQ(metrics_.valueForTest("sluice_filter_discarded_records_total", {{"plugin_id", "g"}}), 1);
  EXPECT_EQ(metrics_.valueForTest("sluice_output_received_records_total", {{"plugin_id", "out"}}), 2);
  EXPECT_EQ(metrics_.valueForTest("sluice_input_received_records_total"), 3);
}

TEST_F(RouterTest, ConfigErrorsNameTheProblem) {
  struct Case {
    const char* config;
    const char* expect;
  };
  const Case cases[] = {
      {"<match **>\n @type elasticsearchh\n</match>\n", "unknown output plugin 'elasticsearchh'"},
      {"<match **>\n @type nope\n</match>\n", "known output plugins: capture, copy, "},
      {"<match **>\n</match>\n", "has no @type"},
      {"<filter **>\n @type grep\n <regexp>\n  key a\n </regexp>\n</filter>\n<match **>\n @type null\n</match>\n", "missing required parameter 'pattern'"},
      {"<source>\n @type sample\n tag t\n @label @NOPE\n</source>\n", "@label @NOPE is not defined"},
      {"<match **>\n @type relabel\n @label @NOPE\n</match>\n", "label '@NOPE' is not defined"},
      {"<bogus>\n</bogus>\n", "unknown directive <bogus>"},
      {"<source>\n @type sample\n tag t\n rate fast\n</source>\n", "parameter 'rate'"},
      {"<label @A>\n</label>\n<label @A>\n</label>\n", "defined twice"},
      {"<match **>\n @type null\n @id x\n</match>\n<match **>\n @type null\n @id x\n</match>\n", "duplicate @id 'x'"},
      {"<filter **>\n @type grep\n <regexp>\n  key a\n  pattern /(?=x)/\n </regexp>\n</filter>\n", "lookahead"},
      {"<match **>\n @type null\n <buffer>\n  chunk_limit_size 2X\n </buffer>\n</match>\n", "(test):4: parameter 'chunk_limit_size': '2X' is not a size"},
      {"<match **>\n @type null\n <buffer>\n  overflow_action explode\n </buffer>\n</match>\n", "valid options are throw_exception,block,drop_oldest_chunk"},
  };
  for (const Case& c : cases) {
    auto p = build(c.config);
    ASSERT_FALSE(p.isOk()) << c.config;
    EXPECT_NE(p.status().message().find(c.expect), std::string::npos)
        << "config:\n" << c.config << "message: " << p.status().message();
    EXPECT_NE(p.status().message().find("(test):"), std::string::npos) << p.status().message();
  }
}

TEST_F(RouterTest, UnknownParameterWarnsOrFailsInStrictMode) {
  const char* config = "<match **>\n @type stdout\n colour red\n</match>\n";
  std::string log;
  Logger::global().captureForTest(&log);
  auto lenient = build(config, false);
  Logger::global().captureForTest(nullptr);
  EXPECT_TRUE(lenient.isOk());
  EXPECT_NE(log.find("unknown parameter 'colour'"), std::string::npos) << log;
  auto strict = build(config, true);
  ASSERT_FALSE(strict.isOk());
  EXPECT_NE(strict.status().message().find("(test):3: unknown parameter 'colour'"), std::string::npos)
      << strict.status().message();
}

TEST_F(RouterTest, DidYouMeanForMisspelledParameter) {
  auto strict = build("<source>\n @type sample\n tag t\n rat 5\n</source>\n", true);
  ASSERT_FALSE(strict.isOk());
  EXPECT_NE(strict.status().message().find("did you mean 'rate'"), std::string::npos) << strict.status().message();
}

TEST_F(RouterTest, WorkerSectionsLoadAsTopLevel) {
  auto p = mustBuild("<worker 0>\n" + std::string(kSource) + "<match **>\n @type capture\n @id w\n</match>\n</worker>\n");
  emit(*p, "t", {R"({"a":1})"});
  EXPECT_EQ(captured("w").size(), 1u);
}

TEST_F(RouterTest, GraphShowsSourcesFiltersMatchesAndLabels) {
  auto p = mustBuild(std::string(kSource) + R"(
<filter a.**>
  @type grep
  @id g1
  <regexp>
    key k
    pattern v
  </regexp>
</filter>
<match a.** b.*>
  @type copy
  <store>
    @type null
    @id n1
  </store>
</match>
<match c.**>
  @type relabel
  @label @X
</match>
<label @X>
  <match **>
    @type null
  </match>
</label>
)");
  std::string g = p->graph();
  // The label a routing output sends to, learnt from the plugin's labelSink() call: the
  // engine names no plugin.
  EXPECT_NE(g.find("[out:relabel:relabel.0]\n      -> @X\n"), std::string::npos) << g;
  EXPECT_NE(g.find("[in:sample:sample.0]  tag=unused  -> root"), std::string::npos) << g;
  EXPECT_NE(g.find("<filter a.**>  [filter:grep:g1]"), std::string::npos) << g;
  EXPECT_NE(g.find("<match a.** b.*>  [out:copy:copy.0]"), std::string::npos) << g;
  EXPECT_NE(g.find("<store>  [out:null:n1]"), std::string::npos) << g;
  EXPECT_NE(g.find("label @X:"), std::string::npos) << g;
}

}  // namespace
}  // namespace sluice::engine
