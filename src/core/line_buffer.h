// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
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

  // Reads once from `fd`, at most `max_bytes` (and the buffer's read size). Returns bytes
  // read, 0 at EOF, -1 on error (errno set).
  ssize_t fill(int fd, size_t max_bytes = SIZE_MAX);
  // Appends up to `max_lines` complete lines (without "\n" or "\r\n") to `out`.
  size_t takeLines(std::vector<std::string_view>& out, size_t max_lines);
  // The unterminated rest (at EOF), consumed.
  std::string_view takeRest();
  // Moves the unconsumed tail to the front and returns how many bytes were dropped from the
  // front. Invalidates line views.
  size_t compact();
  // Empties the buffer (keeps its memory); the next byte read is at stream offset `offset`.
  void clear(uint64_t offset = 0);
  // Appends bytes as if they had been read (a reader's saved partial line).
  void append(std::string_view bytes);
  // The unconsumed bytes (a partial line, or lines not yet taken).
  std::string_view unconsumed() const { return {data_.get() + start_, end_ - start_}; }
  // Offset in the buffer of the first unconsumed byte, and the buffer's first byte: a line's
  // position is line.data() - base().
  size_t consumed() const { return start_; }
  const char* base() const { return data_.get(); }
  bool discarding() const { return discarding_; }
  // Continues skipping an overlong line begun in an earlier read (a reader's saved state).
  void setDiscarding(bool d) { discarding_ = d; }
  // Stream offset of base()[0], and of the first unconsumed byte.
  uint64_t baseOffset() const { return base_offset_; }
  uint64_t consumedOffset() const { return base_offset_ + start_; }
  uint64_t offsetOf(const char* p) const { return base_offset_ + static_cast<uint64_t>(p - data_.get()); }

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
  uint64_t base_offset_ = 0;  // stream offset of data_[0]
};

}  // namespace sluice
