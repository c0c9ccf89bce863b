// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_multiline/multiline_parser.h"

namespace sluice::plugins::parser_multiline {
namespace {

using C = MultilineConfig;

// format1..format20 point into the `formats` array, which a member pointer cannot name, so
// they are bound by hand from the same section (and listed in --describe below).
const auto kParams = concatParams(parserCommonParams<C>("time"), std::array<Param<C>, 2>{{
    {"format_firstline", &C::format_firstline, nullptr, "Regexp of the first line of an event; other lines continue it.", {}, kRegexp},
    {"max_event_size", &C::max_event_size, "1m", "An event joined beyond this size is emitted as it is."},
}});

struct MultilineState : ParserState {
  std::string text;
  bool active = false;
};

}  // namespace

Result<std::unique_ptr<MultilineParser>> MultilineParser::create(const MultilineConfig& config, PluginContext& ctx) {
  std::string joined;
  int last = 0;
  for (int i = 1; i <= 20; ++i) {
    auto v = ctx.element().get("format" + std::to_string(i));
    if (!v) continue;
    if (i != last + 1) {
      return Status::invalidConfig("format" + std::to_string(i) + " is given but format" +
                                   std::to_string(last + 1) + " is not");
    }
    last = i;
    std::string part = *v;
    if (part.size() >= 2 && part.front() == '/' && part.back() == '/') part = part.substr(1, part.size() - 2);
    joined += part;
  }
  if (joined.empty()) return Status::invalidConfig("multiline needs format1 (and optionally format2..format20)");
  auto format = compileRubyRegex("/" + joined + "/m");
  if (!format) return format.takeStatus();
  std::unique_ptr<RE2> firstline;
  if (config.format_firstline) {
    auto f = compileRubyRegex(*config.format_firstline);
    if (!f) return f.takeStatus();
    firstline = std::move(*f);
  }
  auto time = ParserTime::create(config);
  if (!time) return time.takeStatus();
  return std::unique_ptr<MultilineParser>(new MultilineParser(std::move(firstline), std::move(*format),
                                                              std::move(*time), config.max_event_size.bytes));
}

MultilineParser::MultilineParser(std::unique_ptr<RE2> firstline, std::unique_ptr<RE2> format, ParserTime time,
                                 size_t max_event)
    : firstline_(std::move(firstline)),
      format_(std::move(format)),
      groups_(*format_),
      time_(std::move(time)),
      max_event_(max_event) {}

ParserStatePtr MultilineParser::newState() const {
  return firstline_ ? std::make_unique<MultilineState>() : nullptr;
}

void MultilineParser::parseText(std::string_view text, Arena& arena, ParsedRecord& out) const {
  std::vector<re2::StringPiece> match(groups_.matchSize());
  if (!format_->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED, match.data(),
                      groups_.matchSize())) {
    out.error = "pattern not matched";
    return;
  }
  out.record = groups_.toRecord(match.data(), arena);
  time_.apply(out, arena);
}

void MultilineParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  auto* state = static_cast<MultilineState*>(in.state);
  for (size_t i = 0; i < in.lines.size(); ++i) {
    std::string_view line = in.lines[i];
    ParsedRecord& rec = out[i];
    if (state == nullptr || !firstline_) {
      parseText(line, arena, rec);
      continue;
    }
    bool first = RE2::PartialMatch(re2::StringPiece(line.data(), line.size()), *firstline_);
    if (first) {
      if (state->active) {
        parseText(arena.copy(state->text), arena, rec);  // the previous event is complete
      } else {
        rec.held = true;
      }
      state->text.assign(line);
      state->active = true;
      setHeld(*state, in.first_seq + i);
      continue;
    }
    if (!state->active) {
      rec.error = "no first line before this line";
      continue;
    }
    state->text += '\n';
    state->text.append(line);
    rec.held = true;
    if (state->text.size() >= max_event_) {  // bounded memory
      rec.held = false;
      parseText(arena.copy(state->text), arena, rec);
      state->text.clear();
      state->active = false;
      setHeld(*state, std::nullopt);
    }
  }
}

bool MultilineParser::flush(ParserState& state, Arena& arena, ParsedRecord& out) const {
  auto& s = static_cast<MultilineState&>(state);
  if (!s.active) return false;
  out = ParsedRecord{};
  parseText(arena.copy(s.text), arena, out);
  s.text.clear();
  s.active = false;
  setHeld(s, std::nullopt);
  return true;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = [] {
    PluginDescriptor d = makeDescriptor<MultilineParser>(
        PluginKind::Parser, "multiline",
        "Joins lines into events that start at format_firstline and parses them with format1..format20.",
        kParams);
    for (int i = 1; i <= 20; ++i) {
      static const std::array<std::string, 20> kNames = [] {
        std::array<std::string, 20> n;
        for (int k = 0; k < 20; ++k) n[k] = "format" + std::to_string(k + 1);
        return n;
      }();
      d.params.push_back(ParamInfo{kNames[i - 1], ParamType::Regexp, nullptr,
                                   i == 1 ? "First part of the event regexp (required); format2..format20 follow it."
                                          : "A further part of the event regexp, appended to the ones before.",
                                   {}, 0, {}});
    }
    return d;
  }();
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_multiline
