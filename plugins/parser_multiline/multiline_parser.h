// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::parser_multiline {

struct MultilineConfig : ParserCommon {
  std::optional<std::string> format_firstline;
  ByteSize max_event_size;
  // Pieces of one regexp, joined in order: a piece alone need not be a regexp.
  std::optional<std::string> format1, format2, format3, format4, format5, format6, format7, format8, format9,
      format10, format11, format12, format13, format14, format15, format16, format17, format18, format19,
      format20;
};

// Fluentd's multiline parser: a line matching format_firstline starts an event, following
// lines are appended to it, and the joined text is matched against format1..formatN
// concatenated (dot matches newline, as Fluentd compiles it). When reading a stream, the event
// is emitted when the next one starts, or by the reader's multiline_flush_interval.
// A rejected event (format1.. not matched) comes back with `error` set and its text (joined
// with "\n") as a string `record`: the tail reports it, and emits it with emit_unmatched_lines.
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently, each stream with its own ParserState.
class MultilineParser final : public Parser {
 public:
  static Result<std::unique_ptr<MultilineParser>> create(const MultilineConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;
  ParserStatePtr newState() const override;
  bool flush(ParserState& state, Arena& arena, ParsedRecord& out) const override;

 private:
  MultilineParser(std::unique_ptr<RE2> firstline, std::unique_ptr<RE2> format, ParserTime time, size_t max_event);
  void parseText(std::string_view text, Arena& arena, ParsedRecord& out) const;

  const std::unique_ptr<RE2> firstline_;
  const std::unique_ptr<RE2> format_;
  const NamedGroups groups_;
  const ParserTime time_;
  const size_t max_event_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_multiline
