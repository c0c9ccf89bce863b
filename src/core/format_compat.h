// SPDX-License-Identifier: Apache-2.0
#pragma once

// Fluentd's compat_parameters for formatters: a v0.12 config writes the formatter's @type as
// `format` and its settings (`output_type`) beside the plugin's other parameters, where v1
// writes a <format> section. Used by the stdout output and filter; not part of
// core/plugin_api.h.

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "config/element.h"
#include "config/params.h"
#include "core/formatter.h"
#include "core/inject.h"
#include "core/plugin_context.h"

namespace sluice {

struct V012FormatKeys {
  std::optional<std::string> format;       // the formatter's @type
  std::optional<std::string> output_type;  // the stdout formatter's output_type
};

// The plugin's formatter, from its <format> section; when it has none and v0.12 keys are set,
// from a section made of them (stored in `made`, which the plugin keeps as long as the
// formatter). Called at the plugin's create(), main thread.
Result<FormatterPtr> formatterWithV012Keys(PluginContext& ctx, const FormatterDefaults& defaults,
                                           const V012FormatKeys& keys, std::unique_ptr<config::Element>& made);

// The parameter table of the two v0.12 keys: the stdout output's and filter's parameters.
const std::array<Param<V012FormatKeys>, 2>& v012FormatParams();

// What the stdout output and filter build at create(): the formatter (Fluentd's stdout line by
// default, coloured when standard output is a terminal), the section made of v0.12 keys (kept
// as long as the formatter) and the <inject> fields. Main thread.
struct StdoutPrinting {
  FormatterPtr formatter;
  std::unique_ptr<config::Element> v012_section;
  Injector injector;
};
Result<StdoutPrinting> stdoutPrinting(PluginContext& ctx, const V012FormatKeys& keys);

}  // namespace sluice
