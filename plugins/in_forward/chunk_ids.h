// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/plugin_api.h"

namespace sluice::plugins::in_forward {

// The chunk ids in_forward accepted last: a chunk sent again (its ack was lost, or the sender
// restarted before it saw the ack) is acknowledged again without being emitted twice. Holds at
// most `capacity` ids (the oldest are forgotten). With a file, every id is appended to it
// before the ack is sent and the file is read back at start, so the memory survives a restart
// (and a SIGKILL: the page cache keeps what was written); the file is rewritten with the
// newest ids when it holds twice the capacity. Used by the input's thread only.
class ChunkIdMemory {
 public:
  explicit ChunkIdMemory(size_t capacity) : capacity_(capacity) {}
  ~ChunkIdMemory();
  // Reads `path` (if it exists) and appends to it from now on.
  Status open(const std::string& path);
  bool contains(std::string_view id) const { return ids_.count(std::string(id)) != 0; }
  void add(std::string_view id);
  size_t size() const { return order_.size(); }

 private:
  void rewrite();

  const size_t capacity_;
  std::deque<std::string> order_;
  std::unordered_set<std::string> ids_;
  std::string path_;
  int fd_ = -1;
  size_t lines_in_file_ = 0;
};

}  // namespace sluice::plugins::in_forward
