// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the tail input knows of a file and of a watched path (`Watcher`, `Target`, and the
// `KnownFile`s and `Sibling`s rotation is recognised by), and the filesystem helpers the rest
// of the tail uses: names, natural order of rotated names, first-byte fingerprints, listing a
// file's rotated siblings. Everything here belongs to one tail input's thread; only the two
// descriptor counters are shared by all tail inputs of the process (atomics).

#include <sys/types.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plugins/in_tail/pos_file.h"

namespace sluice::plugins::in_tail {

// Descriptors held by every tail input of the process, and how many they may hold (set by the
// first tail run from RLIMIT_NOFILE and the descriptors already open). Beyond it, files are
// read in turns: read to the end, closed, reopened from their position later.
extern std::atomic<int> g_open_files;
extern std::atomic<int> g_file_budget;

// One file: the current one at a path, or a rotated one still being drained. It may be closed
// (fd < 0 and no gz) while other files use the descriptors; `name` and `open_ino` find it again.
struct Watcher {
  int fd = -1;
  gzFile gz = nullptr;         // a compressed rotation, read through zlib (offsets uncompressed)
  uint64_t dev = 0;
  uint64_t ino = 0;            // identity: the pos_file's inode and the events' origin
  uint64_t open_ino = 0;       // the inode of the file read (a .gz has its own)
  std::string name;            // where the file was last seen (symlinks resolved)
  Fingerprint fp;              // hash of its first bytes
  uint64_t size_seen = 0;      // its size when last looked at (for loss accounting)
  int64_t last_used_ns = 0;    // for choosing which open file to close
  int64_t closed_at_ns = 0;    // when it was closed to free a descriptor
  uint64_t read_offset = 0;    // where the next read() starts
  uint64_t commit_offset = 0;  // everything before it was accepted downstream
  std::string pending;         // bytes after the last complete line (a partial line)
  ParserStatePtr state;
  uint64_t next_seq = 0;
  uint64_t held_offset = 0;    // offset of the first line the parser holds
  int64_t rotated_at_ns = 0;   // 0 while it is the file at the path
  bool at_eof = false;
  bool discarding = false;     // inside a line longer than max_line_size
  bool gone = false;           // deleted while closed, before it was read to the end
  int64_t retry_at_ns = 0;     // after a batch was not accepted
  int64_t budget_window_ns = 0;
  uint64_t budget_used = 0;
  std::string real_dir;        // directory the file lives in (after symlinks)
  // Batches accepted downstream whose delivery is not yet confirmed (a memory buffer holds
  // them): the offset is recorded once every chunk holding the batch's events let go of the
  // token (this thread then holds its last reference).
  std::deque<std::pair<std::shared_ptr<void>, uint64_t>> unacked;

  bool isOpen() const { return fd >= 0 || gz != nullptr; }
  void closeFile() {
    if (gz != nullptr) {
      ::gzclose(gz);  // closes its descriptor
      gz = nullptr;
      fd = -1;
      g_open_files.fetch_sub(1);
    } else if (fd >= 0) {
      ::close(fd);
      fd = -1;
      g_open_files.fetch_sub(1);
    }
  }
  ~Watcher() { closeFile(); }
};

// A file seen at or beside a path (its rotations): not read again when found beside it later.
struct KnownFile {
  uint64_t dev = 0;
  uint64_t ino = 0;
  Fingerprint fp;
};

// A rotated sibling of a file in its folder: `0.log.<suffix>`, possibly gzipped.
struct Sibling {
  std::string path;
  std::string sort_name;  // the name without ".gz"
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  bool gz = false;
};

// A watched path and the files it has pointed to: front() is read, back() is at the path.
struct Target {
  std::string path;
  std::string tag;
  std::deque<std::unique_ptr<Watcher>> chain;
  int wd = -1;
  bool dirty = true;
  bool check = true;   // stat the path (rotation, truncation)
  bool matched = true; // still matches the globs
  std::string real_base;           // the file name the path resolves to (0.log)
  std::deque<KnownFile> known;     // files seen at the path or beside it
  // Its <group> (an index into TailRun::groups_; kNoGroup: not limited) and the lines it read
  // in the group's current window (`group_epoch`).
  size_t group = SIZE_MAX;
  uint64_t group_used = 0;
  uint64_t group_epoch = 0;
};

std::string dirOf(const std::string& path);
std::string baseOf(const std::string& path);
// The path with its symlinks resolved (the path itself when it cannot be resolved).
std::string realPathOf(const std::string& path);
bool endsWith(std::string_view s, std::string_view suffix);
// Names compared with digit runs as numbers: 0.log.999 < 0.log.1000, and the kubelet's
// 0.log.20261122-010000 sorts by time.
bool naturalLess(std::string_view a, std::string_view b);
// The first bytes of a file, up to Fingerprint::kBytes, into `out`: of an open descriptor (read
// with pread, the offset unmoved), of a path, or decompressed from a gzip file.
size_t readPrefix(int fd, char* out);
size_t readPathPrefix(const std::string& path, char* out);
size_t readGzPrefix(const std::string& path, char* out);
Fingerprint fingerprintOf(const char* data, size_t n);
// Whether bytes begin as the file `fp` was taken from did (an empty fingerprint: unknown, true).
bool prefixMatches(const char* data, size_t n, const Fingerprint& fp);
// Rotated siblings of `base` in `dir` (`base.<suffix>`, not the kubelet's `.tmp` files being
// compressed), oldest first by name.
std::vector<Sibling> listSiblings(const std::string& dir, const std::string& base);
// Descriptors the process holds now (/proc/self/fd).
int countOpenDescriptors();
// The deepest directory of a glob without glob characters (or strftime placeholders).
std::string globRoot(const std::string& pattern);

}  // namespace sluice::plugins::in_tail
