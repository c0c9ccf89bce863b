// SPDX-License-Identifier: Apache-2.0
#include "core/container_log.h"

#include "core/json.h"
#include "core/time.h"

namespace sluice {

std::optional<CriLine> parseCriLine(std::string_view line) {
  CriLine out;
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 < 20) return std::nullopt;
  out.time_text = line.substr(0, sp1);
  static const TimeParser kRfc3339("", true);
  auto t = kRfc3339.parse(out.time_text);
  if (!t) return std::nullopt;
  out.time_ns = *t;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return std::nullopt;
  out.stream = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (out.stream != "stdout" && out.stream != "stderr") return std::nullopt;
  size_t sp3 = line.find(' ', sp2 + 1);
  out.logtag = line.substr(sp2 + 1, sp3 == std::string_view::npos ? std::string_view::npos : sp3 - sp2 - 1);
  if (out.logtag.empty()) return std::nullopt;
  std::string_view first_tag = out.logtag.substr(0, out.logtag.find(':'));
  if (first_tag != "P" && first_tag != "F") return std::nullopt;
  out.partial = first_tag == "P";
  out.message = sp3 == std::string_view::npos ? std::string_view() : line.substr(sp3 + 1);
  return out;
}

std::optional<DockerLine> parseDockerLine(std::string_view line, bool padded, Arena& arena, JsonRepairs* repairs) {
  JsonRepairs found;  // counted only for a line taken as a Docker entry
  auto v = parseJson(line, arena, padded, &found);
  if (!v || !v->isObject()) return std::nullopt;
  const Value* log = v->find("log");
  if (log == nullptr || !log->isString()) return std::nullopt;
  if (repairs != nullptr) *repairs += found;
  DockerLine out;
  out.record = *v;
  std::string_view text = log->asString();
  out.partial = text.empty() || text.back() != '\n';
  if (!out.partial) text.remove_suffix(1);
  out.log = text;
  if (const Value* s = v->find("stream"); s && s->isString()) out.stream = s->asString();
  if (const Value* t = v->find("time"); t && t->isString()) {
    static const TimeParser kRfc3339("", true);
    if (auto ns = kRfc3339.parse(t->asString())) {
      out.time_ns = *ns;
      out.has_time = true;
    }
  }
  return out;
}

PartialJoiner::Slot& PartialJoiner::slotFor(std::string_view stream) {
  if (stream == "stdout") return slots_[0];
  if (stream == "stderr") return slots_[1];
  return slots_[2];
}

PartialJoiner::Joined PartialJoiner::take(Slot& slot, Arena& arena, bool forced) {
  Joined j{arena.copy(slot.text), arena.copy(slot.stream), slot.time_ns, forced};
  slot.text.clear();
  slot.active = false;
  return j;
}

std::optional<PartialJoiner::Joined> PartialJoiner::add(std::string_view stream, std::string_view text,
                                                        int64_t time_ns, bool final, uint64_t seq,
                                                        Arena& arena) {
  Slot& slot = slotFor(stream);
  if (!slot.active) {
    if (final) return Joined{text, stream, time_ns, false};  // the common case: no copy
    slot.active = true;
    slot.stream.assign(stream);
    slot.time_ns = time_ns;
    slot.from_seq = seq;
  }
  slot.text.append(text);
  if (final) return take(slot, arena, false);
  // Bounded memory: a line longer than max_size is emitted in pieces (each at most one
  // fragment over the cap, and a fragment is bounded by the reader's max_line_size).
  if (slot.text.size() >= max_size_) return take(slot, arena, true);
  return std::nullopt;
}

std::optional<PartialJoiner::Joined> PartialJoiner::flushOldest(Arena& arena) {
  Slot* oldest = nullptr;
  for (Slot& s : slots_) {
    if (s.active && (oldest == nullptr || s.from_seq < oldest->from_seq)) oldest = &s;
  }
  if (oldest == nullptr) return std::nullopt;
  return take(*oldest, arena, true);
}

std::optional<uint64_t> PartialJoiner::heldFrom() const {
  std::optional<uint64_t> from;
  for (const Slot& s : slots_) {
    if (s.active && (!from || s.from_seq < *from)) from = s.from_seq;
  }
  return from;
}

void setHeld(ParserState& state, std::optional<uint64_t> from) {
  if (from && state.held_from != from) state.held_since_ns = nowNs();
  state.held_from = from;
}

}  // namespace sluice
