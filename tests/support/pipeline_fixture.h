// SPDX-License-Identifier: Apache-2.0
#pragma once

// A fixture for plugins tested inside real pipelines (outputs that re-emit, filters with
// timeouts to labels): the builtin registry plus the `capture` output, a config built under
// --strict with a `sample` source in front (its InputStage is the root agent's entry point).
// Main test thread only.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/pipeline.h"
#include "support/capture_output.h"
#include "support/test_support.h"

namespace sluice::testing {

class PipelineFixture : public ::testing::Test {
 protected:
  PipelineFixture() {
    for (const PluginDescriptor* d : builtinPlugins()) descriptors_.push_back(d);
    descriptors_.push_back(&captureOutputDescriptor());
    registry_ = std::make_unique<Registry>(descriptors_);
    CaptureStore::get().clear();
  }
  // `text` after a `<source> @type sample` (inputs()[0]); the config must outlive the pipeline.
  Result<std::unique_ptr<engine::Pipeline>> build(const std::string& text) {
    roots_.push_back(std::make_unique<config::Element>(
        parseConfig("<source>\n @type sample\n tag unused\n</source>\n" + text)));
    return engine::Pipeline::build(*roots_.back(), *registry_, metrics_, engine::BuildOptions{true});
  }
  // Builds and starts; the fixture keeps it (pipeline()).
  engine::Pipeline& mustBuild(const std::string& text) {
    auto p = build(text);
    EXPECT_TRUE(p.isOk()) << p.status().message();
    if (!p) std::abort();
    EXPECT_TRUE((*p)->start().isOk());
    pipelines_.push_back(std::move(*p));
    return *pipelines_.back();
  }
  engine::Pipeline& pipeline() { return *pipelines_.back(); }
  // Emits `records` with `tag` into the root agent, as an input would.
  void emit(std::string_view tag, const std::vector<std::string>& records) {
    Batch b = batchOf(records, tag);
    ASSERT_TRUE(pipeline().inputs()[0]->emit(b).isOk());
  }

  std::vector<const PluginDescriptor*> descriptors_;
  std::unique_ptr<Registry> registry_;
  MetricsRegistry metrics_;
  std::vector<std::unique_ptr<config::Element>> roots_;
  std::vector<std::unique_ptr<engine::Pipeline>> pipelines_;
};

}  // namespace sluice::testing
