// SPDX-License-Identifier: Apache-2.0
#include "core/format_compat.h"

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

}  // namespace sluice
