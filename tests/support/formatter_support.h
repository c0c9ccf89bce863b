// SPDX-License-Identifier: Apache-2.0
#pragma once

// The formatter tests' common step: build a formatter through the registry from the body of a
// <format> section, as an output's <format> builds it, and run it over one event
// (2026-11-22 01:02:03.000000005 UTC, tag app.web, record {"a":"x\ny","n":1}).

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/plugin_api.h"
#include "support/test_support.h"

namespace sluice::testing {

inline std::string formatOneEvent(std::string_view type, const std::string& config) {
  PluginFactory f;
  auto formatter = f.mustMake<Formatter>(PluginKind::Formatter, type, config);
  Batch b = batchOf({R"({"a":"x\ny","n":1})"}, "app.web", 1795309323LL * kNanosPerSecond + 5);
  FormattedEvents out;
  formatter->formatBatch(b, out);
  EXPECT_EQ(out.ends.size(), 1u);
  EXPECT_EQ(out.ends.empty() ? 0 : out.ends[0], out.bytes.size());
  return out.bytes;
}

}  // namespace sluice::testing
