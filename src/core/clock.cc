// SPDX-License-Identifier: Apache-2.0
#include "core/clock.h"

#include <algorithm>
#include <chrono>

#include "core/time.h"

namespace sluice {
namespace {

class SystemClock final : public Clock {
 public:
  int64_t nowNs() override { return sluice::nowNs(); }
  void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, int64_t deadline_ns) override {
    const int64_t wait = std::max<int64_t>(deadline_ns - sluice::nowNs(), 0);
    cv.wait_for(lock, std::chrono::nanoseconds(wait));
  }
};

}  // namespace

Clock& Clock::system() {
  static SystemClock clock;
  return clock;
}

int64_t ManualClock::nowNs() {
  std::lock_guard<std::mutex> g(mu_);
  return now_;
}

void ManualClock::waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, int64_t deadline_ns) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (now_ >= deadline_ns) return;
    waiting_.push_back(&cv);
  }
  changed_.notify_all();
  // advance() notifies `cv` without the caller's mutex, so a notification can fall between the
  // registration above and the wait below; the short real-time wait bounds that to 5 ms.
  cv.wait_for(lock, std::chrono::milliseconds(5));
  std::lock_guard<std::mutex> g(mu_);
  auto it = std::find(waiting_.begin(), waiting_.end(), &cv);
  if (it != waiting_.end()) waiting_.erase(it);
}

void ManualClock::advance(int64_t ns) {
  std::vector<std::condition_variable*> woken;
  {
    std::lock_guard<std::mutex> g(mu_);
    now_ += ns;
    woken.swap(waiting_);  // they are busy until they wait again
  }
  for (std::condition_variable* cv : woken) cv->notify_all();
}

bool ManualClock::awaitWaiters(size_t threads, double timeout_s) {
  std::unique_lock<std::mutex> g(mu_);
  return changed_.wait_for(g, std::chrono::duration<double>(timeout_s), [&] { return waiting_.size() >= threads; });
}

}  // namespace sluice
