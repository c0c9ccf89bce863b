// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace sluice::plugins::in_tail {

// A file's identity beyond its inode (inodes are reused): a hash of its first bytes, up to
// kFingerprintBytes. A fingerprint of 0 bytes (an empty file) matches nothing.
struct Fingerprint {
  static constexpr uint32_t kBytes = 256;
  uint32_t len = 0;
  uint64_t hash = 0;
  bool empty() const { return len == 0; }
  bool operator==(const Fingerprint&) const = default;
};
// FNV-1a of `n` bytes.
uint64_t fingerprintHash(const char* p, size_t n);

// The tail position file, in Fluentd's format: one line per file,
// `path<TAB>offset as 16 hex digits<TAB>inode as 16 hex digits`, so a node moving from
// Fluentd resumes where Fluentd stopped. sluice adds a fourth column, the file's fingerprint
// (`<length hex>:<hash 16 hex>`), which Fluentd's reader ignores (its pattern is not anchored
// at the end), and may record several files for one path: the rotated files still being read
// first, the file at the path last (Fluentd keeps the last line of a path). A path holding a
// newline (a file name anyone may choose) is written with '%' and newlines percent-encoded and
// `:p` after the fingerprint, so it cannot break its line or forge another. sluice rewrites the
// whole file (to a temporary, then fdatasync and rename): a crash or SIGKILL never leaves it
// torn. Entries of files no longer watched are dropped at each write (Fluentd's compaction,
// always on).
// Not thread-safe: owned by the tail thread.
class PosFile {
 public:
  struct Entry {
    std::string path;
    uint64_t offset = 0;
    uint64_t inode = 0;
    Fingerprint fp;
    bool operator==(const Entry&) const = default;
  };

  explicit PosFile(std::string path) : path_(std::move(path)) {}

  // Whether the file can be written: its folder (or the nearest existing ancestor, as write()
  // creates the missing ones) is a writable directory. Called at configuration time (also by
  // --dry-run): an error names the folder and why.
  static Status checkWritable(const std::string& path);

  // Reads the file. Unparsable lines and Fluentd's unwatched markers (offset ffffffffffffffff)
  // are skipped; a later line for the same path and inode wins (at the place of the first).
  Status load();
  const std::vector<Entry>& loaded() const { return loaded_; }

  // The current entries of `path`, oldest file first (replaces what set() was given before).
  void set(const std::string& path, std::vector<Entry> chain);
  void remove(const std::string& path);
  bool dirty() const { return dirty_; }
  Status write();

  static std::string format(const std::vector<Entry>& entries);
  static std::vector<Entry> parse(std::string_view text);

 private:
  std::string path_;
  std::vector<Entry> loaded_;
  std::map<std::string, std::vector<Entry>> current_;
  bool dirty_ = false;
};

}  // namespace sluice::plugins::in_tail
