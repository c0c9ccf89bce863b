// SPDX-License-Identifier: Apache-2.0
#pragma once

// The tail input's run: one `TailRun` per TailInput::run() call, living on the input's own
// thread for as long as the input runs; nothing in it is shared with another thread (the
// descriptor counters of tail_files.h aside). Its work is split over four files along the
// seams of what it does: tail_run.cc (the loop: waiting on inotify and timers, the pos_file,
// letting paths go), tail_discovery.cc (globs, symlink roots, finding and opening files,
// rotation and truncation, rotated siblings), tail_descriptors.cc (the descriptor budget:
// closing and reopening files when there are more files than descriptors) and tail_read.cc
// (reading, parsing, emitting batches and recording what was delivered).

#include <poll.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "plugins/in_tail/pos_file.h"
#include "plugins/in_tail/tail_files.h"
#include "plugins/in_tail/tail_input.h"

namespace sluice::plugins::in_tail {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kPosWriteIntervalNs = 200 * kMs;
constexpr size_t kReadSize = 256 * 1024;
constexpr size_t kMaxBytesPerService = 8 * 1024 * 1024;  // fairness between busy files
constexpr size_t kMaxKnownFiles = 256;                    // per path: files already seen
constexpr int64_t kCyclingReportNs = 30 * kNanosPerSecond;
// How long a stopping tail waits for its batches' delivery (the buffers flush meanwhile).
constexpr int64_t kStopDrainNs = 5 * kNanosPerSecond;

class TailRun {
 public:
  TailRun(const TailInput& input, EventSink& out, const StopToken& stop)
      : in_(input),
        cfg_(input.config()),
        out_(out),
        stop_(stop),
        clock_(input.clock()),
        buffer_(kReadSize, cfg_.max_line_size.bytes),
        parsed_(static_cast<size_t>(cfg_.read_lines_limit)),
        malformed_(input.log()) {
    if (const GroupRules* rules = input.groups()) {
      groups_.resize(rules->groupCount());
      for (size_t g = 0; g < groups_.size(); ++g) groups_[g].limit = rules->limitOf(g);
    }
    if (input.encoding().convert) {
      converter_ = std::make_unique<LineConverter>(input.encoding());
      converted_.reserve(static_cast<size_t>(cfg_.read_lines_limit));
    }
  }

  ~TailRun() {
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
  }

  Status run();

 private:
  // Setup and discovery.
  void setupInotify();
  void watchDir(const std::string& dir);
  void refresh(bool startup);
  std::set<std::string> expandGlobs();
  void addTarget(const std::string& path, bool startup);
  std::unique_ptr<Watcher> openWatcher(const std::string& path, Target& t);
  std::unique_ptr<Watcher> openRecorded(const PosFile::Entry& e, const std::vector<Sibling>& siblings);
  std::unique_ptr<Watcher> openSibling(const Sibling& s, const Fingerprint& expect, uint64_t offset);
  void addNewSiblings(Target& t, const std::vector<Sibling>& siblings, const std::string& after, bool before_last);
  void remember(Target& t, uint64_t dev, uint64_t ino, const Fingerprint& fp);
  bool isKnown(const Target& t, const Sibling& s, const char* data, size_t n) const;
  bool copiesKnown(const Target& t, const char* data, size_t n) const;
  void reportLost(const std::string& path, const std::string& file, uint64_t ino, uint64_t from, uint64_t to,
                  bool end_known);

  // Symlinks.
  void setupSymlinkRoots();
  bool allowedFile(const std::string& real) const;
  bool refuseOutside(const std::string& path, const std::string& real);

  // Descriptors.
  int openFd(const char* path, int flags);
  bool evictOne(const Watcher* keep);
  enum class Reopen { kOpened, kNothingNew, kGone, kNoDescriptor };
  Reopen reopen(Target& t, Watcher& w, int64_t now);
  void refreshFingerprint(Watcher& w, bool force = false);
  void reportCycling(int64_t now);

