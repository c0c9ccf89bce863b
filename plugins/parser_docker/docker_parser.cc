// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_docker/docker_parser.h"

namespace sluice::plugins::parser_docker {
namespace {

const std::array<Param<DockerConfig>, 2> kParams = {{
    {"keep_time_key", &DockerConfig::keep_time_key, "false", "Keep the entry's `time` field."},
    {"max_partial_size", &DockerConfig::max_partial_size, "1m", "Joined fragments longer than this are emitted in pieces."},
}};

struct DockerState : ParserState {
  explicit DockerState(size_t max) : joiner(max) {}
  PartialJoiner joiner;
};

}  // namespace

Result<std::unique_ptr<DockerParser>> DockerParser::create(const DockerConfig& config, PluginContext& ctx) {
  return std::unique_ptr<DockerParser>(new DockerParser(config, ctx.metrics()));
}

ParserStatePtr DockerParser::newState() const {
  return std::make_unique<DockerState>(config_.max_partial_size.bytes);
}

void DockerParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  auto* state = static_cast<DockerState*>(in.state);
  JsonRepairs repairs;
  for (size_t i = 0; i < in.lines.size(); ++i) {
    ParsedRecord& rec = out[i];
    auto d = parseDockerLine(in.lines[i], in.padded, arena, &repairs);
    if (!d) {
      rec.error = "not a Docker json-file entry";
      continue;
    }
    std::string_view log = d->log;
    int64_t time_ns = d->time_ns;
    bool has_time = d->has_time;
    if (state != nullptr) {
      auto joined = state->joiner.add(d->stream, d->log, d->time_ns, !d->partial, in.first_seq + i, arena);
      if (!joined) {
        rec.held = true;
        continue;
      }
      log = joined->message;
      time_ns = joined->time_ns;
    }
    Value record = d->record;
    record.setMember("log", Value::string(log), arena);
    if (!config_.keep_time_key) record.removeMember("time");
    rec.record = record;
    rec.time_ns = time_ns;
    rec.has_time = has_time;
  }
  if (state != nullptr) setHeld(*state, state->joiner.heldFrom());
  repairs_.publish(repairs);
}

bool DockerParser::flush(ParserState& state, Arena& arena, ParsedRecord& out) const {
  auto& s = static_cast<DockerState&>(state);
  auto joined = s.joiner.flushOldest(arena);
  setHeld(s, s.joiner.heldFrom());
  if (!joined) return false;
  out = ParsedRecord{};
  out.record = Value::emptyObject();
  out.record.setMember("log", Value::string(joined->message), arena);
  out.record.setMember("stream", Value::string(joined->stream), arena);
  out.time_ns = joined->time_ns;
  out.has_time = joined->time_ns != 0;
  return true;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<DockerParser>(
      PluginKind::Parser, "docker",
      "Docker json-file entries; joins lines Docker split at 16 KiB and strips the final newline.",
      kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_docker
