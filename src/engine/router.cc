// SPDX-License-Identifier: Apache-2.0
// The router: an Agent's routes, computed once per tag, run on the emitting input's thread (see
// engine/router.h).
#include "engine/router.h"

#include <algorithm>

#include "engine/pipeline.h"

namespace sluice::engine {

std::shared_ptr<const Agent::Route> Agent::routeFor(std::string_view tag) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = routes_.find(tag);
  if (it != routes_.end()) return it->second;
  auto route = std::make_shared<Route>();
  for (const Entry& e : entries_) {
    if (!e.pattern.matches(tag)) continue;
    if (e.is_filter) {
      route->filters.push_back(e.filter);
    } else {
      route->output = e.output;
      break;
    }
  }
  if (routes_.size() > 65536) routes_.clear();  // Bounded: tags may carry file paths.
  routes_.emplace(std::string(tag), route);
  return route;
}

Status Agent::emitRun(Batch& batch, std::string_view tag) {
  const std::shared_ptr<const Route> route = routeFor(tag);
  for (FilterStage* fs : route->filters) {
    size_t before = batch.size();
    fs->filter->process(batch);
    size_t after = batch.size();
    fs->received->add(before);
    fs->sent->add(after);
    if (before > after) fs->discarded->add(before - after - std::min(before - after, batch.errors().size()));
    if (!batch.errors().empty()) pipeline_.emitErrors(batch, fs->instance->id);
    if (TapHub* tap = pipeline_.tap(); tap != nullptr && tap->active()) {
      tap->offer(fs->instance->id, false, batch, pipeline_.redactors());
    }
    if (batch.empty()) return Status::ok();
  }
  if (route->output != nullptr) return route->output->emit(batch);
  pipeline_.countUnmatched(tag, batch.size());
  return Status::ok();
}

Status Agent::emit(Batch& batch) {
  auto& events = batch.events();
  if (events.empty()) return Status::ok();
  std::string_view tag = events[0].tag;
  bool same = true;
  for (const Event& e : events) {
    if (e.tag.data() != tag.data() && e.tag != tag) {
      same = false;
      break;
    }
  }
  if (same) return emitRun(batch, tag);
  // Mixed tags: route each run of equal tags separately, keeping order within a tag.
  Status result;
  size_t i = 0;
  while (i < events.size()) {
    size_t j = i + 1;
    while (j < events.size() && events[j].tag == events[i].tag) ++j;
    Batch run;
    run.setAck(batch.ack());
    run.events().assign(events.begin() + i, events.begin() + j);
    Status s = emitRun(run, events[i].tag);
    if (!s && result) result = s;
    i = j;
  }
  return result;
}

}  // namespace sluice::engine
