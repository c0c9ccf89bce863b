// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <re2/re2.h>

#include "core/plugin_api.h"
#include "core/record_template.h"

namespace sluice::plugins::filter_record_modifier {

struct RecordModifierConfig {
  std::optional<std::string> prepare_value;
  std::optional<std::string> char_encoding;
  StringList remove_keys;
  StringList whitelist_keys;
};
struct ReplaceConfig {
  std::string key;
  std::string expression;
  std::string replace;
};

// fluent-plugin-record-modifier's filter: sets the fields of <record> in order (each template
// reads the record as the fields before it left it; ${...} is read as the Ruby subset of
// core/record_template.h, TemplateDialect::RecordModifier), then removes remove_keys or keeps
// only whitelist_keys, applies the <replace> rules (a regexp substitution in one field) and
// converts strings with char_encoding `from:to`. Templates and regexps are compiled once.
// Threading: immutable after create(); process() runs concurrently on the threads of the inputs
// whose events reach it (each call with its own iconv descriptor when converting).
class RecordModifierFilter final : public Filter {
 public:
  struct Field {
    std::string key;
    RecordTemplate value;
  };
  struct Replace {
    std::string key;
    std::unique_ptr<RE2> expression;
    std::string rewrite;  // RE2's form: \0..\9
  };

  static Result<std::unique_ptr<RecordModifierFilter>> create(const RecordModifierConfig& config, PluginContext& ctx);

  // sluice::Filter
  void process(Batch& batch) override;

 private:
  RecordModifierFilter() = default;

  std::vector<Field> fields_;
  std::vector<FieldPath> remove_;
  std::vector<std::string> keep_;  // whitelist_keys
  std::vector<Replace> replaces_;
  std::string from_encoding_;  // char_encoding from:to (empty: no conversion)
  std::string to_encoding_;
};

// Ruby's gsub replacement (\1, \k<name>, \0, \&, \\) in RE2's rewrite form for `re`; exposed
// for tests.
Result<std::string> rubyReplacement(std::string_view text, const RE2& re);

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::filter_record_modifier
