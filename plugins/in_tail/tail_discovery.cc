// SPDX-License-Identifier: Apache-2.0
// Finding files (on the tail input's thread): glob expansion and the folders symlinks may lead
// into, opening a path's file and the pos_file's recorded chain at start, recognising rotations
// and truncations of a path (checkPath), and the rotated siblings read before the file now at
// the path (files rotated while sluice was stopped or behind), known by inode and first bytes.

#include "plugins/in_tail/tail_run.h"

#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sluice::plugins::in_tail {

std::set<std::string> TailRun::expandGlobs() {
  auto glob_all = [](const std::string& pattern, std::set<std::string>& out) {
    glob_t g{};
    if (::glob(pattern.c_str(), GLOB_BRACE | GLOB_NOSORT, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) out.insert(g.gl_pathv[i]);
    }
    globfree(&g);
  };
  std::set<std::string> paths, excluded;
  const int64_t now = clock_.nowNs();
  for (const std::string& p : in_.expandPaths(in_.patterns(), now)) {
    glob_all(p, paths);
    // A strftime path's folder of the day: watched from now on (created files are found at
    // once; the expansion itself moves on at refresh_interval, as in Fluentd).
    if (inotify_fd_ >= 0) {
      const std::string root = globRoot(p);
      glob_roots_.insert(root);
      watchDir(root);  // known folders are not watched twice; a missing one is tried again
    }
  }
  for (const std::string& p : in_.expandPaths(cfg_.exclude_path, now)) glob_all(p, excluded);
  std::set<std::string> out;
  int64_t now_s = now / kNanosPerSecond;
  for (const std::string& p : paths) {
    if (excluded.count(p)) continue;
    struct stat st;
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (refuseOutside(p, realPathOf(p))) continue;
    if (cfg_.limit_recently_modified.seconds > 0 &&
        now_s - st.st_mtime > static_cast<int64_t>(cfg_.limit_recently_modified.seconds)) {
      continue;
    }
    out.insert(p);
  }
  return out;
}

void TailRun::refresh(bool startup) {
  std::set<std::string> paths = expandGlobs();
  for (const std::string& p : paths) {
    auto it = targets_.find(p);
    if (it == targets_.end()) {
      addTarget(p, startup);
    } else {
      it->second->matched = true;
    }
  }
  for (auto& [p, t] : targets_) {
    if (!paths.count(p)) {
      t->matched = false;
      t->check = t->dirty = true;
    }
  }
}

// The folders a followed file may resolve into: each glob's root (and the `pods` folder beside
// a `containers` one), the kubelet's and Docker's log folders, and `symlink_roots`.
void TailRun::setupSymlinkRoots() {
  std::vector<std::string> roots{"/var/log/pods", "/var/lib/docker/containers"};
  for (const std::string& p : in_.patterns()) {
    std::string root = globRoot(p);
    roots.push_back(root);
    // The kubelet's layout under another prefix: <prefix>/containers/*.log link into
    // <prefix>/pods.
    if (baseOf(root) == "containers") roots.push_back(dirOf(root) + "/pods");
  }
  for (const std::string& r : cfg_.symlink_roots) roots.push_back(r);
  for (const std::string& r : roots) {
    std::string real = realPathOf(r);
    while (real.size() > 1 && real.back() == '/') real.pop_back();
    symlink_roots_.push_back(real);
    if (real != r) symlink_roots_.push_back(r);
  }
}

bool TailRun::allowedFile(const std::string& real) const {
  for (const std::string& root : symlink_roots_) {
    if (root == "/") return true;
    if (real.size() > root.size() && real.compare(0, root.size(), root) == 0 && real[root.size()] == '/') return true;
  }
  return false;
}

// A path that resolves outside the allowed folders (`ln -s /etc/shadow x.log`) is not read:
// logged once and counted. Returns true when refused.
bool TailRun::refuseOutside(const std::string& path, const std::string& real) {
  if (allowedFile(real)) return false;
  if (refused_.insert(path).second) {
    in_.metrics().refused_files->add(1);
    in_.log().warn("Not following " + path + ": it resolves to " + real +
                   ", outside the folders symlinks may lead into (the glob's folder, /var/log/pods, "
                   "/var/lib/docker/containers and symlink_roots)");
  }
  return true;
}

