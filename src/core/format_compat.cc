// SPDX-License-Identifier: Apache-2.0
#include "core/format_compat.h"

#include <unistd.h>

#include "core/format.h"

namespace sluice {

Result<FormatterPtr> formatterWithV012Keys(PluginContext& ctx, const FormatterDefaults& defaults,
                                           const V012FormatKeys& keys, std::unique_ptr<config::Element>& made) {
  if (!ctx.element().children("format").empty() || (!keys.format && !keys.output_type)) {
    return ctx.formatter(defaults);
  }
  made = std::make_unique<config::Element>();
  made->name = "format";
  made->where = ctx.element().where;
  if (keys.format) made->set("@type", *keys.format);
  if (keys.output_type) made->set("output_type", *keys.output_type);
  return ctx.createFormatter(made.get(), defaults);
}

const std::array<Param<V012FormatKeys>, 2>& v012FormatParams() {
  using C = V012FormatKeys;
  static const std::array<Param<C>, 2> kParams = {{
      {"format", &C::format, nullptr, "v0.12 form of <format> @type (used when there is no <format> section)."},
      {"output_type", &C::output_type, nullptr,
       "v0.12 form of <format> output_type (used when there is no <format> section).", "json|hash|ltsv|single_value"},
  }};
  return kParams;
}

Result<StdoutPrinting> stdoutPrinting(PluginContext& ctx, const V012FormatKeys& keys) {
  auto sections = ctx.element().children("inject");
  auto injector = Injector::create(sections.empty() ? nullptr : sections.front(), ctx.hostname());
  if (!injector) return injector.takeStatus();
  StdoutPrinting out;
  auto formatter = formatterWithV012Keys(ctx, FormatterDefaults{"stdout", colorWanted(STDOUT_FILENO)}, keys, out.v012_section);
  if (!formatter) return formatter.takeStatus();
  out.formatter = std::move(*formatter);
  out.injector = std::move(*injector);
  return out;
}

}  // namespace sluice
