// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_sample/sample_input.h"

#include <cmath>

namespace sluice::plugins::in_sample {
namespace {

const std::array<Param<SampleConfig>, 6> kParams = {{
    {"tag", &SampleConfig::tag, nullptr, "Tag of the events.", {}, kRequired},
    {"size", &SampleConfig::size, "1", "Events per emission."},
    {"rate", &SampleConfig::rate, "1", "Emissions per second."},
    {"auto_increment_key", &SampleConfig::auto_increment_key, nullptr, "Add this field with a counter starting at 0."},
    {"suspend", &SampleConfig::suspend, "false", "Fluentd resumes the counter across restarts; sluice restarts it.", {}, kIgnored},
    {"sample", &SampleConfig::sample, "[{\"message\":\"sample\"}]", "A JSON hash or an array of hashes to emit in turn.", {}, 0, "dummy"},
}};

}  // namespace

Result<std::unique_ptr<SampleInput>> SampleInput::create(const SampleConfig& config, PluginContext& ctx) {
  if (config.size < 1) return Status::invalidConfig("size must be at least 1");
  if (!(config.rate > 0)) return Status::invalidConfig("rate must be positive");
  auto arena = std::make_unique<Arena>();
  auto parsed = parseJson(config.sample, *arena);
  if (!parsed) return Status::invalidConfig("sample is not valid JSON: " + parsed.status().message());
  std::vector<Value> samples;
  if (parsed->isObject()) {
    samples.push_back(*parsed);
  } else if (parsed->isArray()) {
    for (const Value& v : parsed->items()) {
      if (!v.isObject()) return Status::invalidConfig("sample: every element must be a JSON hash");
      samples.push_back(v);
    }
  } else {
    return Status::invalidConfig("sample must be a JSON hash or an array of hashes");
  }
  if (samples.empty()) return Status::invalidConfig("sample is an empty array");
  auto input = std::unique_ptr<SampleInput>(new SampleInput(config, std::move(samples), std::move(arena)));
  input->log_ = ctx.log();
  return input;
}

SampleInput::SampleInput(const SampleConfig& config, std::vector<Value> samples,
                         std::unique_ptr<Arena> arena)
    : tag_(config.tag),
      size_(static_cast<size_t>(config.size)),
      rate_(config.rate),
      increment_key_(config.auto_increment_key),
      samples_(std::move(samples)),
      arena_(std::move(arena)) {}

Status SampleInput::run(EventSink& out, const StopToken& stop) {
  Batch batch;
  uint64_t emitted = 0;  // emissions so far
  uint64_t counter = 0;
  size_t next_sample = 0;
  const int64_t start = nowNs();
  while (!stop.stopRequested()) {
    // Emissions due by now; catch up in one batch when behind.
    int64_t elapsed = nowNs() - start;
    uint64_t due = static_cast<uint64_t>(std::floor(double(elapsed) / 1e9 * rate_)) + 1;
    if (due <= emitted) {
      double wait = (double(emitted) / rate_) - double(elapsed) / 1e9;
      if (!stop.sleepFor(wait)) break;
      continue;
    }
    uint64_t emissions = std::min<uint64_t>(due - emitted, 64);
    int64_t now = nowNs();
    for (uint64_t e = 0; e < emissions; ++e) {
      for (size_t i = 0; i < size_; ++i) {
        Value record = samples_[next_sample].deepCopy(batch.arena());
        next_sample = (next_sample + 1) % samples_.size();
        if (increment_key_) record.setMember(*increment_key_, Value::integer(int64_t(counter++)), batch.arena());
        batch.add(tag_, now, record);
      }
    }
    emitted += emissions;
    Status s = out.emit(batch);
    batch.clear();
    // A full buffer (overflow_action throw_exception) refuses these events and counts them;
    // the input goes on, as Fluentd's does: overload never stops the agent.
    if (!s) log_.error("Events not accepted downstream, dropped: " + s.message());
  }
  return Status::ok();
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = [] {
    PluginDescriptor d = makeDescriptor<SampleInput>(
        PluginKind::Input, "sample",
        "Emits the given records at a fixed rate (Fluentd's in_sample, formerly dummy).", kParams);
    d.aliases = {"dummy"};
    return d;
  }();
  return kDescriptor;
}

}  // namespace sluice::plugins::in_sample
