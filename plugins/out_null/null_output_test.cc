// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_null/null_output.h"

#include <gtest/gtest.h>

#include "support/pipeline_harness.h"

namespace sluice::plugins::out_null {
namespace {

class NullOutputTest : public ::testing::Test, public testing::PipelineHarness {};

TEST_F(NullOutputTest, DiscardsEventsCountedAsSent) {
  auto p = mustBuild(std::string(testing::kHarnessSource) + R"(
<match drop.**>
  @type null
  @id nothing
</match>
<match **>
  @type capture
  @id rest
</match>
)");
  emit(*p, "drop.x", {R"({"n":1})", R"({"n":2})"});
  emit(*p, "keep", {R"({"n":3})"});
  EXPECT_EQ(metrics_.valueForTest("sluice_output_received_records_total", {{"plugin_id", "nothing"}}), 2);
  EXPECT_EQ(metrics_.valueForTest("sluice_output_sent_records_total", {{"plugin_id", "nothing"}}), 2);
  EXPECT_EQ(captured("rest"), (std::vector<std::string>{R"(keep {"n":3})"}));
}

TEST_F(NullOutputTest, TakesNoParameters) {
  auto p = build(std::string(testing::kHarnessSource) + "<match **>\n @type null\n flush_interval 1\n</match>\n",
                 /*strict=*/true);
  ASSERT_FALSE(p.isOk());
  EXPECT_NE(p.status().message().find("unknown parameter 'flush_interval'"), std::string::npos)
      << p.status().message();
}

}  // namespace
}  // namespace sluice::plugins::out_null
