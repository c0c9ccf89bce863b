// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_kubernetes/kubernetes_parser.h"

namespace sluice::plugins::parser_kubernetes {
namespace {

const std::array<Param<KubernetesConfig>, 1> kParams = {{
    {"max_partial_size", &KubernetesConfig::max_partial_size, "1m", "Joined partial lines longer than this are emitted in pieces."},
}};

// A klog event being assembled from its first line and continuation lines.
struct KlogEvent {
  bool active = false;
  std::string severity, pid, source, message;
  int64_t time_ns = 0;
  uint64_t from_seq = 0;
};

struct KubernetesState : ParserState {
  explicit KubernetesState(size_t max) : joiner(max) {}
  PartialJoiner joiner;
  KlogEvent klog;
  void updateHeld() {
    auto from = joiner.heldFrom();
    if (klog.active && (!from || klog.from_seq < *from)) from = klog.from_seq;
    setHeld(*this, from);
  }
};

// klog's time has no year: take the current one (in UTC), and the previous one for a date
// that would be in the future (the December lines read in January).
int64_t klogTime(std::string_view mmdd_hms) {
  int64_t now = nowNs();
  std::string year;
  formatTime(year, now, "%Y", true);
  static const TimeParser kParser("%Y%m%d %H:%M:%S.%N", true);
  auto t = kParser.parse(year + std::string(mmdd_hms));
  if (!t) return now;
  if (*t > now + 86400 * kNanosPerSecond) {
    auto prev = kParser.parse(std::to_string(std::stoi(year) - 1) + std::string(mmdd_hms));
    if (prev) return *prev;
  }
  return *t;
}

Value klogRecord(const KlogEvent& e, Arena& arena) {
  Member* m = arena.allocArray<Member>(4);
  m[0] = Member{"severity", Value::string(arena.copy(e.severity))};
  m[1] = Member{"pid", Value::string(arena.copy(e.pid))};
  m[2] = Member{"source", Value::string(arena.copy(e.source))};
  m[3] = Member{"message", Value::string(arena.copy(e.message))};
  return Value::object(m, 4, true);
}

}  // namespace

Result<std::unique_ptr<KubernetesParser>> KubernetesParser::create(const KubernetesConfig& config, PluginContext& ctx) {
  return std::unique_ptr<KubernetesParser>(new KubernetesParser(config, ctx.metrics()));
}

KubernetesParser::KubernetesParser(const KubernetesConfig& config, PluginMetrics& metrics)
    : config_(config),
      klog_(R"(^([IWEF])(\d{4} \d{2}:\d{2}:\d{2}\.\d+)\s+(\d+)\s+([^ \]]+)\] ?(.*)$)"),
      repairs_(metrics) {}

ParserStatePtr KubernetesParser::newState() const {
  return std::make_unique<KubernetesState>(config_.max_partial_size.bytes);
}

Value KubernetesParser::containerRecord(std::string_view log, std::string_view stream, Arena& arena) {
  Member* m = arena.allocArray<Member>(4);
  m[0] = Member{"log", Value::string(log)};
  m[1] = Member{"stream", Value::string(stream)};
  return Value::object(m, 2, true);
}

void KubernetesParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  auto* state = static_cast<KubernetesState*>(in.state);
  JsonRepairs repairs;
  for (size_t i = 0; i < in.lines.size(); ++i) {
    ParsedRecord& rec = out[i];
    std::string_view line = in.lines[i];
    const uint64_t seq = in.first_seq + i;
    const bool klog_pending = state != nullptr && state->klog.active;
    // Container runtimes first: Docker json-file, then CRI.
    if (!klog_pending && !line.empty() && line[0] == '{') {
      if (auto d = parseDockerLine(line, in.padded, arena, &repairs)) {
        std::string_view log = d->log;
        int64_t t = d->time_ns;
        if (state != nullptr) {
          auto joined = state->joiner.add(d->stream, d->log, d->time_ns, !d->partial, seq, arena);
          if (!joined) {
            rec.held = true;
            continue;
          }
          log = joined->message;
          t = joined->time_ns;
        }
        rec.record = containerRecord(log, d->stream, arena);
        rec.time_ns = t;
        rec.has_time = d->has_time;
        continue;
      }
    }
    if (!klog_pending) {
      if (auto c = parseCriLine(line)) {
        std::string_view log = c->message, stream = c->stream;
        int64_t t = c->time_ns;
        if (state != nullptr) {
          auto joined = state->joiner.add(c->stream, c->message, c->time_ns, !c->partial, seq, arena);
          if (!joined) {
            rec.held = true;
            continue;
          }
          log = joined->message;
          stream = joined->stream;
          t = joined->time_ns;
        }
        rec.record = containerRecord(log, stream, arena);
        rec.time_ns = t;
        rec.has_time = true;
        continue;
      }
    }
    re2::StringPiece sev, when, pid, source, message;
    if (RE2::FullMatch(re2::StringPiece(line.data(), line.size()), klog_, &sev, &when, &pid, &source, &message)) {
      KlogEvent next;
      next.active = true;
      next.severity.assign(sev.data(), sev.size());
      next.pid.assign(pid.data(), pid.size());
      next.source.assign(source.data(), source.size());
      next.message.assign(message.data(), message.size());
      next.time_ns = klogTime(std::string_view(when.data(), when.size()));
      next.from_seq = seq;
      if (state == nullptr) {
        rec.record = klogRecord(next, arena);
        rec.time_ns = next.time_ns;
        rec.has_time = true;
        continue;
      }
      // This line starts an event; the one before it (if any) is now complete.
      if (state->klog.active) {
        rec.record = klogRecord(state->klog, arena);
        rec.time_ns = state->klog.time_ns;
        rec.has_time = true;
      } else {
        rec.held = true;
      }
      state->klog = std::move(next);
      continue;
    }
    if (klog_pending) {
      state->klog.message += '\n';
      state->klog.message.append(line);
      rec.held = true;
      continue;
    }
    Member* m = arena.allocArray<Member>(4);
    m[0] = Member{"log", Value::string(line)};
    rec.record = Value::object(m, 1, true);
  }
  if (state != nullptr) state->updateHeld();
  repairs_.publish(repairs);
}

bool KubernetesParser::flush(ParserState& state, Arena& arena, ParsedRecord& out) const {
  auto& s = static_cast<KubernetesState&>(state);
  out = ParsedRecord{};
  bool done = false;
  if (s.klog.active) {
    out.record = klogRecord(s.klog, arena);
    out.time_ns = s.klog.time_ns;
    out.has_time = true;
    s.klog = KlogEvent{};
    done = true;
  } else if (auto joined = s.joiner.flushOldest(arena)) {
    out.record = containerRecord(joined->message, joined->stream, arena);
    out.time_ns = joined->time_ns;
    out.has_time = joined->time_ns != 0;
    done = true;
  }
  s.updateHeld();
  return done;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<KubernetesParser>(
      PluginKind::Parser, "kubernetes",
      "Node logs: CRI, Docker json-file or klog, detected per line; container lines give log and stream.",
      kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_kubernetes
