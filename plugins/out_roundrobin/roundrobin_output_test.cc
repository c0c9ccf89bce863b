// SPDX-License-Identifier: Apache-2.0
// Cases from Fluentd's test/plugin/test_out_roundrobin.rb, restated, through real pipelines.
#include <gtest/gtest.h>

#include <map>

#include "engine/pipeline.h"
#include "plugins/out_roundrobin/roundrobin_output.h"
#include "support/capture_output.h"
#include "support/test_support.h"

namespace sluice::plugins::out_roundrobin {
namespace {

using testing::CaptureStore;

class RoundRobinTest : public ::testing::Test {
 protected:
  RoundRobinTest() {
    for (const PluginDescriptor* d : builtinPlugins()) descriptors_.push_back(d);
    descriptors_.push_back(&testing::captureOutputDescriptor());
    registry_ = std::make_unique<Registry>(descriptors_);
    CaptureStore::get().clear();
  }

  Result<std::unique_ptr<engine::Pipeline>> build(const std::string& match) {
    root_ = testing::parseConfig("<source>\n @type sample\n tag unused\n</source>\n<match **>\n @type roundrobin\n" + match +
                                 "</match>\n");
    return engine::Pipeline::build(root_, *registry_, metrics_, engine::BuildOptions{false});
  }

  void emit(engine::Pipeline& p, const std::string& record) {
    Batch b = testing::batchOf({record}, "test");
    ASSERT_TRUE(p.inputs()[0]->emit(b).isOk());
  }

  std::vector<const PluginDescriptor*> descriptors_;
  std::unique_ptr<Registry> registry_;
  MetricsRegistry metrics_;
  config::Element root_;
};

constexpr const char* kThreeStores =
    "<store>\n @type capture\n @id c0\n</store>\n<store>\n @type capture\n @id c1\n</store>\n"
    "<store>\n @type capture\n @id c2\n</store>\n";

TEST_F(RoundRobinTest, BatchesGoToEachStoreInTurn) {
  auto p = build(kThreeStores);
  ASSERT_TRUE(p.isOk()) << p.status().message();
  ASSERT_TRUE((*p)->start().isOk());
  for (int i = 1; i <= 7; ++i) emit(**p, "{\"n\":" + std::to_string(i) + "}");
  EXPECT_EQ(CaptureStore::get().lines("c0"), (std::vector<std::string>{R"(test {"n":1})", R"(test {"n":4})", R"(test {"n":7})"}));
  EXPECT_EQ(CaptureStore::get().lines("c1"), (std::vector<std::string>{R"(test {"n":2})", R"(test {"n":5})"}));
  EXPECT_EQ(CaptureStore::get().lines("c2"), (std::vector<std::string>{R"(test {"n":3})", R"(test {"n":6})"}));
}

TEST_F(RoundRobinTest, WeightsSetTheShareOfTurns) {
  auto p = build("<store>\n @type capture\n @id w3\n weight 3\n</store>\n<store>\n @type capture\n @id w2\n weight 2\n</store>\n"
                 "<store>\n @type capture\n @id w1\n</store>\n");
  ASSERT_TRUE(p.isOk()) << p.status().message();
  ASSERT_TRUE((*p)->start().isOk());
  for (int i = 0; i < 60; ++i) emit(**p, "{}");
  // Whatever the shuffled order, every 6 turns hold 3, 2 and 1 of them.
  EXPECT_EQ(CaptureStore::get().lines("w3").size(), 30u);
  EXPECT_EQ(CaptureStore::get().lines("w2").size(), 20u);
  EXPECT_EQ(CaptureStore::get().lines("w1").size(), 10u);
}

TEST_F(RoundRobinTest, WeightsAreReducedByTheirGcd) {
  auto p = build("<store>\n @type capture\n @id a\n weight 4\n</store>\n<store>\n @type capture\n @id b\n weight 2\n</store>\n");
  ASSERT_TRUE(p.isOk()) << p.status().message();
  ASSERT_TRUE((*p)->start().isOk());
  for (int i = 0; i < 3; ++i) emit(**p, "{}");
  EXPECT_EQ(CaptureStore::get().lines("a").size(), 2u);
  EXPECT_EQ(CaptureStore::get().lines("b").size(), 1u);
}

TEST_F(RoundRobinTest, ConfigErrors) {
  EXPECT_FALSE(build("").isOk());
  EXPECT_FALSE(build("<store>\n @type capture\n @id z\n weight 0\n</store>\n").isOk());
  EXPECT_FALSE(build("<store>\n @type capture\n @id n\n weight -1\n</store>\n").isOk());
  EXPECT_FALSE(build("<store>\n @type nosuch\n</store>\n").isOk());
}

}  // namespace
}  // namespace sluice::plugins::out_roundrobin
