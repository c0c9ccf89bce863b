// SPDX-License-Identifier: Apache-2.0
#pragma once

// A real pipeline built from Fluentd-syntax text, with the builtin plugins and the test
// `capture` output (support/capture_output.h), for tests of the router and of the plugins that
// need one (copy's stores, relabel's labels). Used on the test's thread.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/pipeline.h"
#include "support/capture_output.h"
#include "support/test_support.h"

namespace sluice::testing {

class PipelineHarness {
 public:
  PipelineHarness() {
    for (const PluginDescriptor* d : builtinPlugins()) descriptors_.push_back(d);
    descriptors_.push_back(&captureOutputDescriptor());
    registry_ = std::make_unique<Registry>(descriptors_);
    CaptureStore::get().clear();
  }

  Result<std::unique_ptr<engine::Pipeline>> build(std::string_view text, bool strict = false) {
    root_ = parseConfig(text);
    return engine::Pipeline::build(root_, *registry_, metrics_, engine::BuildOptions{strict});
  }

  // Builds and starts `text`; aborts the test program when it does not build.
  std::unique_ptr<engine::Pipeline> mustBuild(std::string_view text) {
    auto p = build(text);
    EXPECT_TRUE(p.isOk()) << p.status().message();
    if (!p) std::abort();
    EXPECT_TRUE((*p)->start().isOk());
    return std::move(*p);
  }

  // Emits records with `tag` through the first input's stage (as that input would).
  void emit(engine::Pipeline& p, std::string_view tag, const std::vector<std::string>& records) {
    Batch b = batchOf(records, tag);
    ASSERT_FALSE(p.inputs().empty()) << "config needs a <source> to reach the root agent";
    ASSERT_TRUE(p.inputs()[0]->emit(b).isOk());
  }

  // What the capture output with @id `id` received, as "tag {json}" lines.
  std::vector<std::string> captured(const std::string& id) { return CaptureStore::get().lines(id); }

 protected:
  std::vector<const PluginDescriptor*> descriptors_;
  std::unique_ptr<Registry> registry_;
  MetricsRegistry metrics_;
  config::Element root_;
};

// A source for configs that only need an input stage to emit through.
inline constexpr const char* kHarnessSource = "<source>\n @type sample\n tag unused\n</source>\n";

}  // namespace sluice::testing
