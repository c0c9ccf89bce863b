// SPDX-License-Identifier: Apache-2.0
// Fluentd's monitoring <source>s (prometheus, prometheus_monitor, prometheus_output_monitor,
// monitor_agent) go through parameter tables like every plugin's: defaults, typed values,
// unknown keys reported as for any plugin (an error under --strict), and --describe's tables.
// What the servers answer is in tests/monitor/exposition_test.cc.

#include <gtest/gtest.h>

#include "engine/monitor_sources.h"
#include "support/pipeline_fixture.h"

namespace sluice {
namespace {

class MonitorSourcesTest : public testing::PipelineFixture {
 protected:
  std::string error(const std::string& source) {
    auto p = build("<source>\n" + source + "</source>\n");
    return p.isOk() ? std::string("accepted") : p.status().message();
  }
};

TEST_F(MonitorSourcesTest, KnownKeysBindAndUnknownOnesAreReportedAsForPlugins) {
  EXPECT_EQ(error("  @type monitor_agent\n  @id agent\n  bind 127.0.0.1\n  port 0\n  tag monitor\n  emit_interval 60\n"
                  "  include_config false\n"),
            "accepted");
  EXPECT_EQ(error("  @type prometheus\n  bind 127.0.0.1\n  port 0\n  metrics_path /prom\n"), "accepted");
  EXPECT_EQ(error("  @type prometheus_output_monitor\n  interval 10\n  gauge_all true\n"), "accepted");
  EXPECT_EQ(error("  @type prometheus_monitor\n  interval 10\n"), "accepted");

  // A misspelt key, as for any plugin: the key, the section and the closest known key.
  EXPECT_NE(error("  @type monitor_agent\n  port 0\n  emit_intervall 60\n")
                .find("unknown parameter 'emit_intervall' in <source> (@type monitor_agent); did you mean 'emit_interval'?"),
            std::string::npos);
  // Keys of another monitoring source are unknown here.
  EXPECT_NE(error("  @type monitor_agent\n  port 0\n  metrics_path /m\n").find("unknown parameter 'metrics_path'"),
            std::string::npos);
  EXPECT_NE(error("  @type prometheus_monitor\n  port 24231\n").find("unknown parameter 'port' in <source> (@type prometheus_monitor)"),
            std::string::npos);
  // Typed values.
  EXPECT_NE(error("  @type prometheus\n  port http\n").find("parameter 'port'"), std::string::npos);
  EXPECT_NE(error("  @type prometheus\n  port 70000\n").find("port '70000' is not a TCP port (0..65535)"), std::string::npos);
  EXPECT_NE(error("  @type prometheus\n  port 0\n  metrics_path metrics\n").find("metrics_path must begin with /"),
            std::string::npos);
}

// <system> <monitor>'s unknown keys name the closest known one, or all of them.
TEST_F(MonitorSourcesTest, UnknownMonitorKeysNameTheKnownOnes) {
  auto error = [&](const std::string& monitor) {
    auto p = build("<system>\n  <monitor>\n" + monitor + "  </monitor>\n</system>\n");
    return p.isOk() ? std::string("accepted") : p.status().message();
  };
  EXPECT_EQ(error("    port 0\n    enable_tap true\n"), "accepted");
  EXPECT_NE(error("    enable_tapp true\n").find("unknown parameter 'enable_tapp' in <monitor>; did you mean 'enable_tap'?"),
            std::string::npos);
  EXPECT_NE(error("    colour blue\n").find("unknown parameter 'colour' in <monitor> (it takes enable, bind, port,"),
            std::string::npos);
}

TEST_F(MonitorSourcesTest, TheTablesGiveFluentdsDefaults) {
  auto param = [](std::string_view type, std::string_view name) -> const ParamInfo* {
    const PluginDescriptor* d = engine::findMonitorSource(type);
    if (d == nullptr) return nullptr;
    for (const ParamInfo& p : d->params) {
      if (p.name == name) return &p;
    }
    return nullptr;
  };
  ASSERT_NE(param("prometheus", "port"), nullptr);
  EXPECT_STREQ(param("prometheus", "port")->default_value, "24231");
  EXPECT_STREQ(param("prometheus", "bind")->default_value, "0.0.0.0");
  EXPECT_STREQ(param("prometheus", "metrics_path")->default_value, "/metrics");
  EXPECT_STREQ(param("monitor_agent", "port")->default_value, "24220");
  EXPECT_EQ(param("monitor_agent", "port")->type, ParamType::Integer);
  EXPECT_EQ(param("prometheus_output_monitor", "interval")->flags & kIgnored, kIgnored);
  EXPECT_EQ(engine::findMonitorSource("tail"), nullptr);
  EXPECT_EQ(engine::monitorSourceDescriptors().size(), 4u);
}

}  // namespace
}  // namespace sluice