std::unique_ptr<Watcher> TailRun::openWatcher(const std::string& path, Target& t) {
  int fd = openFd(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == EACCES || errno == EPERM) {
      // Reported when first seen, then once per refresh_interval unless
      // ignore_repeated_permission_error; tried again every second.
      const int64_t now = clock_.nowNs();
      auto [it, first] = unreadable_.emplace(path, now);
      if (first || (!cfg_.ignore_repeated_permission_error && now - it->second >= cfg_.refresh_interval.nanos())) {
        in_.log().warn("Permission denied: cannot read " + path + " (tried again every second)");
        it->second = now;
      }
    }
    if (errno == EMFILE && !waiting_paths_.count(path)) {
      waiting_paths_[path] = clock_.nowNs();
      in_.log().warn("No file descriptor free for " + path + ": it waits for one");
    }
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    g_open_files.fetch_sub(1);
    return nullptr;
  }
  if (unreadable_.erase(path)) in_.log().info("Readable now: " + path);
  // The file actually opened must lie where symlinks may lead (checked on the descriptor:
  // a link changed after the glob was expanded is caught too).
  char fd_link[64], real[PATH_MAX];
  std::snprintf(fd_link, sizeof(fd_link), "/proc/self/fd/%d", fd);
  ssize_t rn = ::readlink(fd_link, real, sizeof(real) - 1);
  if (rn > 0 && refuseOutside(path, std::string(real, static_cast<size_t>(rn)))) {
    ::close(fd);
    g_open_files.fetch_sub(1);
    return nullptr;
  }
  if (auto it = waiting_paths_.find(path); it != waiting_paths_.end()) {
    in_.log().info("Opened " + path + " after waiting " + std::to_string((clock_.nowNs() - it->second) / kMs) +
                   " ms for a file descriptor");
    waiting_paths_.erase(it);
  }
  auto w = std::make_unique<Watcher>();
  w->fd = fd;
  w->dev = st.st_dev;
  w->ino = w->open_ino = st.st_ino;
  w->size_seen = static_cast<uint64_t>(st.st_size);
  w->state = in_.parser().newState();
  w->name = realPathOf(path);
  w->real_dir = dirOf(w->name);
  w->last_used_ns = clock_.nowNs();
  char prefix[Fingerprint::kBytes];
  w->fp = fingerprintOf(prefix, readPrefix(fd, prefix));
  return w;
}

