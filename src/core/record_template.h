// SPDX-License-Identifier: Apache-2.0
#pragma once

// Field templates with ${...} placeholders, as Fluentd's record_transformer and
// fluent-plugin-record-modifier write them in <record>, compiled once and expanded without
// Ruby. Shared by those two filter plugins; not part of core/plugin_api.h. Compiling runs on
// the main thread while plugins are created; a compiled template is immutable and expand()
// runs concurrently on the threads of the inputs whose events reach the filter.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/arena.h"
#include "core/batch.h"
#include "core/field_path.h"
#include "core/status.h"
#include "core/value.h"

namespace sluice {

// How placeholders read, and what a missing value gives.
enum class TemplateDialect {
  // record_transformer without enable_ruby: ${tag}, ${tag_parts[N]}, ${tag_prefix[N]},
  // ${tag_suffix[N]}, ${hostname}, ${time} (`%Y-%m-%d %H:%M:%S %z`), ${field} and
  // ${record["a"]["b"]}. A field the record lacks leaves the placeholder as written; other
  // values are written as JSON.
  RecordTransformer,
  // record_modifier, where ${...} is Ruby: ${tag}, ${tag_parts[N]}, ${time} (integer seconds),
  // ${record["a"]["b"]}, ${record.dig("a", "b")}. A missing value is nil: "" in text, null as
  // the whole value; a value that is the whole template keeps its type; others are written as
  // Ruby's to_s writes them (Hash#inspect for objects).
  RecordModifier,
};

// A tag's dot-separated parts, split again only when the tag changes (events of a batch
// mostly share one). One per thread and batch.
class TagParts {
 public:
  std::span<const std::string_view> of(std::string_view tag);

 private:
  std::vector<std::string_view> parts_;
  std::string_view of_;
};

class RecordTemplate {
 public:
  enum class Kind { Literal, Tag, TagPart, TagPrefix, TagSuffix, Hostname, Time, Field };
  struct Segment {
    Kind kind;
    std::string text;  // Literal; the original placeholder text otherwise
    int index = 0;
    FieldPath path{};
  };

  // The error names the placeholder and what the dialect supports.
  static Result<RecordTemplate> compile(std::string_view text, TemplateDialect dialect);

  // What placeholders read: the event (tag, time), the record fields are read from, the tag's
  // parts, and the hostname.
  struct Input {
    const Event& event;
    const Value& source;
    std::span<const std::string_view> parts;
    std::string_view hostname;
  };
  // The value of the field. `keep_type`: a template that is one field placeholder gives that
  // field's value itself (record_transformer's auto_typecast; always so for RecordModifier).
  // Text is built in `scratch` and copied into `arena`.
  Value expand(const Input& in, bool keep_type, std::string& scratch, Arena& arena) const;

  const std::vector<Segment>& segments() const { return segments_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<Segment> segments_;
  TemplateDialect dialect_ = TemplateDialect::RecordTransformer;
};

}  // namespace sluice
