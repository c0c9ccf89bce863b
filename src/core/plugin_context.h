// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the engine gives a plugin at create(). Part of the plugin API (core/plugin_api.h);
// the engine implements it (engine/pipeline.cc). Used on the main thread only.

#include <span>
#include <string>
#include <string_view>

#include "config/bind.h"
#include "config/element.h"
#include "config/params.h"
#include "core/clock.h"
#include "core/formatter.h"
#include "core/parser.h"
#include "core/plugin_base.h"
#include "monitor/log.h"
#include "monitor/metrics.h"

namespace sluice {

// The plugin's section, identity, logger, metrics and the factories for nested plugins. Only
// used during create() and start(); plugins keep the logger and metric references, which live
// as long as the engine.
class PluginContext {
 public:
  virtual ~PluginContext() = default;

  virtual const config::Element& element() const = 0;
  virtual const std::string& id() const = 0;
  virtual const SourceLogger& log() const = 0;
  virtual PluginMetrics& metrics() = 0;
  virtual const std::string& hostname() const = 0;
  // How many threads call Output::write() at once: the output's <buffer> flush_thread_count,
  // bound by the engine through the buffer's parameter table (1 without a <buffer>, or when
  // the section does not bind: the engine reports that when it builds the buffer).
  virtual int64_t flushThreadCount() const { return 1; }
  // The time the plugin's timers run on: the system's in a pipeline, a test's ManualClock in
  // tests (StandaloneFactory::setClock). Lives as long as the engine.
  virtual Clock& clock() const { return Clock::system(); }

  // Builds the parser of a <parse> section.
  virtual Result<ParserPtr> createParser(const config::Element& section) = 0;
  // Builds an output's formatter from its <format> section (nullptr: the output has none);
  // `defaults` gives the @type when the section names none, and the terminal hint.
  virtual Result<FormatterPtr> createFormatter(const config::Element* section,
                                               const FormatterDefaults& defaults) = 0;
  // While a formatter is being created: what its output asked for in createFormatter.
  virtual const FormatterDefaults& formatterDefaults() const {
    static const FormatterDefaults kNone;
    return kNone;
  }
  // An output built from a <store> section (for copy), wrapped for delivery: where to emit,
  // and whether it routes the events on (to a label's filters, or further stores), where they
  // may be changed.
  struct Store {
    EventSink* sink;
    bool routes;
  };
  virtual Result<Store> createStore(const config::Element& section) = 0;
  // The entry point of <label NAME>: for relabel. Resolved after the whole config is read.
  virtual Result<EventSink*> labelSink(std::string_view name) = 0;

  // Fills `out` from `section` using `params`; unknown keys are reported later by the engine.
  // The formatter of this plugin's <format> section (the first), or of `defaults` without one.
  Result<FormatterPtr> formatter(const FormatterDefaults& defaults) {
    auto sections = element().children("format");
    return createFormatter(sections.empty() ? nullptr : sections.front(), defaults);
  }

  template <class C>
  Status bind(std::span<const Param<C>> params, const config::Element& section, C& out) {
    return bindParams(params, section, out);
  }
};

}  // namespace sluice