// A rotated file beside the path, at `offset`, if its first bytes are those of `expect`.
std::unique_ptr<Watcher> TailRun::openSibling(const Sibling& s, const Fingerprint& expect, uint64_t offset) {
  int fd = openFd(s.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return nullptr;
  auto w = std::make_unique<Watcher>();
  w->fd = fd;
  w->dev = s.dev;
  w->ino = w->open_ino = s.ino;
  w->name = s.path;
  w->real_dir = dirOf(s.path);
  w->size_seen = s.size;
  w->state = in_.parser().newState();
  w->last_used_ns = clock_.nowNs();
  char prefix[Fingerprint::kBytes];
  size_t n = 0;
  if (s.gz) {
    w->gz = ::gzdopen(fd, "rb");
    if (w->gz == nullptr) return nullptr;  // the destructor closes fd
    n = static_cast<size_t>(std::max(0, ::gzread(w->gz, prefix, Fingerprint::kBytes)));
  } else {
    n = readPrefix(fd, prefix);
  }
  if (!prefixMatches(prefix, n, expect)) return nullptr;
  w->fp = expect.empty() ? fingerprintOf(prefix, n) : expect;
  if (s.gz) {
    if (::gzseek(w->gz, static_cast<z_off_t>(offset), SEEK_SET) < 0) return nullptr;
  } else {
    ::lseek(fd, static_cast<off_t>(offset), SEEK_SET);
  }
  w->read_offset = w->commit_offset = offset;
  w->rotated_at_ns = clock_.nowNs() - cfg_.rotate_wait.nanos();  // already rotated: just drain
  return w;
}

// A file the pos_file recorded for a path, no longer at the path: renamed beside it (found by
// inode, checked by fingerprint) or compressed meanwhile (a .gz whose content begins as the
// file did), resumed at its recorded offset.
std::unique_ptr<Watcher> TailRun::openRecorded(const PosFile::Entry& e, const std::vector<Sibling>& siblings) {
  for (const Sibling& s : siblings) {
    if (s.gz || s.ino != e.inode) continue;
    if (auto w = openSibling(s, e.fp, e.offset)) {
      in_.log().info("Resuming rotated file " + s.path + " for " + e.path + " at offset " + std::to_string(e.offset));
      return w;
    }
  }
  if (e.fp.empty()) return nullptr;  // a Fluentd entry: nothing to recognise a copy by
  for (const Sibling& s : siblings) {
    if (!s.gz) continue;
    if (auto w = openSibling(s, e.fp, e.offset)) {
      w->ino = e.inode;  // the same events (origins) as the uncompressed file would give
      in_.log().info("Resuming " + e.path + " (inode " + std::to_string(e.inode) + ") from its compressed rotation " +
                     s.path + " at uncompressed offset " + std::to_string(e.offset));
      return w;
    }
  }
  return nullptr;
}

// Inodes are reused (the kubelet's gzip frees one per rotation): a file is known by its inode
// and its first bytes together, so one entry per (inode, fingerprint).
void TailRun::remember(Target& t, uint64_t dev, uint64_t ino, const Fingerprint& fp) {
  for (KnownFile& k : t.known) {
    if (k.dev != dev || k.ino != ino) continue;
    if (k.fp == fp) return;
    if (k.fp.empty()) {
      k.fp = fp;
      return;
    }
  }
  t.known.push_back(KnownFile{dev, ino, fp});
  if (t.known.size() > kMaxKnownFiles) t.known.pop_front();
}

// Whether a sibling beginning with `data` is a file already seen: a file of the chain held open
// (its inode cannot be another file's meanwhile), else the same inode with the same first bytes.
bool TailRun::isKnown(const Target& t, const Sibling& s, const char* data, size_t n) const {
  for (const auto& w : t.chain) {
    if (w->dev == s.dev && w->open_ino == s.ino && (w->isOpen() || prefixMatches(data, n, w->fp))) return true;
  }
  for (const KnownFile& k : t.known) {
    if (k.dev == s.dev && k.ino == s.ino && (n == 0 || (!k.fp.empty() && prefixMatches(data, n, k.fp)))) return true;
  }
  return false;
}

// Whether a file beginning with these bytes is a copy of one already seen (a compressed
// rotation, a copytruncate copy).
bool TailRun::copiesKnown(const Target& t, const char* data, size_t n) const {
  for (const KnownFile& k : t.known) {
    if (!k.fp.empty() && prefixMatches(data, n, k.fp)) return true;
  }
  for (const auto& w : t.chain) {
    if (!w->fp.empty() && prefixMatches(data, n, w->fp)) return true;
  }
  return false;
}

// Rotated files beside the path that were never seen (the path was rotated twice or more
// between two looks, or while sluice was stopped): read from their start, oldest first, at the
// end of the chain or before its last file (the one now at the path). With `after`, only files
// whose names sort after it.
void TailRun::addNewSiblings(Target& t, const std::vector<Sibling>& siblings, const std::string& after,
                             bool before_last) {
  // A file of the chain not read yet (opened empty at the path, written and rotated while
  // sluice was behind) has no fingerprint yet: take it now, or its compressed copy would look new.
  for (auto& w : t.chain) refreshFingerprint(*w, true);
  auto at = t.chain.end();
  if (before_last && !t.chain.empty()) --at;
  // The last file, opened at the path a moment ago, may have been rotated since (rotations in
  // quick succession): siblings whose names sort after its rotated name are newer than it and
  // go after it, so that the chain stays in the order the lines were written.
  std::string last_name;
  if (before_last && !t.chain.empty()) {
    const Watcher& last = *t.chain.back();
    for (const Sibling& s : siblings) {
      if (s.dev == last.dev && s.ino == last.ino) last_name = s.sort_name;
    }
  }
  for (const Sibling& s : siblings) {
    if (!after.empty() && !naturalLess(after, s.sort_name)) continue;
    if (!last_name.empty() && naturalLess(last_name, s.sort_name)) at = t.chain.end();
    char prefix[Fingerprint::kBytes];
    size_t n = s.gz ? readGzPrefix(s.path, prefix) : readPathPrefix(s.path, prefix);
    if (isKnown(t, s, prefix, n)) continue;
    Fingerprint fp = fingerprintOf(prefix, n);
    bool copy = copiesKnown(t, prefix, n);
    remember(t, s.dev, s.ino, fp);
    if (copy) continue;
    auto w = openSibling(s, fp, 0);
    if (!w) {
      // No descriptor now: a closed watcher, opened in its turn.
      w = std::make_unique<Watcher>();
      w->dev = s.dev;
      w->ino = w->open_ino = s.ino;
      w->name = s.path;
      w->real_dir = dirOf(s.path);
      w->fp = fp;
      w->size_seen = s.size;
      w->state = in_.parser().newState();
      w->rotated_at_ns = clock_.nowNs() - cfg_.rotate_wait.nanos();
    }
    in_.log().info("Reading rotated file " + s.path + " of " + t.path + ", not seen before (rotated before it was looked at)");
    at = t.chain.insert(at, std::move(w));
    ++at;
  }
}

void TailRun::reportLost(const std::string& path, const std::string& file, uint64_t ino, uint64_t from, uint64_t to,
                         bool end_known) {
  in_.metrics().lost_files->add(1);
  if (to > from) in_.metrics().lost_bytes->add(to - from);
  in_.log().error("Lost lines: " + file + " (inode " + std::to_string(ino) + ", followed as " + path +
                  ") is gone before it was read: bytes " + std::to_string(from) + "-" +
                  (end_known ? std::to_string(to) : "its end (length unknown" + (to > from ? ", at least " + std::to_string(to) : std::string()) + ")") +
                  " were never read");
}

void TailRun::addTarget(const std::string& path, bool startup) {
  auto t = std::make_unique<Target>();
  t->path = path;
  t->tag = in_.tagFor(path);
  auto w = openWatcher(path, *t);
  if (!w) return;
  t->real_base = baseOf(w->name);
  uint64_t size = w->size_seen;
  // What the pos_file says about this path: the file at the path (same inode, same first
  // bytes), and files recorded before it that have been rotated away since.
  std::vector<const PosFile::Entry*> entries;
  const PosFile::Entry* same = nullptr;
  for (const PosFile::Entry& e : saved_) {
    if (e.path != path) continue;
    entries.push_back(&e);
    if (e.inode == w->ino) {
      char prefix[Fingerprint::kBytes];
      if (prefixMatches(prefix, readPrefix(w->fd, prefix), e.fp)) same = &e;
    }
  }
  std::vector<Sibling> siblings = listSiblings(w->real_dir, t->real_base);
  std::string newest;  // the newest recorded file found beside the path
  bool others = false;
  for (const PosFile::Entry* e : entries) {
    if (e == same) continue;
    others = true;
    if (auto rotated = openRecorded(*e, siblings)) {
      for (const Sibling& s : siblings) {
        if (s.path == rotated->name && naturalLess(newest, s.sort_name)) newest = s.sort_name;
      }
      t->chain.push_back(std::move(rotated));
    } else {
      reportLost(path, e->path, e->inode, e->offset, e->offset, false);
    }
  }
  // Siblings older than the newest recorded file were read before; newer ones were rotated
  // while sluice was stopped. A path without a recorded position that is read from its start
  // (read_from_head, or a path appearing later) begins with its uncompressed rotations: the
  // first file of a container may be rotated before sluice first looks. Other siblings count
  // as read.
  const bool from_head = entries.empty() && (!startup || cfg_.read_from_head);
  for (const Sibling& s : siblings) {
    if (!newest.empty() && naturalLess(newest, s.sort_name)) continue;
    if (newest.empty() && from_head && !s.gz) continue;
    // With its first bytes: the inode alone may be another file's later, and a compressed
    // copy is recognised by them.
    char prefix[Fingerprint::kBytes];
    remember(*t, s.dev, s.ino, fingerprintOf(prefix, s.gz ? readGzPrefix(s.path, prefix) : readPathPrefix(s.path, prefix)));
  }
  remember(*t, w->dev, w->ino, w->fp);
  if (!newest.empty() || from_head) addNewSiblings(*t, siblings, newest, false);
  uint64_t start = 0;
  if (same != nullptr) {
    start = same->offset <= size ? same->offset : 0;  // a shorter file was truncated meanwhile
  } else if (others) {
    start = 0;  // the file at the path is newer than the recorded one
  } else if (startup && !cfg_.read_from_head) {
    start = size;
  }
  w->read_offset = w->commit_offset = start;
  w->pending.clear();
  ::lseek(w->fd, static_cast<off_t>(start), SEEK_SET);
  t->chain.push_back(std::move(w));
  saved_.erase(std::remove_if(saved_.begin(), saved_.end(), [&](const PosFile::Entry& e) { return e.path == path; }),
               saved_.end());
  if (inotify_fd_ >= 0) {
    t->wd = ::inotify_add_watch(inotify_fd_, path.c_str(),
                                IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB | IN_CLOSE_WRITE);
    if (t->wd >= 0) file_wds_[t->wd].push_back(t.get());
    watchDir(t->chain.back()->real_dir);
  }
  joinGroup(*t);
  Target* raw = t.get();
  targets_[path] = std::move(t);
  updatePos(*raw);
}

void TailRun::checkPath(Target& t, int64_t now) {
  t.check = false;
  if (t.chain.empty()) return;
  Watcher& back = *t.chain.back();
  struct stat st;
  bool exists = ::stat(t.path.c_str(), &st) == 0;
  if (exists && (static_cast<uint64_t>(st.st_ino) != back.open_ino || static_cast<uint64_t>(st.st_dev) != back.dev)) {
    // Renamed away (rotation) or deleted and recreated: finish the old file, then the new one.
    if (auto w = openWatcher(t.path, t)) {
      if (back.rotated_at_ns == 0) back.rotated_at_ns = now;
      in_.metrics().rotations->add(1);
      in_.log().info("Rotation detected: " + t.path);
      t.real_base = baseOf(w->name);
      remember(t, w->dev, w->ino, w->fp);
      t.chain.push_back(std::move(w));
      // Files rotated in between, never seen at the path (two or more rotations between looks).
      addNewSiblings(t, listSiblings(t.chain.back()->real_dir, t.real_base), "", true);
      if (inotify_fd_ >= 0) {
        int wd = ::inotify_add_watch(inotify_fd_, t.path.c_str(),
                                     IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB | IN_CLOSE_WRITE);
        if (wd >= 0 && wd != t.wd) {
          t.wd = wd;
          file_wds_[wd].push_back(&t);
        }
        watchDir(t.chain.back()->real_dir);
      }
    } else {
      t.check = true;  // no descriptor now: look again
    }
  } else if (!exists && back.rotated_at_ns == 0) {
    back.rotated_at_ns = now;  // gone: drain what is left, then let it go
  }
  // Truncation in place (copytruncate): the file is shorter than what was read.
  Watcher& front = *t.chain.front();
  if (front.gz != nullptr) return;
  struct stat fst;
  bool have = front.isOpen() ? ::fstat(front.fd, &fst) == 0
                             : ::stat(front.name.c_str(), &fst) == 0 && static_cast<uint64_t>(fst.st_ino) == front.open_ino;
  if (have && static_cast<uint64_t>(fst.st_size) < front.read_offset) {
    in_.metrics().truncations->add(1);
    in_.log().info("File truncated, reading from the start: " + t.path);
    t.known.push_back(KnownFile{0, 0, front.fp});  // a copytruncate copy begins as the file did
    front.read_offset = front.commit_offset = 0;
    front.pending.clear();
    front.state = in_.parser().newState();
    front.at_eof = false;
    front.fp = Fingerprint{};
    if (front.isOpen()) ::lseek(front.fd, 0, SEEK_SET);
    updatePos(t);
  }
}

}  // namespace sluice::plugins::in_tail
