// SPDX-License-Identifier: Apache-2.0
#pragma once

// The formatter tests' common step: build a formatter through the registry from the body of a
// <format> section, as an output's <format> builds it, and run it over one event
// (2026-11-22 01:02:03.000000005 UTC, tag app.web, record {"a":"x\ny","n":1}); or build an
// output (stdout) and run its format() over the same event. Test thread.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/plugin_api.h"
#include "support/test_support.h"

namespace sluice::testing {

// The one event the formatter tests format.
inline Batch oneEvent() {
  return batchOf({R"({"a":"x\ny","n":1})"}, "app.web", 1795309323LL * kNanosPerSecond + 5);
}

inline std::string formatOneEvent(std::string_view type, const std::string& config) {
  PluginFactory f;
  auto formatter = f.mustMake<Formatter>(PluginKind::Formatter, type, config);
  Batch b = oneEvent();
  FormattedEvents out;
  formatter->formatBatch(b, out);
  EXPECT_EQ(out.ends.size(), 1u);
  EXPECT_EQ(out.ends.empty() ? 0 : out.ends[0], out.bytes.size());
  return out.bytes;
}

// The same event through an output's format() (its <format> section, or its own format).
inline std::string outputFormatsOneEvent(std::string_view type, const std::string& config) {
  PluginFactory f;
  auto output = f.mustMake<Output>(PluginKind::Output, type, config);
  Batch b = oneEvent();
  FormattedEvents out;
  output->format(b, out);
  return out.bytes;
}

}  // namespace sluice::testing
