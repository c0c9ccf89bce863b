// SPDX-License-Identifier: Apache-2.0
#pragma once

// The formatter plugin interface (Fluentd's formatter plugins: <format> @type json, out_file,
// single_value, ltsv, stdout, pretty). Formatters are plugins like the other kinds: one folder
// and one descriptor each (plugins/formatter_<name>/), found by the engine through the
// generated plugin list. An output builds the one its <format> section names with
// PluginContext::createFormatter. Part of the plugin API (core/plugin_api.h).

#include <memory>
#include <string>
#include <string_view>

#include "core/batch.h"
#include "core/chunk_view.h"
#include "core/plugin_base.h"

namespace sluice {

// Turns events into an output's bytes. Immutable after create(); formatBatch() runs
// concurrently on the threads of the inputs whose batches reach the output (and on flush
// threads for a <secondary>).
class Formatter : public Plugin {
 public:
  // Appends each event of `batch` to out.bytes and closes it with out.endEvent(). One virtual
  // call per batch.
  virtual void formatBatch(const Batch& batch, FormattedEvents& out) const = 0;
  // Appends one event (with its newline when add_newline): for outputs that build a message per
  // event around the formatted record (kafka2's value). A virtual call per event, so outputs
  // that write whole batches use formatBatch.
  virtual void formatEvent(const Event& event, std::string& out) const = 0;
};
using FormatterPtr = std::unique_ptr<Formatter>;

// A Formatter whose `Derived::formatOne(const Event&, std::string&) const` writes one event: the
// loop over the batch calls it directly, so there is no virtual call per event.
template <class Derived>
class FormatterBase : public Formatter {
 public:
  void formatBatch(const Batch& batch, FormattedEvents& out) const final {
    const Derived& self = static_cast<const Derived&>(*this);
    for (const Event& e : batch.events()) {
      self.formatOne(e, out.bytes);
      out.endEvent();
    }
  }
  void formatEvent(const Event& event, std::string& out) const final {
    static_cast<const Derived&>(*this).formatOne(event, out);
  }
};

// What an output asks of its formatter: the @type used when its <format> section names none
// (or there is no section), and whether it writes to a terminal (the pretty formatter's
// colours; see colorWanted in core/format.h).
struct FormatterDefaults {
  std::string_view type;  // the output's choice: the core names no formatter
  bool color = false;
};

}  // namespace sluice
