// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_multiline/multiline_parser.h"

namespace sluice::plugins::parser_multiline {
namespace {

using C = MultilineConfig;

constexpr std::array<std::optional<std::string> C::*, 20> kFormats = {
    &C::format1,  &C::format2,  &C::format3,  &C::format4,  &C::format5,  &C::format6,  &C::format7,
    &C::format8,  &C::format9,  &C::format10, &C::format11, &C::format12, &C::format13, &C::format14,
    &C::format15, &C::format16, &C::format17, &C::format18, &C::format19, &C::format20};

const auto kParams = concatParams(parserCommonParams<C>("time"), std::array<Param<C>, 22>{{
    {"format_firstline", &C::format_firstline, nullptr, "Regexp of the first line of an event; other lines continue it.", {}, kRegexp},
    {"max_event_size", &C::max_event_size, "1m", "An event joined beyond this size is emitted as it is."},
    {"format1", &C::format1, nullptr, "First part of the event regexp (required); format2..format20 follow it."},
    {"format2", &C::format2, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format3", &C::format3, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format4", &C::format4, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format5", &C::format5, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format6", &C::format6, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format7", &C::format7, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format8", &C::format8, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format9", &C::format9, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format10", &C::format10, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format11", &C::format11, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format12", &C::format12, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format13", &C::format13, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format14", &C::format14, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format15", &C::format15, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format16", &C::format16, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format17", &C::format17, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format18", &C::format18, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format19", &C::format19, nullptr, "A further part of the event regexp, appended to the ones before."},
    {"format20", &C::format20, nullptr, "A further part of the event regexp, appended to the ones before."},
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
    const std::optional<std::string>& v = config.*kFormats[i - 1];
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
    out.record = Value::string(text);  // the rejected event's text, for a reader to report or emit
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
        kParams).needing("format1 /(?<message>.*)/\n");
    // The pieces are documented as what they are together, a regexp; each is checked only
    // once joined (create()), since a piece alone may not compile.
    for (ParamInfo& p : d.params) {
      if (p.name.starts_with("format") && p.name != "format_firstline") p.type = ParamType::Regexp;
    }
    return d;
  }();
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_multiline
