// SPDX-License-Identifier: Apache-2.0
// Fuzz target: whatever Loki (or a proxy in front of it) answers to a refused push, the output
// reads the refusals out of it without crashing: each names a label set (as the chunk's
// entries carry them: braces included), a count, and for a timestamp or length claim a value.
// The same input as a chunk entry (`<time> <labels> <metadata> <line>`) splits into views of
// itself, its length-prefixed metadata pairs too, and a label set that parses gives only what
// lies between its braces.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "core/label_text.h"
#include "plugins/out_loki/loki_output.h"

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::plugins::out_loki;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  size_t message_bytes = 0;
  for (const LokiRefusal& r : parseRefusals(input)) {
    if (r.labels.size() < 2 || r.labels.front() != '{' || r.labels.back() != '}') std::abort();
    if (r.labels.size() > input.size() || r.message.size() > input.size()) std::abort();
    if (r.kind == LokiRefusal::Kind::Length && r.length == 0 && input.find("length '0") == std::string_view::npos) {
      std::abort();
    }
    message_bytes += r.message.size();
  }
  // Each refusal's message is a distinct part of one line: together no more than the body
  // (ingester lines waiting for their stream line are not copied twice).
  if (message_bytes > input.size()) std::abort();

  LokiEntry entry;
  if (parseEntry(input, entry)) {
    if (!inside(entry.labels, input) || !inside(entry.metadata, input) || !inside(entry.line, input)) std::abort();
    if (entry.labels.empty() || entry.labels.front() != '{' || entry.labels.back() != '}') std::abort();
    std::vector<std::pair<std::string_view, std::string_view>> metadata;
    std::vector<std::pair<std::string, std::string>> owned;
    if (metadataPairs(entry.metadata, metadata, owned) && owned.empty()) {
      for (const auto& [name, value] : metadata) {
        if (!inside(name, entry.metadata) || !inside(value, entry.metadata)) std::abort();
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  if (sluice::parseLabelSet(input, pairs)) {
    size_t bytes = 0;
    for (const auto& [name, value] : pairs) bytes += name.size() + value.size();
    if (bytes + 2 > input.size()) std::abort();
  }
  return 0;
}
