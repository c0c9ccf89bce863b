// SPDX-License-Identifier: Apache-2.0
#include "core/line_buffer.h"

#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "core/json.h"

namespace sluice {

LineBuffer::LineBuffer(size_t read_size, size_t max_line_size)
    : data_(new char[read_size * 2 + kJsonPadding]),
      capacity_(read_size * 2),
      read_size_(read_size),
      max_line_size_(max_line_size) {
  std::memset(data_.get(), 0, capacity_ + kJsonPadding);
}

void LineBuffer::grow(size_t min_free) {
  size_t want = capacity_;
  while (want - end_ < min_free) want *= 2;
  std::unique_ptr<char[]> bigger(new char[want + kJsonPadding]);
  std::memcpy(bigger.get(), data_.get(), end_);
  std::memset(bigger.get() + end_, 0, want + kJsonPadding - end_);
  data_ = std::move(bigger);
  capacity_ = want;
}

ssize_t LineBuffer::fill(int fd, size_t max_bytes) {
  if (capacity_ - end_ < read_size_) {
    compact();
    if (capacity_ - end_ < read_size_) {
      // One line fills the buffer: grow up to the line limit, else start skipping it.
      if (end_ - start_ >= max_line_size_) {
        discarding_ = true;
        base_offset_ += end_;
        start_ = scan_ = end_ = 0;
      } else {
        grow(read_size_);
      }
    }
  }
  ssize_t n;
  do {
    n = ::read(fd, data_.get() + end_, std::min(read_size_, max_bytes));
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    end_ += static_cast<size_t>(n);
    std::memset(data_.get() + end_, 0, kJsonPadding);
  }
  return n;
}

size_t LineBuffer::takeLines(std::vector<std::string_view>& out, size_t max_lines) {
  size_t taken = 0;
  char* base = data_.get();
  while (taken < max_lines && scan_ < end_) {
    void* nl = std::memchr(base + scan_, '\n', end_ - scan_);
    if (nl == nullptr) {
      scan_ = end_;
      break;
    }
    size_t pos = static_cast<char*>(nl) - base;
    if (discarding_) {
      discarding_ = false;
      ++skipped_long_lines_;
    } else {
      size_t len = pos - start_;
      if (len > max_line_size_) {
        ++skipped_long_lines_;
      } else {
        if (len > 0 && base[pos - 1] == '\r') --len;
        out.emplace_back(base + start_, len);
        ++taken;
      }
    }
    start_ = scan_ = pos + 1;
  }
  return taken;
}

std::string_view LineBuffer::takeRest() {
  if (discarding_) {
    discarding_ = false;
    ++skipped_long_lines_;
    start_ = scan_ = end_;
    return {};
  }
  std::string_view rest(data_.get() + start_, end_ - start_);
  start_ = scan_ = end_;
  return rest;
}

size_t LineBuffer::compact() {
  if (start_ == 0) return 0;
  size_t dropped = start_;
  base_offset_ += dropped;
  size_t n = end_ - start_;
  std::memmove(data_.get(), data_.get() + start_, n);
  scan_ -= start_;
  end_ = n;
  start_ = 0;
  std::memset(data_.get() + end_, 0, kJsonPadding);
  return dropped;
}

void LineBuffer::clear(uint64_t offset) {
  base_offset_ = offset;
  start_ = end_ = scan_ = 0;
  discarding_ = false;
  std::memset(data_.get(), 0, kJsonPadding);
}

void LineBuffer::append(std::string_view bytes) {
  if (capacity_ - end_ < bytes.size()) grow(bytes.size());
  std::memcpy(data_.get() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
  std::memset(data_.get() + end_, 0, kJsonPadding);
}

}  // namespace sluice
