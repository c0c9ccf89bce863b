// SPDX-License-Identifier: Apache-2.0
#include "core/arena.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "core/status.h"

namespace sluice {

namespace {
constexpr size_t kMaxBlockGrowth = 4 * 1024 * 1024;
}

void* Arena::allocateSlow(size_t size, size_t align) {
  size_t want = std::max(next_block_size_, size + align);
  blocks_.push_back(Block{std::unique_ptr<char[]>(new char[want]), want});
  reserved_ += want;
  next_block_size_ = std::min(next_block_size_ * 2, std::max(kMaxBlockGrowth, next_block_size_));
  ptr_ = blocks_.back().data.get();
  end_ = ptr_ + want;
  return allocate(size, align);
}

void Arena::reset() {
  if (blocks_.empty()) return;
  if (blocks_.size() > 1) {
    auto largest = std::max_element(blocks_.begin(), blocks_.end(),
                                    [](const Block& a, const Block& b) { return a.size < b.size; });
    Block keep = std::move(*largest);
    blocks_.clear();
    blocks_.push_back(std::move(keep));
    reserved_ = blocks_.back().size;
  }
  ptr_ = blocks_.back().data.get();
  end_ = ptr_ + blocks_.back().size;
}

std::string_view codeName(Code code) {
  switch (code) {
    case Code::Ok: return "ok";
    case Code::InvalidConfig: return "invalid_config";
    case Code::NotFound: return "not_found";
    case Code::IoError: return "io_error";
    case Code::Corruption: return "corruption";
    case Code::Unavailable: return "unavailable";
    case Code::Rejected: return "rejected";
    case Code::Internal: return "internal";
  }
  return "unknown";
}

void checkFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "sluice: check failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace sluice
