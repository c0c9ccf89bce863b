// SPDX-License-Identifier: Apache-2.0
#pragma once

// ContextImpl: the PluginContext the pipeline hands each plugin while it is created (its
// section, id, logger and metrics, and the factories for nested plugins: <parse> parsers,
// <format> formatters, copy's <store> outputs, relabel's label entry points). Owns nothing but
// the ids of the stores it built; lives on the main thread only for the duration of one
// Pipeline::instantiate call.

#include <string>
#include <vector>

#include "engine/pipeline.h"

namespace sluice::engine {

// The agent whose body Pipeline::buildAgentBody is building on this thread (a reload builds on
// the engine's thread while the old pipeline runs): PluginContext::labelSink("").
extern thread_local Agent* t_building_agent;

class ContextImpl : public PluginContext {
 public:
  ContextImpl(Pipeline& pipeline, Instance& instance, const config::Element& element,
              const FormatterDefaults* formatter_defaults = nullptr)
      : pipeline_(pipeline), instance_(instance), element_(element), formatter_defaults_(formatter_defaults) {}

  const config::Element& element() const override { return element_; }
  const std::string& id() const override { return instance_.id; }
  const SourceLogger& log() const override { return instance_.log; }
  PluginMetrics& metrics() override { return *instance_.metrics; }
  const std::string& hostname() const override { return pipeline_.hostname_; }
  int64_t flushThreadCount() const override;

  Result<ParserPtr> createParser(const config::Element& section) override;

  Result<FormatterPtr> createFormatter(const config::Element* section,
                                       const FormatterDefaults& defaults) override;

  const FormatterDefaults& formatterDefaults() const override {
    return formatter_defaults_ != nullptr ? *formatter_defaults_ : PluginContext::formatterDefaults();
  }

  Result<Store> createStore(const config::Element& section) override;

  Result<EventSink*> labelSink(std::string_view name) override;

  std::vector<std::string> stores_;

 private:
  Pipeline& pipeline_;
  Instance& instance_;
  const config::Element& element_;
  const FormatterDefaults* formatter_defaults_;  // set while a formatter is created
};

}  // namespace sluice::engine
