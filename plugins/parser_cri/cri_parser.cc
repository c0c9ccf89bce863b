// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_cri/cri_parser.h"

namespace sluice::plugins::parser_cri {
namespace {

const std::array<Param<CriConfig>, 3> kParams = {{
    {"keep_time_key", &CriConfig::keep_time_key, "true", "Keep the runtime's timestamp text in the `time` field."},
    {"merge_cri_fields", &CriConfig::merge_cri_fields, "true", "With a nested <parse>: add stream and logtag to the parsed record."},
    {"max_partial_size", &CriConfig::max_partial_size, "1m", "Joined partial lines longer than this are emitted in pieces."},
}};

struct CriState : ParserState {
  explicit CriState(size_t max) : joiner(max) {}
  PartialJoiner joiner;
};

constexpr std::string_view kNotCri = "not a CRI log line";

}  // namespace

Result<std::unique_ptr<CriParser>> CriParser::create(const CriConfig& config, PluginContext& ctx) {
  ParserPtr nested;
  auto sections = ctx.element().children("parse");
  if (!sections.empty()) {
    auto p = ctx.createParser(*sections.front());
    if (!p) return p.takeStatus();
    nested = std::move(*p);
  }
  return std::unique_ptr<CriParser>(new CriParser(config, std::move(nested)));
}

ParserStatePtr CriParser::newState() const {
  return std::make_unique<CriState>(config_.max_partial_size.bytes);
}

Value CriParser::makeRecord(std::string_view stream, std::string_view logtag, std::string_view message,
                            std::string_view time_text, Arena& arena) const {
  Member* m = arena.allocArray<Member>(4);
  uint32_t n = 0;
  m[n++] = Member{"stream", Value::string(stream)};
  m[n++] = Member{"logtag", Value::string(logtag)};
  m[n++] = Member{"message", Value::string(message)};
  if (config_.keep_time_key) m[n++] = Member{"time", Value::string(time_text)};
  return Value::object(m, n, true);
}

void CriParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  auto* state = static_cast<CriState*>(in.state);
  for (size_t i = 0; i < in.lines.size(); ++i) {
    ParsedRecord& rec = out[i];
    auto c = parseCriLine(in.lines[i]);
    if (!c) {
      rec.error = kNotCri;
      continue;
    }
    std::string_view message = c->message, logtag = c->logtag, stream = c->stream, time_text = c->time_text;
    int64_t time_ns = c->time_ns;
    if (state != nullptr) {
      auto joined = state->joiner.add(c->stream, c->message, c->time_ns, !c->partial, in.first_seq + i, arena);
      if (!joined) {
        rec.held = true;
        continue;
      }
      if (joined->message.data() != c->message.data()) {  // joined from several fragments
        message = joined->message;
        stream = joined->stream;
        time_ns = joined->time_ns;
        std::string t;
        formatTime(t, time_ns, "%Y-%m-%dT%H:%M:%S.%NZ", true);
        time_text = arena.copy(t);
        if (joined->forced) logtag = "P";
      }
    }
    rec.record = makeRecord(stream, logtag, message, time_text, arena);
    rec.time_ns = time_ns;
    rec.has_time = true;
  }
  if (state != nullptr) setHeld(*state, state->joiner.heldFrom());
  if (nested_) applyNested(out.first(in.lines.size()), arena);
}

void CriParser::applyNested(std::span<ParsedRecord> out, Arena& arena) const {
  std::vector<std::string_view> messages;
  std::vector<size_t> index;
  for (size_t i = 0; i < out.size(); ++i) {
    if (!out[i].ok()) continue;
    messages.push_back(out[i].record.find("message")->asString());
    index.push_back(i);
  }
  std::vector<ParsedRecord> parsed(messages.size());
  nested_->parse(LineBatch{messages}, arena, parsed);
  for (size_t k = 0; k < index.size(); ++k) {
    ParsedRecord& rec = out[index[k]];
    if (!parsed[k].ok()) continue;  // keep the CRI record: nothing is lost
    Value merged = parsed[k].record;
    if (config_.merge_cri_fields) {
      merged.setMember("stream", *rec.record.find("stream"), arena);
      merged.setMember("logtag", *rec.record.find("logtag"), arena);
    }
    rec.record = merged;
    if (parsed[k].has_time) rec.time_ns = parsed[k].time_ns;
  }
}

bool CriParser::flush(ParserState& state, Arena& arena, ParsedRecord& out) const {
  auto& s = static_cast<CriState&>(state);
  auto joined = s.joiner.flushOldest(arena);
  setHeld(s, s.joiner.heldFrom());
  if (!joined) return false;
  std::string t;
  formatTime(t, joined->time_ns, "%Y-%m-%dT%H:%M:%S.%NZ", true);
  out = ParsedRecord{};
  out.record = makeRecord(joined->stream, "P", joined->message, arena.copy(t), arena);
  out.time_ns = joined->time_ns;
  out.has_time = true;
  if (nested_) applyNested(std::span(&out, 1), arena);
  return true;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<CriParser>(
      PluginKind::Parser, "cri",
      "CRI container log lines (containerd, CRI-O); joins P fragments until the F line.", kParams,
      {{"parse", "Optional parser of the message (e.g. @type json).", {}}});
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_cri
