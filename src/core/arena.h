// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace sluice {

// A bump allocator. Blocks grow geometrically up to a cap; addresses stay valid until reset()
// or destruction. reset() keeps the largest block, so a warm arena allocates nothing.
// Not thread-safe: one arena belongs to one batch on one thread.
class Arena {
 public:
  explicit Arena(size_t first_block_size = 16 * 1024) : next_block_size_(first_block_size) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&&) noexcept = default;
  Arena& operator=(Arena&&) noexcept = default;

  void* allocate(size_t size, size_t align = alignof(std::max_align_t)) {
    uintptr_t p = (reinterpret_cast<uintptr_t>(ptr_) + align - 1) & ~(uintptr_t(align) - 1);
    if (ptr_ == nullptr || p + size > reinterpret_cast<uintptr_t>(end_)) {
      return allocateSlow(size, align);
    }
    ptr_ = reinterpret_cast<char*>(p + size);
    return reinterpret_cast<void*>(p);
  }

  template <class T>
  T* allocArray(size_t n) {
    return static_cast<T*>(allocate(sizeof(T) * (n ? n : 1), alignof(T)));
  }

  // Copies `s` into the arena; the result lives as long as the arena.
  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = static_cast<char*>(allocate(s.size(), 1));
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  // Frees everything allocated so far; keeps the largest block for reuse.
  void reset();

  size_t bytesReserved() const { return reserved_; }

 private:
  void* allocateSlow(size_t size, size_t align);

  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  std::vector<Block> blocks_;
  char* ptr_ = nullptr;
  char* end_ = nullptr;
  size_t next_block_size_;
  size_t reserved_ = 0;
};

}  // namespace sluice
