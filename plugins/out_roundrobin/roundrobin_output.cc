// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_roundrobin/roundrobin_output.h"

#include <algorithm>
#include <numeric>

namespace sluice::plugins::out_roundrobin {
namespace {

const std::array<Param<RoundRobinConfig>, 0> kParams = {};
const std::array<Param<StoreConfig>, 1> kStoreParams = {{
    {"weight", &StoreConfig::weight, "1", "How many turns of the rotation this store takes (relative to the others)."},
}};

}  // namespace

Result<std::unique_ptr<RoundRobinOutput>> RoundRobinOutput::create(const RoundRobinConfig&, PluginContext& ctx) {
  auto sections = ctx.element().children("store");
  if (sections.empty()) return Status::invalidConfig("roundrobin needs at least one <store>");
  std::vector<std::pair<EventSink*, int64_t>> stores;
  int64_t gcd = 0;
  for (const config::Element* section : sections) {
    StoreConfig sc;
    Status s = ctx.bind(std::span<const Param<StoreConfig>>(kStoreParams), *section, sc);
    if (!s) return s;
    if (sc.weight < 0 || sc.weight > 1000) {
      return Status::invalidConfig(section->where.str() + ": <store> weight must be between 0 and 1000, not " +
                                   std::to_string(sc.weight));
    }
    auto sink = ctx.createStore(*section);
    if (!sink) return sink.takeStatus();
    stores.emplace_back(sink->sink, sc.weight);  // one store per batch: nothing to copy
    gcd = std::gcd(gcd, sc.weight);
  }
  if (gcd == 0) return Status::invalidConfig("roundrobin: every <store> has weight 0");
  std::vector<EventSink*> rotation;
  bool weighted = false;
  for (const auto& [sink, weight] : stores) {
    weighted |= weight > 1;
    for (int64_t i = 0; i < weight / gcd; ++i) rotation.push_back(sink);
  }
  if (weighted) {
    std::mt19937_64 rng(std::random_device{}());
    std::shuffle(rotation.begin(), rotation.end(), rng);
  }
  return std::unique_ptr<RoundRobinOutput>(new RoundRobinOutput(std::move(rotation)));
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<RoundRobinOutput>(
      PluginKind::Output, "roundrobin", "Sends each batch to the next <store> in turn (weighted).", kParams,
      {{"store", "An output (any @type) taking its turns.", describeParams(std::span<const Param<StoreConfig>>(kStoreParams))}})
      .inPipelineOnly();
  return kDescriptor;
}

}  // namespace sluice::plugins::out_roundrobin
