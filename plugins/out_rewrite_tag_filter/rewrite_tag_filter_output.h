// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::out_rewrite_tag_filter {

// emit_mode, bound at config time (enumMember).
enum class EmitMode { Batch, Record };
inline constexpr Choice<EmitMode> kEmitModes[] = {{"batch", EmitMode::Batch}, {"record", EmitMode::Record}};

struct RewriteConfig {
  bool capitalize_regex_backreference = false;
  std::optional<std::string> remove_tag_prefix;
  std::optional<std::string> remove_tag_regexp;
  std::string hostname_command;
  EmitMode emit_mode = EmitMode::Batch;
  std::optional<std::string> label;
};

struct RuleConfig {
  std::string key;
  std::string pattern;
  std::string tag;
  std::optional<std::string> label;
  bool invert = false;
};

// fluent-plugin-rewrite-tag-filter as a <match> output: each event is re-emitted with the tag
// of the first <rule> whose `pattern` matches (or, with `invert`, does not match) the value of
// `key`, into the router of the section that holds it (or the rule's / the plugin's @label).
// The new tag may use `$1`… (the rule's captures), `${tag}` / `__TAG__` (the tag without
// remove_tag_prefix / remove_tag_regexp), `${tag_parts[N]}` / `__TAG_PARTS[N]__` and
// `${hostname}` / `__HOSTNAME__`. Events that no rule rewrites, or rewritten to their own tag
// without a label, are dropped (Fluentd: "tag has not been rewritten").
// Threading: immutable after create(); emit() runs concurrently on the input threads; it
// re-enters the router on the calling thread (a loop of rewrites is cut after 32 levels).
class RewriteTagFilterOutput final : public Output, public EventSink {
 public:
  static Result<std::unique_ptr<RewriteTagFilterOutput>> create(const RewriteConfig& config, PluginContext& ctx);

  // sluice::Output
  EventSink* asSink() override { return this; }
  // sluice::EventSink
  Status emit(Batch& batch) override;

  // One piece of a rule's tag template.
  struct Piece {
    enum class Kind { Text, Capture, Tag, TagPart, Hostname, Unknown } kind;
    std::string text;  // Text; Unknown: the placeholder, warned about once
    int index = 0;     // Capture ($1 = 1), TagPart
  };
  struct Rule {
    FieldPath key;
    std::unique_ptr<RE2> re;
    bool invert;
    std::vector<Piece> tag;
    EventSink* sink;  // the rule's label, or the plugin's router
    bool own_label;   // the rule names a label
  };
  // Splits a rule's tag into pieces; an error for a range of tag parts.
  static Result<std::vector<Piece>> parseTemplate(std::string_view tag);

 private:
  RewriteTagFilterOutput(std::vector<Rule> rules, bool capitalize, std::unique_ptr<RE2> remove_tag,
                         std::string hostname, bool batch_mode, PluginContext& ctx);
  // The rule that rewrites `record`, writing the new tag into `out`; nullptr if none.
  const Rule* rewrite(std::string_view base_tag, const Value& record, std::string& out, std::string& scratch) const;

  const std::vector<Rule> rules_;
  const bool capitalize_;
  const std::unique_ptr<RE2> remove_tag_;  // remove_tag_prefix / remove_tag_regexp, anchored at the start
  const std::string hostname_;
  const bool batch_mode_;
  SourceLogger log_;
  Counter& looped_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_rewrite_tag_filter
