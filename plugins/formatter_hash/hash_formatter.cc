// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_hash/hash_formatter.h"

#include "core/record_text.h"

namespace sluice::plugins::formatter_hash {

Result<std::unique_ptr<HashFormatter>> HashFormatter::create(const FormatConfig& config, PluginContext&) {
  return std::unique_ptr<HashFormatter>(new HashFormatter(config));
}

void HashFormatter::formatOne(const Event& event, std::string& out) const {
  appendRubyInspect(out, event.record);
  if (newline_) out += '\n';
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<HashFormatter>(
      PluginKind::Formatter, "hash", "The record as Ruby's Hash#to_s writes it: {\"k\"=>\"v\", \"n\"=>1}.", formatParams());
  return kDescriptor;
}

}  // namespace sluice::plugins::formatter_hash
