// SPDX-License-Identifier: Apache-2.0
#include "core/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/time.h"

namespace sluice {
namespace {

TEST(ClockTest, SystemClockReadsTheSystemsTime) {
  const int64_t before = nowNs();
  const int64_t t = Clock::system().nowNs();
  EXPECT_GE(t, before);
  EXPECT_LE(t, nowNs());
}

TEST(ClockTest, ManualClockWaitsUntilAdvancedPastTheDeadline) {
  ManualClock clock(1000);
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (clock.nowNs() < 5000) clock.waitUntil(cv, lock, 5000);
    done = true;
  });
  ASSERT_TRUE(clock.awaitWaiters(1));
  clock.advance(3000);  // 4000: not yet
  ASSERT_TRUE(clock.awaitWaiters(1));
  EXPECT_FALSE(done.load());
  clock.advance(1000);  // 5000: due
  waiter.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(clock.nowNs(), 5000);
}

TEST(ClockTest, AwaitWaitersTimesOutWhenNobodyWaits) {
  ManualClock clock(0);
  EXPECT_FALSE(clock.awaitWaiters(1, 0.05));
}

}  // namespace
}  // namespace sluice
