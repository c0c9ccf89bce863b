// SPDX-License-Identifier: Apache-2.0
// Fuzz target: every line parser, as the tail input drives it (per-stream state, batches,
// flush at the end), must never crash and must give records that encode to valid UTF-8 JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/json.h"
#include "engine/standalone.h"
#include "monitor/log.h"

namespace {

struct Parsers {
  sluice::engine::StandaloneFactory factory;
  std::vector<sluice::ParserPtr> all;
  Parsers() {
    sluice::Logger::global().setLevel(sluice::LogLevel::Fatal);
    const std::pair<const char*, const char*> kConfigs[] = {
        {"json", ""},
        {"regexp", "expression /^(?<time>[^ ]+) (?<level>\\w+) (?<message>.*)$/\ntypes level:string"},
        {"none", ""},
        {"auto", ""},
        {"cri", "max_partial_size 256\n<parse>\n @type json\n</parse>"},
        {"docker", "max_partial_size 256"},
        {"kubernetes", "max_partial_size 256"},
        {"multiline", "format_firstline /^\\d{4}/\nformat1 /^(?<time>\\d{4}-\\d\\d-\\d\\d) (?<message>.*)/\nmax_event_size 512"},
        {"syslog", "message_format auto"},
        {"msgpack", "null_empty_string true"},
    };
    for (auto [type, body] : kConfigs) {
      auto p = factory.make(sluice::PluginKind::Parser, type, body);
      if (!p) std::abort();
      all.emplace_back(static_cast<sluice::Parser*>(p->release()));
    }
  }
};

void check(const sluice::ParsedRecord& r) {
  if (!r.ok()) return;
  std::string json = sluice::toJson(r.record);
  if (!sluice::isValidUtf8(json)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Parsers parsers;
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  for (size_t s = 0, nl; s <= text.size(); s = nl + 1) {
    nl = text.find('\n', s);
    if (nl == std::string::npos) nl = text.size();
    lines.emplace_back(text.data() + s, nl - s);
  }
  for (const auto& p : parsers.all) {
    auto state = p->newState();
    sluice::Arena arena;
    uint64_t seq = 0;
    for (size_t start = 0; start < lines.size(); start += 3) {  // small batches: state crosses them
      size_t n = std::min<size_t>(3, lines.size() - start);
      std::vector<sluice::ParsedRecord> out(n);
      p->parse(sluice::LineBatch{std::span(lines).subspan(start, n), false, state.get(), seq}, arena, out);
      seq += n;
      for (const auto& r : out) check(r);
    }
    sluice::ParsedRecord last;
    while (state && p->flush(*state, arena, last)) check(last);
    if (state && state->held_from) std::abort();  // flush emptied the state
  }
  return 0;
}
