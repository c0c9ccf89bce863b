// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::parser_cri {

struct CriConfig {
  bool keep_time_key = true;
  bool merge_cri_fields = true;
  ByteSize max_partial_size;
};

// CRI container log lines (containerd, CRI-O): `<time> <stream> <P|F> <message>`, with
// fluent-plugin-parser-cri's fields `stream`, `logtag`, `message` and `time`. When reading a
// stream (tail), `P` fragments are joined per stream until the `F` line; the event time is
// the first fragment's. An optional nested <parse> parses the message (merge_cri_fields adds
// stream and logtag to its result).
// Threading: immutable after create(); parse() runs on the threads of the inputs (and parser
// filters) that use it, concurrently, each stream with its own ParserState.
class CriParser final : public Parser {
 public:
  static Result<std::unique_ptr<CriParser>> create(const CriConfig& config, PluginContext& ctx);

  // sluice::Parser
  void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const override;
  ParserStatePtr newState() const override;
  bool flush(ParserState& state, Arena& arena, ParsedRecord& out) const override;

 private:
  CriParser(const CriConfig& config, ParserPtr nested) : config_(config), nested_(std::move(nested)) {}
  Value makeRecord(std::string_view stream, std::string_view logtag, std::string_view message,
                   std::string_view time_text, Arena& arena) const;
  void applyNested(std::span<ParsedRecord> out, Arena& arena) const;

  const CriConfig config_;
  const ParserPtr nested_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::parser_cri
