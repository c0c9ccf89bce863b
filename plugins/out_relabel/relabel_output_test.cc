// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_relabel/relabel_output.h"

#include <gtest/gtest.h>

#include "support/pipeline_harness.h"

namespace sluice::plugins::out_relabel {
namespace {

class RelabelOutputTest : public ::testing::Test, public testing::PipelineHarness {};

// The label may be defined after the match that names it (labels are created first).
TEST_F(RelabelOutputTest, SendsEventsThroughTheLabelsFiltersAndMatches) {
  auto p = mustBuild(std::string(testing::kHarnessSource) + R"(
<match in.**>
  @type relabel
  @label @LATER
</match>
<label @LATER>
  <filter **>
    @type record_transformer
    <record>
      via later
    </record>
  </filter>
  <match **>
    @type capture
    @id out
  </match>
</label>
)");
  emit(*p, "in.a", {R"({"n":1})"});
  EXPECT_EQ(captured("out"), (std::vector<std::string>{R"(in.a {"n":1,"via":"later"})"}));
  EXPECT_NE(p->graph().find("-> @LATER"), std::string::npos) << p->graph();
}

TEST_F(RelabelOutputTest, NeedsADefinedLabel) {
  auto missing = build(std::string(testing::kHarnessSource) + "<match **>\n @type relabel\n</match>\n");
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("missing required parameter '@label'"), std::string::npos)
      << missing.status().message();
  auto undefined = build(std::string(testing::kHarnessSource) +
                         "<match **>\n @type relabel\n @label @NOPE\n</match>\n<label @YES>\n</label>\n");
  ASSERT_FALSE(undefined.isOk());
  EXPECT_NE(undefined.status().message().find("label '@NOPE' is not defined (defined: @YES)"), std::string::npos)
      << undefined.status().message();
}

}  // namespace
}  // namespace sluice::plugins::out_relabel
