// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

namespace sluice::testing {

// Counts heap allocations while an AllocationCounter is alive: every operator new (plain,
// array, nothrow, aligned) and, outside sanitizer builds (which bring their own allocator),
// every malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign — so zstd, zlib,
// OpenSSL and curl are seen too. The counting versions live in alloc_counter.cc and forward to
// glibc's allocator. ThisThread counts the constructing thread's allocations only; AllThreads
// counts every thread's (a pool or a flush thread working for the code under test).
// Counters nest: each counts from its own start.
class AllocationCounter {
 public:
  enum class Scope { ThisThread, AllThreads };
  explicit AllocationCounter(Scope scope = Scope::ThisThread);
  ~AllocationCounter();
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;
  uint64_t count() const;

  // Whether malloc and friends are counted in this build (false under ASan/TSan).
  static bool countsMalloc();

 private:
  Scope scope_;
  uint64_t start_;
  bool was_counting_;
};

}  // namespace sluice::testing