  // Reading.
  void service(Target& t, int64_t now);
  void checkPath(Target& t, int64_t now);
  bool readWatcher(Target& t, Watcher& w, int64_t now);
  ssize_t fillFrom(Watcher& w, size_t allowed);
  bool processLines(Target& t, Watcher& w);
  bool emit(Target& t, Watcher& w, uint64_t commit);
  // A line or joined event the parser rejected: logged, counted, and with emit_unmatched_lines
  // added to the batch as {"unmatched_line": text}.
  void unmatched(Target& t, const ParsedRecord& r, std::string_view line, uint64_t origin, int64_t now);
  void advanceAcks(Target& t, Watcher& w);
  // <group> limits: lines `t` may read now (SIZE_MAX: no limit; 0: wait until groupWindowEnd),
  // counting `n` lines read, and the group a new path joins / a dropped one leaves.
  size_t groupAllowance(Target& t, int64_t now);
  void groupRead(Target& t, size_t n, int64_t now);
  int64_t groupWindowEnd(const Target& t, int64_t now) const;
  void joinGroup(Target& t);
  void leaveGroup(Target& t);
  void rewind(Watcher& w, int64_t now);
  void flushHeld(Target& t, Watcher& w, bool force, int64_t now);

  // Waits until one of `fds` is ready or the clock reaches `deadline_ns` (poll()'s answer; 0
  // may come early: the loop looks at the time again).
  int pollUntil(struct pollfd* fds, nfds_t n, int64_t deadline_ns);

  // Events and bookkeeping.
  void drainInotify();
  void updatePos(Target& t);
  void maybeWritePos(int64_t now, bool force);
  void dropFinishedTargets();

  const TailInput& in_;
  const TailConfig& cfg_;
  EventSink& out_;
  const StopToken& stop_;
  Clock& clock_;  // every timer of the tail: rotate_wait, refresh_interval, ticks, flushes
  std::mutex wait_mu_;               // for waiting on a test's clock (pollUntil)
  std::condition_variable wait_cv_;
  int inotify_fd_ = -1;
  std::map<std::string, std::unique_ptr<Target>> targets_;
  std::unordered_map<int, std::vector<Target*>> file_wds_;
  std::unordered_map<int, std::string> dir_wds_;
  std::set<std::string> glob_roots_;
  bool rescan_ = false;
  std::unique_ptr<PosFile> pos_;
  std::vector<PosFile::Entry> saved_;  // from the pos_file, consumed as targets appear
  int64_t last_pos_write_ns_ = 0;
  int64_t next_refresh_ns_ = 0;
  int64_t next_tick_ns_ = 0;
  int64_t next_lag_ns_ = 0;  // the lag gauge is measured once a second
  LineBuffer buffer_;
  std::unique_ptr<char[]> gz_scratch_;  // decompressed bytes on their way into buffer_
  Batch batch_;
  std::vector<std::string_view> lines_;
  std::vector<std::string_view> converted_;    // lines_ in `encoding` (from_encoding set), in the batch's arena
  std::unique_ptr<LineConverter> converter_;  // from_encoding → encoding, when they differ
  std::vector<LineGroup> groups_;             // one per group of the <group> rules
  std::vector<ParsedRecord> parsed_;
  MalformedLineReporter malformed_;
  // Reading in turns (more files than descriptors).
  std::map<std::string, int64_t> waiting_paths_;  // files not opened yet for lack of descriptors
  std::map<std::string, int64_t> unreadable_;     // files denied by permission: when last reported
  // Symlinks are followed only into these folders (symlinks resolved).
  std::vector<std::string> symlink_roots_;
  std::set<std::string> refused_;                 // paths refused for pointing elsewhere (logged once)
  bool cycling_ = false;
  int64_t next_cycling_report_ns_ = 0;
  uint64_t reopens_ = 0;
  int64_t longest_wait_ns_ = 0;
  std::string longest_wait_path_;
};

}  // namespace sluice::plugins::in_tail
