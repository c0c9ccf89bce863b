// SPDX-License-Identifier: Apache-2.0
#pragma once

// The parser tests' common steps (plugins/parser_*/..._test.cc): parse lines with a parser
// built from config text, make numbered lines, and the warm-batch check of a parser's hot path
// (after a warm-up, a batch is parsed with no heap allocation, or with a stated bound). All
// on the test's thread.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/plugin_api.h"
#include "support/alloc_counter.h"
#include "support/test_support.h"

namespace sluice::testing {

// Parses `lines` with a parser of `type` built from `config` (the body of a <parse> section).
// The parser is kept until the test binary exits: records name their fields with its strings
// (keys, capture names), so it outlives them.
inline std::vector<ParsedRecord> parseWith(std::string_view type, const std::string& config,
                                           std::vector<std::string_view> lines, Arena& arena) {
  static PluginFactory factory;
  static std::vector<std::unique_ptr<Parser>> parsers;
  parsers.push_back(factory.mustMake<Parser>(PluginKind::Parser, type, config));
  std::vector<ParsedRecord> out(lines.size());
  parsers.back()->parse(LineBatch{lines}, arena, out);
  return out;
}

// `n` lines, the i-th made by `line(i)`.
inline std::vector<std::string> linesOf(int n, const std::function<std::string(int)>& line) {
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(line(i));
  return out;
}

// The warm-batch check: the constructor parses `warm` `rounds` times on a reset arena, so that
// the parser's scratch and the arena's blocks reach their size; measure() then parses a batch
// on the reset arena and counts the heap allocations of that parse alone (the lines' views
// and the output slots are made before counting starts).
class WarmParser {
 public:
  WarmParser(const Parser& parser, std::vector<std::string> warm, int rounds = 1)
      : parser_(parser), warm_(std::move(warm)), out_(warm_.size()) {
    std::vector<std::string_view> views(warm_.begin(), warm_.end());
    for (int i = 0; i < rounds; ++i) {
      arena_.reset();
      parser_.parse(LineBatch{views}, arena_, out_);
    }
  }

  // Parses `lines` (the warm batch again when empty) and returns the allocations it made. The
  // records are in out() until the next measure(); `lines` must outlive them.
  size_t measure(const std::vector<std::string>& lines = {}) {
    const std::vector<std::string>& batch = lines.empty() ? warm_ : lines;
    std::vector<std::string_view> views(batch.begin(), batch.end());
    if (out_.size() < views.size()) out_.resize(views.size());
    arena_.reset();
    AllocationCounter counter;
    parser_.parse(LineBatch{views}, arena_, out_);
    return static_cast<size_t>(counter.count());
  }

  const std::vector<ParsedRecord>& out() const { return out_; }

 private:
  const Parser& parser_;
  std::vector<std::string> warm_;
  Arena arena_;
  std::vector<ParsedRecord> out_;
};

}  // namespace sluice::testing
