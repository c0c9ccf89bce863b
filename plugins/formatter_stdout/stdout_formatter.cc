// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_stdout/stdout_formatter.h"

#include "core/record_text.h"

namespace sluice::plugins::formatter_stdout {
namespace {

using C = StdoutFormatConfig;
constexpr size_t kCount = std::tuple_size_v<std::remove_cvref_t<decltype(formatParams())>>;

// The shared <format> table (formatParams) for the derived config, with output_type an enum:
// the spelling is checked and converted once, when the section is bound.
const std::array<Param<C>, kCount>& params() {
  static const std::array<Param<C>, kCount> kParams = [] {
    std::array<Param<C>, kCount> out{};
    for (size_t i = 0; i < kCount; ++i) {
      const Param<FormatConfig>& p = formatParams()[i];
      Param<C>& q = out[i];
      q.name = p.name;
      q.default_value = p.default_value;
      q.description = p.description;
      q.choices = p.choices;
      q.flags = p.flags;
      q.alias = p.alias;
      std::visit(
          [&](auto member) {
            using M = decltype(member);
            if constexpr (std::is_same_v<M, std::monostate> || std::is_same_v<M, EnumMember<FormatConfig>>) {
              // no base member to rebind (formatParams has no enum members)
            } else {
              using T = std::remove_reference_t<decltype(std::declval<FormatConfig&>().*member)>;
              q.member = static_cast<T C::*>(member);
            }
          },
          p.member);
      if (p.name == "output_type") {
        q.member = enumMember<&C::type, kOutputTypes>();
        q.choices = {};
        q.description = "How the record is written after `time tag: `: json, hash (Ruby's Hash#inspect), ltsv or single_value.";
      }
    }
    return out;
  }();
  return kParams;
}

}  // namespace

Result<std::unique_ptr<StdoutFormatter>> StdoutFormatter::create(const StdoutFormatConfig& config, PluginContext&) {
  return std::unique_ptr<StdoutFormatter>(new StdoutFormatter(config));
}

void StdoutFormatter::formatOne(const Event& event, std::string& out) const {
  time_.append(event.time_ns, out);
  out += ' ';
  appendVisible(out, event.tag);  // often a terminal: a file name must not drive it
  out += ": ";
  switch (type_) {
    case OutputType::Json: appendJson(out, event.record); break;
    case OutputType::Hash: appendRubyInspect(out, event.record); break;
    case OutputType::Ltsv: appendLtsv(out, event.record, delimiter_, label_delimiter_); break;
    case OutputType::SingleValue: appendSingleValue(out, event.record, message_key_); break;
  }
  if (newline_) out += '\n';
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<StdoutFormatter>(
      PluginKind::Formatter, "stdout", "Fluentd's stdout line: `time tag: ` and the record as output_type says.", params());
  return kDescriptor;
}

}  // namespace sluice::plugins::formatter_stdout
