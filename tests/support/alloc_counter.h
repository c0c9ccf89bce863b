// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>

namespace sluice::testing {

// Counts heap allocations made by this thread while an AllocationCounter is alive
// (a counting global operator new lives in alloc_counter.cc).
class AllocationCounter {
 public:
  AllocationCounter();
  ~AllocationCounter();
  uint64_t count() const;
};

}  // namespace sluice::testing
