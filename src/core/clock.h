// SPDX-License-Identifier: Apache-2.0
#pragma once

// Time as code that stamps and waits sees it, in the manner of LevelDB's Env: the buffer's
// flush threads (chunk ages, retry schedules, timekeys) ask a Clock instead of the system, so
// that a test can hold time still, move it by exactly what it needs, and know when the
// threads have acted on it (ManualClock::awaitWaiters) instead of sleeping and hoping.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace sluice {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time in nanoseconds since the epoch (what nowNs() returns for the system clock).
  virtual int64_t nowNs() = 0;
  // Waits on `cv` (its mutex held in `lock`) until notified or until nowNs() reaches
  // `deadline_ns`. May return early; callers look again, as after any condition wait.
  virtual void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         int64_t deadline_ns) = 0;

  // The system's clock: nowNs() and a timed wait. Shared by every thread.
  static Clock& system();
};

// A clock that moves only when a test says so. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ns) : now_(start_ns) {}

  int64_t nowNs() override;
  void waitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 int64_t deadline_ns) override;

  // Moves time forward by `ns` and wakes every thread waiting on this clock.
  void advance(int64_t ns);
  // Blocks until `threads` threads wait on this clock for a deadline still ahead (they have
  // acted on the time as it is and gone idle), or until `timeout_s` seconds of real time
  // passed. Returns whether they did.
  bool awaitWaiters(size_t threads, double timeout_s = 60);

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int64_t now_;
  std::vector<std::condition_variable*> waiting_;  // one entry per waiting thread
};

}  // namespace sluice
