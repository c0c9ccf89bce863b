// SPDX-License-Identifier: Apache-2.0
#include "monitor/tap.h"

#include <algorithm>
#include <chrono>

#include "core/json.h"
#include "core/time.h"

namespace sluice {

namespace {
constexpr size_t kMaxQueued = 1000;  // lines waiting for a slow reader; more are skipped
}

TapHub::TapHub(MetricsRegistry& metrics) : metrics_(metrics) {
  sent_ = &metrics_.counter("sluice_tap_events_total", "Events copied to `sluice tap` readers.");
  skipped_ = &metrics_.counter("sluice_tap_skipped_events_total",
                               "Events at a tapped point not copied (over the tap's rate, or its reader is behind).");
  sessions_ = &metrics_.gauge("sluice_tap_sessions", "`sluice tap` readers connected.");
}

std::shared_ptr<TapHub::Subscription> TapHub::subscribe(Options options) {
  auto s = std::make_shared<Subscription>(std::move(options));
  s->refilled_ns_ = nowNs();
  std::lock_guard<std::mutex> lock(mu_);
  subs_.push_back(s);
  active_.store(static_cast<int>(subs_.size()), std::memory_order_relaxed);
  sessions_->set(double(subs_.size()));
  return s;
}

void TapHub::unsubscribe(const std::shared_ptr<Subscription>& s) {
  std::lock_guard<std::mutex> lock(mu_);
  subs_.erase(std::remove(subs_.begin(), subs_.end(), s), subs_.end());
  active_.store(static_cast<int>(subs_.size()), std::memory_order_relaxed);
  sessions_->set(double(subs_.size()));
}

void TapHub::offer(std::string_view point, bool at_output, const Batch& batch,
                   const std::vector<Filter*>& redactors) {
  if (batch.empty()) return;
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    subs = subs_;
  }
  for (const auto& s : subs) {
    const Options& o = s->options();
    bool by_id = !o.after.empty() && o.after == point;
    bool by_tag = o.tags && at_output;
    if (!by_id && !by_tag) continue;
    // Which events: those of matching tags, as many as the bucket allows, spread over the batch.
    std::vector<size_t> matching;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (by_id || o.tags->matches(batch.events()[i].tag)) matching.push_back(i);
    }
    if (matching.empty()) continue;
    size_t take = 0;
    {
      std::lock_guard<std::mutex> lock(s->mu_);
      int64_t now = nowNs();
      s->tokens_ = std::min(o.rate, s->tokens_ + o.rate * double(now - s->refilled_ns_) / 1e9);
      s->refilled_ns_ = now;
      take = std::min<size_t>(matching.size(), static_cast<size_t>(s->tokens_));
      take = std::min(take, kMaxQueued - std::min(kMaxQueued, s->lines_.size()));
      s->tokens_ -= double(take);
    }
    skipped_->add(matching.size() - take);
    if (take == 0) continue;
    // Independent copies (JSON text read back into the copy's arena), redacted as the pipeline's
    // redact filters would.
    Batch copy;
    std::deque<std::string> tags;
    for (size_t k = 0; k < take; ++k) {
      const Event& e = batch.events()[matching[k * matching.size() / take]];
      std::string text = toJson(e.record);
      auto record = parseJson(text, copy.arena());
      if (!record) continue;
      tags.emplace_back(e.tag);
      copy.add(tags.back(), e.time_ns, *record);
    }
    for (Filter* f : redactors) {
      if (copy.empty()) break;
      f->process(copy);
    }
    std::vector<std::string> lines;
    for (const Event& e : copy.events()) {
      std::string line = "{\"point\":";
      appendJsonString(line, point);
      line += ",\"tag\":";
      appendJsonString(line, e.tag);
      line += ",\"time\":\"";
      formatTime(line, e.time_ns, "%Y-%m-%dT%H:%M:%S.%N%:z", true);
      line += "\",\"record\":";
      appendJson(line, e.record);
      line += "}\n";
      lines.push_back(std::move(line));
    }
    sent_->add(lines.size());
    {
      std::lock_guard<std::mutex> lock(s->mu_);
      for (auto& l : lines) s->lines_.push_back(std::move(l));
    }
    s->cv_.notify_all();
  }
}

std::vector<std::string> TapHub::Subscription::take(int wait_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [&] { return !lines_.empty(); });
  std::vector<std::string> out(std::make_move_iterator(lines_.begin()), std::make_move_iterator(lines_.end()));
  lines_.clear();
  return out;
}

}  // namespace sluice
