// SPDX-License-Identifier: Apache-2.0
// The descriptor budget (on the tail input's thread): every tail input of the process shares
// g_file_budget; when it is spent, the least valuable open file is closed (evictOne) and read
// again later from where it stopped (reopen: at its name, beside it by inode, or its .gz by
// fingerprint), and the cycling is reported every 30 s.

#include "plugins/in_tail/tail_run.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sluice::plugins::in_tail {

// Opens a file for reading within the descriptor budget, closing the least recently used
// other file when it is spent. Returns -1 (errno set) when no descriptor can be had.
int TailRun::openFd(const char* path, int flags) {
  while (g_open_files.load() >= g_file_budget.load()) {
    if (!evictOne(nullptr)) break;
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(path, flags);
    if (fd >= 0) {
      g_open_files.fetch_add(1);
      return fd;
    }
    if (errno != EMFILE && errno != ENFILE) return -1;
    // The process ran out before the budget did: shrink the budget to what is open now.
    int open_now = g_open_files.load();
    if (open_now > 4) g_file_budget.store(open_now - 1);
    if (!evictOne(nullptr)) {
      errno = EMFILE;
      return -1;
    }
  }
  errno = EMFILE;
  return -1;
}

// Closes one open file of this input to free a descriptor: files at their path before rotated
// ones (a rotated file may be deleted while closed), read-to-the-end ones before others, then
// the least recently read. Returns false when this input holds none (but `keep`).
bool TailRun::evictOne(const Watcher* keep) {
  Watcher* victim = nullptr;
  auto rank = [](const Watcher& w) { return (w.rotated_at_ns ? 2 : 0) + (w.at_eof ? 0 : 1); };
  for (auto& [path, t] : targets_) {
    for (auto& w : t->chain) {
      if (!w->isOpen() || w.get() == keep) continue;
      if (victim == nullptr || rank(*w) < rank(*victim) ||
          (rank(*w) == rank(*victim) && w->last_used_ns < victim->last_used_ns)) {
        victim = w.get();
      }
    }
  }
  if (victim == nullptr) return false;
  if (!cycling_) {
    cycling_ = true;
    in_.log().warn("More files than descriptors (" + std::to_string(g_file_budget.load()) +
                   " for tail inputs, from RLIMIT_NOFILE): reading files in turns (read to the end, close, reopen "
                   "from the recorded position)");
    next_cycling_report_ns_ = clock_.nowNs() + kCyclingReportNs;
  }
  victim->closeFile();
  victim->closed_at_ns = clock_.nowNs();
  in_.metrics().fd_cycles->add(1);
  return true;
}

void TailRun::reportCycling(int64_t now) {
  if (now < next_cycling_report_ns_) return;
  next_cycling_report_ns_ = now + kCyclingReportNs;
  size_t files = 0, closed = 0;
  for (auto& [path, t] : targets_) {
    for (auto& w : t->chain) {
      ++files;
      closed += !w->isOpen();
    }
  }
  std::string msg = "Reading in turns: " + std::to_string(files) + " files, " + std::to_string(g_file_budget.load()) +
                    " descriptors, " + std::to_string(closed) + " closed; " + std::to_string(reopens_) +
                    " reopened in the last " + std::to_string(kCyclingReportNs / kNanosPerSecond) + " s";
  if (longest_wait_ns_ > 0) {
    msg += ", longest wait " + std::to_string(longest_wait_ns_ / kMs) + " ms (" + longest_wait_path_ + ")";
  }
  for (const auto& [path, since] : waiting_paths_) {
    msg += "; " + path + " not opened yet, waiting " + std::to_string((now - since) / kMs) + " ms";
  }
  in_.log().info(msg);
  reopens_ = 0;
  longest_wait_ns_ = 0;
}

// Opens a closed file again at its read offset: at its last name if it is still there, else
// beside it by inode (rotated meanwhile), else its compressed rotation by fingerprint.
TailRun::Reopen TailRun::reopen(Target& t, Watcher& w, int64_t now) {
  struct stat st;
  bool there = ::stat(w.name.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) == w.open_ino &&
               static_cast<uint64_t>(st.st_dev) == w.dev;
  if (there && w.gz == nullptr && !endsWith(w.name, ".gz") && w.at_eof &&
      static_cast<uint64_t>(st.st_size) == w.read_offset) {
    return Reopen::kNothingNew;  // keep the descriptor for a file with something to read
  }
  Sibling found;
  bool have = false;
  if (there) {
    found.path = w.name;
    found.gz = endsWith(w.name, ".gz");
    found.dev = st.st_dev;
    found.ino = st.st_ino;
    found.size = static_cast<uint64_t>(st.st_size);
    have = true;
  } else {
    for (const Sibling& s : listSiblings(w.real_dir, t.real_base)) {
      if (!s.gz && s.ino == w.open_ino && s.dev == w.dev) {
        found = s;
        have = true;
        break;
      }
    }
  }
  std::unique_ptr<Watcher> fresh;
  if (have) {
    errno = 0;
    fresh = openSibling(found, w.fp, w.read_offset);
    if (!fresh && errno == EMFILE) return Reopen::kNoDescriptor;
  } else if (!w.fp.empty()) {
    for (const Sibling& s : listSiblings(w.real_dir, t.real_base)) {
      if (s.gz && (fresh = openSibling(s, w.fp, w.read_offset))) {
        in_.log().info("Resuming " + w.name + " from its compressed rotation " + s.path + " at uncompressed offset " +
                       std::to_string(w.read_offset));
        break;
      }
    }
  }
  if (!fresh) {
    reportLost(t.path, w.name, w.ino, w.read_offset, std::max(w.size_seen, w.read_offset), false);
    return Reopen::kGone;
  }
  // Take the descriptor and the file's current place; keep everything read so far.
  w.fd = fresh->fd;
  w.gz = fresh->gz;
  fresh->fd = -1;
  fresh->gz = nullptr;
  w.name = fresh->name;
  w.open_ino = fresh->open_ino;
  w.size_seen = std::max(w.size_seen, fresh->size_seen);
  w.last_used_ns = now;
  if (w.closed_at_ns) {
    ++reopens_;
    if (now - w.closed_at_ns > longest_wait_ns_) {
      longest_wait_ns_ = now - w.closed_at_ns;
      longest_wait_path_ = w.name;
    }
    w.closed_at_ns = 0;
  }
  return Reopen::kOpened;
}

}  // namespace sluice::plugins::in_tail
