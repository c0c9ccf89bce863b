// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace sluice {

// A read buffer that splits what it reads into lines with memchr, without copying them.
// Lines are views into the buffer, valid until the next fill() or compact(). The buffer keeps
// kJsonPadding zero bytes past its data, so every line may be parsed as "padded" JSON.
// Lines longer than `max_line_size` are skipped up to their newline, and counted.
// Not thread-safe: one reader.
class LineBuffer {
 public:
  explicit LineBuffer(size_t read_size = 256 * 1024, size_t max_line_size = 16 * 1024 * 1024);

  // Reads once from `fd`. Returns bytes read, 0 at EOF, -1 on error (errno set).
  ssize_t fill(int fd);
  // Appends up to `max_lines` complete lines (without "\n" or "\r\n") to `out`.
  size_t takeLines(std::vector<std::string_view>& out, size_t max_lines);
  // The unterminated rest (at EOF), consumed.
  std::string_view takeRest();
  // Moves the unconsumed tail to the front. Invalidates line views.
  void compact();

  size_t skippedLongLines() const { return skipped_long_lines_; }
  size_t buffered() const { return end_ - start_; }

 private:
  void grow(size_t min_free);

  std::unique_ptr<char[]> data_;
  size_t capacity_;  // usable bytes, without the padding
  size_t read_size_;
  size_t max_line_size_;
  size_t start_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last byte read
  size_t scan_ = 0;   // where to resume looking for '\n'
  bool discarding_ = false;  // inside a line longer than max_line_size
  size_t skipped_long_lines_ = 0;
};

}  // namespace sluice
