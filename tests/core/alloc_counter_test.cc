// SPDX-License-Identifier: Apache-2.0
// The allocation counter's positive controls: the zero-allocation tests elsewhere mean
// something only if the counter sees each kind of allocation the code under test can make.

#include "support/alloc_counter.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <thread>
#include <vector>

#include "codec/codec.h"

namespace sluice::testing {
namespace {

void* volatile g_sink;  // keeps the compiler from eliding an allocation and its release

struct alignas(64) Wide {
  char bytes[64];
};

TEST(AllocationCounterTest, SeesEveryKindOfAllocation) {
  {
    AllocationCounter none;
    int x = 0;
    for (int i = 0; i < 100; ++i) x += i;
    g_sink = &x;
    EXPECT_EQ(none.count(), 0u);
  }
  AllocationCounter c;
  int* one = new int(1);
  g_sink = one;
  delete one;
  EXPECT_EQ(c.count(), 1u);
  Wide* wide = new Wide;  // aligned new
  g_sink = wide;
  delete wide;
  EXPECT_EQ(c.count(), 2u);
  auto* arr = new (std::nothrow) int[8];
  g_sink = arr;
  delete[] arr;
  EXPECT_EQ(c.count(), 3u);
  if (!AllocationCounter::countsMalloc()) GTEST_SKIP() << "malloc is the sanitizer's in this build";
  void* m = std::malloc(32);
  g_sink = m;
  m = std::realloc(m, 4096);
  g_sink = m;
  std::free(m);
  void* aligned = nullptr;
  ASSERT_EQ(posix_memalign(&aligned, 64, 128), 0);
  g_sink = aligned;
  std::free(aligned);
  EXPECT_EQ(c.count(), 6u);
  // A C library's own allocations (zlib's deflate state).
  const uint64_t before = c.count();
  auto z = codec::compress(codec::Compression::Gzip, std::string(1000, 'x'));
  ASSERT_TRUE(z.isOk());
  EXPECT_GE(c.count(), before + 2);  // the output string and zlib's state at least
}

TEST(AllocationCounterTest, OtherThreadsCountOnlyWhenAsked) {
  AllocationCounter mine;
  AllocationCounter all(AllocationCounter::Scope::AllThreads);
  std::thread t([] {
    for (int i = 0; i < 10; ++i) {
      int* p = new int(i);
      g_sink = p;
      delete p;
    }
  });
  t.join();
  // This thread allocated only to start the other one (its state object).
  EXPECT_LT(mine.count(), 10u);
  EXPECT_GE(all.count(), mine.count() + 10);
}

// Growth is seen: a buffer warmed on small input allocates again for larger input, which a
// test measuring with the very records it warmed up on would never notice.
TEST(AllocationCounterTest, GrowthAfterWarmUpIsCounted) {
  std::vector<char> buf;
  buf.reserve(16);
  AllocationCounter c;
  buf.assign(16, 'a');
  EXPECT_EQ(c.count(), 0u);
  buf.assign(4096, 'b');
  EXPECT_GE(c.count(), 1u);
}

}  // namespace
}  // namespace sluice::testing
