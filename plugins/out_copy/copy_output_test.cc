// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_copy/copy_output.h"

#include <gtest/gtest.h>

#include "engine/standalone.h"
#include "support/pipeline_harness.h"

namespace sluice::plugins::out_copy {
namespace {

class CopyOutputTest : public ::testing::Test, public testing::PipelineHarness {};

TEST_F(CopyOutputTest, EveryStoreGetsEveryEventInOrder) {
  auto p = mustBuild(std::string(testing::kHarnessSource) + R"(
<match **>
  @type copy
  <store>
    @type capture
    @id a
  </store>
  <store>
    @type capture
    @id b
  </store>
</match>
)");
  emit(*p, "t", {R"({"n":1})", R"({"n":2})"});
  const std::vector<std::string> both{R"(t {"n":1})", R"(t {"n":2})"};
  EXPECT_EQ(captured("a"), both);
  EXPECT_EQ(captured("b"), both);
  EXPECT_EQ(metrics_.valueForTest("sluice_output_sent_records_total", {{"plugin_id", "a"}}), 2);
}

// A store that routes into a label whose filter changes records gets its own copy: the store
// after it still sees the records as they came.
TEST_F(CopyOutputTest, RoutingStoreCannotChangeWhatLaterStoresSee) {
  auto p = mustBuild(std::string(testing::kHarnessSource) + R"(
<match **>
  @type copy
  <store>
    @type relabel
    @label @CHANGE
  </store>
  <store>
    @type capture
    @id after
  </store>
</match>
<label @CHANGE>
  <filter **>
    @type record_transformer
    remove_keys secret
  </filter>
  <match **>
    @type capture
    @id changed
  </match>
</label>
)");
  emit(*p, "t", {R"({"secret":"s","n":1})"});
  EXPECT_EQ(captured("changed"), (std::vector<std::string>{R"(t {"n":1})"}));
  EXPECT_EQ(captured("after"), (std::vector<std::string>{R"(t {"secret":"s","n":1})"}));
}

TEST_F(CopyOutputTest, FailingStoreStopsTheRestUnlessIgnoreError) {
  auto p = mustBuild(std::string(testing::kHarnessSource) + R"(
<match stop.**>
  @type copy
  <store>
    @type capture
    @id failing
    fail true
  </store>
  <store>
    @type capture
    @id not_reached
  </store>
</match>
<match go.**>
  @type copy
  <store ignore_error>
    @type capture
    @id failing_ignored
    fail true
  </store>
  <store>
    @type capture
    @id reached
  </store>
</match>
)");
  Batch stop = testing::batchOf({R"({"n":1})"}, "stop.x");
  EXPECT_FALSE(p->inputs()[0]->emit(stop).isOk());
  EXPECT_TRUE(captured("not_reached").empty());
  emit(*p, "go.x", {R"({"n":2})"});
  EXPECT_EQ(captured("reached"), (std::vector<std::string>{R"(go.x {"n":2})"}));
}

TEST_F(CopyOutputTest, ConfigErrorsNameTheProblem) {
  auto none = build(std::string(testing::kHarnessSource) + "<match **>\n @type copy\n</match>\n");
  ASSERT_FALSE(none.isOk());
  EXPECT_NE(none.status().message().find("copy needs at least one <store>"), std::string::npos);
  auto bad_arg = build(std::string(testing::kHarnessSource) +
                       "<match **>\n @type copy\n <store sometimes>\n  @type null\n </store>\n</match>\n");
  ASSERT_FALSE(bad_arg.isOk());
  EXPECT_NE(bad_arg.status().message().find("the only store argument is ignore_error"), std::string::npos);
  auto bad_mode = build(std::string(testing::kHarnessSource) +
                        "<match **>\n @type copy\n copy_mode sideways\n <store>\n  @type null\n </store>\n</match>\n");
  ASSERT_FALSE(bad_mode.isOk());
  EXPECT_NE(bad_mode.status().message().find("valid options are no_copy,shallow,deep,marshal"), std::string::npos)
      << bad_mode.status().message();
}

// Stores built by a context of the test's own: each one records the batches it was handed, and
// says it routes events on when its @type is "router".
class RecordingSink : public EventSink {
 public:
  Status emit(Batch& batch) override {
    seen.push_back(&batch);
    records += batch.size();
    return Status::ok();
  }
  std::vector<const Batch*> seen;
  size_t records = 0;
};

class StoreContext : public engine::StandaloneContext {
 public:
  using engine::StandaloneContext::StandaloneContext;
  Result<Store> createStore(const config::Element& section) override {
    sinks.push_back(std::make_unique<RecordingSink>());
    return Store{sinks.back().get(), section.get("@type").value_or("") == "router"};
  }
  std::vector<std::unique_ptr<RecordingSink>> sinks;
};

std::unique_ptr<CopyOutput> makeCopy(const config::Element& section, StoreContext& ctx) {
  auto plugin = descriptor().create(ctx);
  EXPECT_TRUE(plugin.isOk()) << plugin.status().message();
  if (!plugin) return nullptr;
  return std::unique_ptr<CopyOutput>(static_cast<CopyOutput*>(plugin->release()));
}

TEST(CopyOutputStoresTest, SharedBatchUnlessDeepOrRoutingAndNeverForTheLast) {
  MetricsRegistry metrics;
  auto check = [&](const std::string& body, std::vector<bool> expect_copy) {
    config::Element root = testing::parseConfig("<match **>\n@type copy\n" + body + "</match>\n");
    StoreContext ctx(root.elements.at(0), metrics, "copy", PluginKind::Output);
    auto copy = makeCopy(root.elements.at(0), ctx);
    ASSERT_NE(copy, nullptr);
    std::vector<bool> got;
    for (const auto& s : copy->storesForTest()) got.push_back(s.needs_copy);
    EXPECT_EQ(got, expect_copy) << body;
    Batch b = testing::batchOf({R"({"n":1})", R"({"n":2})"}, "t");
    ASSERT_TRUE(copy->emit(b).isOk());
    for (size_t i = 0; i < ctx.sinks.size(); ++i) {
      EXPECT_EQ(ctx.sinks[i]->records, 2u);
      ASSERT_EQ(ctx.sinks[i]->seen.size(), 1u);
      EXPECT_EQ(ctx.sinks[i]->seen[0] == &b, !expect_copy[i]) << body << " store " << i;
    }
  };
  const std::string store = "<store>\n@type plain\n</store>\n";
  const std::string router = "<store>\n@type router\n</store>\n";
  check(store + store + store, {false, false, false});
  check("copy_mode shallow\n" + store + store, {false, false});
  check("copy_mode deep\n" + store + store + store, {true, true, false});
  check("copy_mode marshal\n" + store + store, {true, false});
  check(router + store + router, {true, false, false});
}

}  // namespace
}  // namespace sluice::plugins::out_copy
