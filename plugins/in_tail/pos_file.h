// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace sluice::plugins::in_tail {

// The tail position file, in Fluentd's format: one line per file,
// `path<TAB>offset as 16 hex digits<TAB>inode as 16 hex digits`, so a node moving from
// Fluentd resumes where Fluentd stopped. sluice rewrites the whole file (to a temporary, then
// fdatasync and rename): a crash or SIGKILL never leaves it torn. Entries of files no longer
// watched are dropped at each write (Fluentd's compaction, always on).
// Not thread-safe: owned by the tail thread.
class PosFile {
 public:
  struct Entry {
    std::string path;
    uint64_t offset = 0;
    uint64_t inode = 0;
  };

  explicit PosFile(std::string path) : path_(std::move(path)) {}

  // Reads the file. Unparsable lines and Fluentd's unwatched markers (offset ffffffffffffffff)
  // are skipped; a later line for the same path and inode wins.
  Status load();
  const std::vector<Entry>& loaded() const { return loaded_; }

  // The current entries (replaces what set() was given before for `path`).
  void set(const std::string& path, uint64_t offset, uint64_t inode);
  void remove(const std::string& path);
  bool dirty() const { return dirty_; }
  Status write();

  static std::string format(const std::vector<Entry>& entries);
  static std::vector<Entry> parse(std::string_view text);

 private:
  std::string path_;
  std::vector<Entry> loaded_;
  std::map<std::string, Entry> current_;
  bool dirty_ = false;
};

}  // namespace sluice::plugins::in_tail
