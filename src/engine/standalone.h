// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/element.h"
#include "core/descriptor.h"
#include "monitor/metrics.h"

namespace sluice::engine {

// A PluginContext outside a pipeline: for building one plugin (and its nested parsers) from a
// section, as tests, benchmarks and fuzz targets do. Stores and labels are not available.
// The element must outlive the context and the plugin.
class StandaloneContext : public PluginContext {
 public:
  StandaloneContext(const config::Element& element, MetricsRegistry& metrics, std::string type, PluginKind kind);

  const config::Element& element() const override { return element_; }
  const std::string& id() const override { return id_; }
  const SourceLogger& log() const override { return log_; }
  PluginMetrics& metrics() override { return metrics_; }
  const std::string& hostname() const override { return hostname_; }
  int64_t flushThreadCount() const override;
  Clock& clock() const override { return *clock_; }
  void setClock(Clock& clock) { clock_ = &clock; }
  Result<ParserPtr> createParser(const config::Element& section) override;
  Result<FormatterPtr> createFormatter(const config::Element* section, const FormatterDefaults& defaults) override;
  const FormatterDefaults& formatterDefaults() const override { return formatter_defaults_; }
  Result<Store> createStore(const config::Element& section) override;
  Result<EventSink*> labelSink(std::string_view name) override;

 private:
  const config::Element& element_;
  MetricsRegistry& registry_;
  std::string id_;
  SourceLogger log_;
  PluginMetrics metrics_;
  std::string hostname_ = "test-host";
  Clock* clock_ = &Clock::system();
  FormatterDefaults formatter_defaults_;
  std::vector<std::unique_ptr<config::Element>> empty_sections_;  // <format> sections not written
};

// Builds plugins of any kind from Fluentd-syntax section bodies (`@type` is added), through
// the real config parser and the builtin registry. Keeps the sections alive.
class StandaloneFactory {
 public:
  Result<PluginPtr> make(PluginKind kind, std::string_view type, std::string_view body);
  MetricsRegistry& metrics() { return metrics_; }
  // The clock of the plugins made from now on (a test's ManualClock); the system's by default.
  void setClock(Clock& clock) { clock_ = &clock; }

 private:
  MetricsRegistry metrics_;
  Clock* clock_ = &Clock::system();
  std::vector<std::unique_ptr<config::Element>> elements_;
  std::vector<std::unique_ptr<StandaloneContext>> contexts_;
};

}  // namespace sluice::engine
