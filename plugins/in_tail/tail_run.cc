// SPDX-License-Identifier: Apache-2.0
// The tail input's reading loop: one thread, every file of the input.

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include "plugins/in_tail/pos_file.h"
#include "plugins/in_tail/tail_input.h"

namespace sluice::plugins::in_tail {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kPosWriteIntervalNs = 200 * kMs;
constexpr size_t kReadSize = 256 * 1024;
constexpr size_t kMaxBytesPerService = 8 * 1024 * 1024;  // fairness between busy files

// One open file: the current one at a path, or a rotated one still being drained.
struct Watcher {
  int fd = -1;
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint64_t read_offset = 0;    // where the next read() starts
  uint64_t commit_offset = 0;  // everything before it was accepted downstream
  std::string pending;         // bytes after the last complete line (a partial line)
  ParserStatePtr state;
  uint64_t next_seq = 0;
  uint64_t held_offset = 0;    // offset of the first line the parser holds
  int64_t rotated_at_ns = 0;   // 0 while it is the file at the path
  bool at_eof = false;
  bool discarding = false;     // inside a line longer than max_line_size
  int64_t retry_at_ns = 0;     // after a batch was not accepted
  int64_t budget_window_ns = 0;
  uint64_t budget_used = 0;
  std::string real_dir;        // directory the file lives in (after symlinks)
  // Batches accepted downstream whose delivery is not yet confirmed (a memory buffer holds
  // them): the offset is recorded once every chunk holding the batch's events let go of the
  // token (this thread then holds its last reference).
  std::deque<std::pair<std::shared_ptr<void>, uint64_t>> unacked;

  ~Watcher() {
    if (fd >= 0) ::close(fd);
  }
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
  bool permission_reported = false;
};

std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string realDirOf(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) return dirOf(buf);
  return dirOf(path);
}

// The deepest directory of a glob without glob characters.
std::string globRoot(const std::string& pattern) {
  size_t g = pattern.find_first_of("*?[{");
  std::string head = g == std::string::npos ? pattern : pattern.substr(0, g);
  return dirOf(head + "x");
}

class TailRun {
 public:
  TailRun(const TailInput& input, EventSink& out, const StopToken& stop)
      : in_(input),
        cfg_(input.config()),
        out_(out),
        stop_(stop),
        buffer_(kReadSize, cfg_.max_line_size.bytes),
        parsed_(static_cast<size_t>(cfg_.read_lines_limit)),
        malformed_(input.log()) {}

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
  std::unique_ptr<Watcher> findRotatedSibling(const std::string& path, uint64_t ino);

  // Reading.
  void service(Target& t, int64_t now);
  void checkPath(Target& t, int64_t now);
  bool readWatcher(Target& t, Watcher& w, int64_t now);
  bool processLines(Target& t, Watcher& w);
  bool emit(Target& t, Watcher& w, uint64_t commit);
  void advanceAcks(Target& t, Watcher& w);
  void rewind(Watcher& w, int64_t now);
  void flushHeld(Target& t, Watcher& w, bool force, int64_t now);

  // Events and bookkeeping.
  void drainInotify();
  void updatePos(Target& t);
  void maybeWritePos(int64_t now, bool force);
  void dropFinishedTargets();

  const TailInput& in_;
  const TailConfig& cfg_;
  EventSink& out_;
  const StopToken& stop_;
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
  LineBuffer buffer_;
  Batch batch_;
  std::vector<std::string_view> lines_;
  std::vector<ParsedRecord> parsed_;
  MalformedLineReporter malformed_;
};

Status TailRun::run() {
  if (cfg_.pos_file) {
    pos_ = std::make_unique<PosFile>(*cfg_.pos_file);
    Status s = pos_->load();
    if (!s) return s;
    saved_ = pos_->loaded();
  }
  if (cfg_.enable_stat_watcher) setupInotify();
  int64_t now = nowNs();
  if (!cfg_.skip_refresh_on_startup) refresh(true);
  next_refresh_ns_ = now + cfg_.refresh_interval.nanos();
  next_tick_ns_ = now + kNanosPerSecond;
  while (!stop_.stopRequested()) {
    now = nowNs();
    for (auto& [path, t] : targets_) {
      if (t->dirty || t->check) service(*t, now);
    }
    // Held partial or multi-line events that waited long enough; delivered batches.
    bool waiting_for_acks = false;
    for (auto& [path, t] : targets_) {
      if (t->chain.empty()) continue;
      flushHeld(*t, *t->chain.front(), false, now);
      advanceAcks(*t, *t->chain.front());
      if (!t->chain.front()->unacked.empty()) waiting_for_acks = true;
    }
    dropFinishedTargets();
    maybeWritePos(now, false);
    in_.metrics().watched_files->set(static_cast<int64_t>(targets_.size()));

    // Sleep until an event, the next tick, a refresh, a retry or a pending pos write.
    int64_t wake = std::min(next_refresh_ns_, cfg_.enable_watch_timer ? next_tick_ns_ : next_refresh_ns_);
    bool busy = false;
    for (auto& [path, t] : targets_) {
      if (t->dirty) busy = true;
      for (auto& w : t->chain) {
        if (w->retry_at_ns) wake = std::min(wake, w->retry_at_ns);
        if (w->state && w->state->held_from) {
          wake = std::min(wake, w->state->held_since_ns + cfg_.multiline_flush_interval.nanos());
        }
        if (w->rotated_at_ns && w->at_eof) wake = std::min(wake, w->rotated_at_ns + cfg_.rotate_wait.nanos());
      }
    }
    if (pos_ && pos_->dirty()) wake = std::min(wake, last_pos_write_ns_ + kPosWriteIntervalNs);
    if (waiting_for_acks) wake = std::min(wake, nowNs() + 50 * kMs);
    int timeout_ms = busy ? 0 : static_cast<int>(std::clamp<int64_t>((wake - nowNs()) / kMs + 1, 0, 60000));
    struct pollfd fds[2] = {{stop_.fd(), POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    int rc = ::poll(fds, inotify_fd_ >= 0 ? 2 : 1, timeout_ms);
    if (rc < 0 && errno != EINTR) return Status::ioError(std::string("poll: ") + std::strerror(errno));
    if (fds[0].revents & POLLIN) break;
    if (inotify_fd_ >= 0 && (fds[1].revents & POLLIN)) drainInotify();
    now = nowNs();
    if (rescan_ || now >= next_refresh_ns_) {
      refresh(false);
      rescan_ = false;
      if (now >= next_refresh_ns_) next_refresh_ns_ = now + cfg_.refresh_interval.nanos();
    }
    if (cfg_.enable_watch_timer && now >= next_tick_ns_) {
      for (auto& [path, t] : targets_) t->dirty = t->check = true;
      next_tick_ns_ = now + kNanosPerSecond;
    }
  }
  for (auto& [path, t] : targets_) {
    if (!t->chain.empty()) advanceAcks(*t, *t->chain.front());
  }
  maybeWritePos(nowNs(), true);
  return Status::ok();
}

void TailRun::setupInotify() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    in_.log().warn(std::string("inotify unavailable (") + std::strerror(errno) +
                   "); falling back to the stat timer");
    return;
  }
  for (const std::string& p : in_.patterns()) {
    glob_roots_.insert(globRoot(p));
    watchDir(globRoot(p));
  }
}

void TailRun::watchDir(const std::string& dir) {
  if (inotify_fd_ < 0) return;
  for (const auto& [wd, d] : dir_wds_) {
    if (d == dir) return;
  }
  int wd = ::inotify_add_watch(inotify_fd_, dir.c_str(),
                               IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR);
  if (wd >= 0) dir_wds_[wd] = dir;
}

std::set<std::string> TailRun::expandGlobs() {
  auto glob_all = [](const std::string& pattern, std::set<std::string>& out) {
    glob_t g{};
    if (::glob(pattern.c_str(), GLOB_BRACE | GLOB_NOSORT, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) out.insert(g.gl_pathv[i]);
    }
    globfree(&g);
  };
  std::set<std::string> paths, excluded;
  for (const std::string& p : in_.patterns()) glob_all(p, paths);
  for (const std::string& p : cfg_.exclude_path) glob_all(p, excluded);
  std::set<std::string> out;
  int64_t now_s = nowNs() / kNanosPerSecond;
  for (const std::string& p : paths) {
    if (excluded.count(p)) continue;
    struct stat st;
    if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
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

std::unique_ptr<Watcher> TailRun::openWatcher(const std::string& path, Target& t) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == EACCES && !(cfg_.ignore_repeated_permission_error && t.permission_reported)) {
      in_.log().warn("Permission denied: cannot read " + path);
      t.permission_reported = true;
    }
    return nullptr;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return nullptr;
  }
  auto w = std::make_unique<Watcher>();
  w->fd = fd;
  w->dev = st.st_dev;
  w->ino = st.st_ino;
  w->state = in_.parser().newState();
  w->real_dir = realDirOf(path);
  return w;
}

// Restart across rotation: the file recorded in the pos_file was renamed within the directory
// the path resolves into (the kubelet's 0.log → 0.log.<timestamp>); find it by inode.
std::unique_ptr<Watcher> TailRun::findRotatedSibling(const std::string& path, uint64_t ino) {
  std::string dir = realDirOf(path);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return nullptr;
  std::unique_ptr<Watcher> found;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_ino != ino) continue;
    std::string candidate = dir + "/" + e->d_name;
    int fd = ::open(candidate.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_ino == ino) {
      found = std::make_unique<Watcher>();
      found->fd = fd;
      found->dev = st.st_dev;
      found->ino = st.st_ino;
      found->state = in_.parser().newState();
      found->real_dir = dir;
      in_.log().info("Resuming rotated file " + candidate + " for " + path);
      break;
    }
    ::close(fd);
  }
  ::closedir(d);
  return found;
}

void TailRun::addTarget(const std::string& path, bool startup) {
  auto t = std::make_unique<Target>();
  t->path = path;
  t->tag = in_.tagFor(path);
  auto w = openWatcher(path, *t);
  if (!w) return;
  struct stat st;
  ::fstat(w->fd, &st);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  // What the pos_file says about this path.
  const PosFile::Entry* same = nullptr;
  std::vector<const PosFile::Entry*> others;
  for (const PosFile::Entry& e : saved_) {
    if (e.path != path) continue;
    if (e.inode == w->ino) {
      same = &e;
    } else {
      others.push_back(&e);
    }
  }
  for (const PosFile::Entry* e : others) {
    if (auto rotated = findRotatedSibling(path, e->inode)) {
      rotated->read_offset = rotated->commit_offset = e->offset;
      ::lseek(rotated->fd, static_cast<off_t>(e->offset), SEEK_SET);
      rotated->rotated_at_ns = nowNs() - cfg_.rotate_wait.nanos();  // already rotated: just drain
      t->chain.push_back(std::move(rotated));
    }
  }
  uint64_t start = 0;
  if (same != nullptr) {
    start = same->offset <= size ? same->offset : 0;  // a shorter file was truncated meanwhile
  } else if (!others.empty()) {
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
  Target* raw = t.get();
  targets_[path] = std::move(t);
  updatePos(*raw);
}

void TailRun::drainInotify() {
  alignas(struct inotify_event) char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(inotify_fd_, buf, sizeof(buf));
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        rescan_ = true;
        for (auto& [path, t] : targets_) t->dirty = t->check = true;
        continue;
      }
      auto fit = file_wds_.find(ev->wd);
      if (fit != file_wds_.end()) {
        for (Target* t : fit->second) {
          t->dirty = true;
          if (ev->mask & (IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB | IN_IGNORED)) t->check = true;
        }
        if (ev->mask & IN_IGNORED) file_wds_.erase(fit);
        continue;
      }
      auto dit = dir_wds_.find(ev->wd);
      if (dit != dir_wds_.end()) {
        if (glob_roots_.count(dit->second)) rescan_ = true;
        for (auto& [path, t] : targets_) {
          if (!t->chain.empty() && t->chain.back()->real_dir == dit->second) t->dirty = t->check = true;
        }
        if (ev->mask & IN_IGNORED) dir_wds_.erase(dit);
      }
    }
  }
}

void TailRun::checkPath(Target& t, int64_t now) {
  t.check = false;
  if (t.chain.empty()) return;
  Watcher& back = *t.chain.back();
  struct stat st;
  bool exists = ::stat(t.path.c_str(), &st) == 0;
  if (exists && (static_cast<uint64_t>(st.st_ino) != back.ino || static_cast<uint64_t>(st.st_dev) != back.dev)) {
    // Renamed away (rotation) or deleted and recreated: finish the old file, then the new one.
    if (auto w = openWatcher(t.path, t)) {
      if (back.rotated_at_ns == 0) back.rotated_at_ns = now;
      in_.metrics().rotations->add(1);
      in_.log().info("Rotation detected: " + t.path);
      t.chain.push_back(std::move(w));
      if (inotify_fd_ >= 0) {
        int wd = ::inotify_add_watch(inotify_fd_, t.path.c_str(),
                                     IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF | IN_ATTRIB | IN_CLOSE_WRITE);
        if (wd >= 0 && wd != t.wd) {
          t.wd = wd;
          file_wds_[wd].push_back(&t);
        }
        watchDir(t.chain.back()->real_dir);
      }
    }
  } else if (!exists && back.rotated_at_ns == 0) {
    back.rotated_at_ns = now;  // gone: drain what is left, then let it go
  }
  // Truncation in place (copytruncate): the file is shorter than what was read.
  Watcher& front = *t.chain.front();
  struct stat fst;
  if (::fstat(front.fd, &fst) == 0 && static_cast<uint64_t>(fst.st_size) < front.read_offset) {
    in_.metrics().truncations->add(1);
    in_.log().info("File truncated, reading from the start: " + t.path);
    front.read_offset = front.commit_offset = 0;
    front.pending.clear();
    front.state = in_.parser().newState();
    front.at_eof = false;
    ::lseek(front.fd, 0, SEEK_SET);
    updatePos(t);
  }
}

void TailRun::service(Target& t, int64_t now) {
  t.dirty = false;
  if (t.check) checkPath(t, now);
  while (!t.chain.empty()) {
    Watcher& w = *t.chain.front();
    if (w.retry_at_ns > now) return;
    w.retry_at_ns = 0;
    if (readWatcher(t, w, now)) {
      t.dirty = true;  // a limit was reached: come back after the other files
      return;
    }
    if (!w.at_eof || w.retry_at_ns || t.chain.size() == 1) return;
    // An older file of the path (rotated away): keep reading it for rotate_wait, as the
    // runtime may still write to it, then emit what the parser holds and move on.
    if (now - w.rotated_at_ns < cfg_.rotate_wait.nanos()) return;
    flushHeld(t, w, true, now);
    if (w.state && w.state->held_from) return;  // not accepted: try again later
    advanceAcks(t, w);
    if (!w.unacked.empty()) return;  // its last batches are not delivered yet
    t.chain.pop_front();
    updatePos(t);
  }
}

// Reads what is available; returns true when it stopped at a limit with more to read.
bool TailRun::readWatcher(Target& t, Watcher& w, int64_t now) {
  buffer_.clear(w.read_offset - w.pending.size());
  buffer_.append(w.pending);
  buffer_.setDiscarding(w.discarding);
  w.pending.clear();
  size_t bytes_this_round = 0;
  bool limited = false;
  w.at_eof = false;
  if (now - w.budget_window_ns >= kNanosPerSecond) {
    w.budget_window_ns = now;
    w.budget_used = 0;
  }
  size_t skipped_before = buffer_.skippedLongLines();
  while (true) {
    if (cfg_.read_bytes_limit_per_second.bytes && w.budget_used >= cfg_.read_bytes_limit_per_second.bytes) {
      w.retry_at_ns = w.budget_window_ns + kNanosPerSecond;
      break;
    }
    if (bytes_this_round >= kMaxBytesPerService) {
      limited = true;
      break;
    }
    buffer_.compact();
    size_t allowed = cfg_.read_bytes_limit_per_second.bytes
                         ? cfg_.read_bytes_limit_per_second.bytes - w.budget_used
                         : SIZE_MAX;
    ssize_t n = buffer_.fill(w.fd, allowed);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      in_.log().error("Read failed: " + t.path + ": " + std::strerror(errno));
      w.retry_at_ns = now + kNanosPerSecond;
      break;
    }
    if (n == 0) {
      w.at_eof = true;
      break;
    }
    w.read_offset += static_cast<uint64_t>(n);
    bytes_this_round += static_cast<size_t>(n);
    w.budget_used += static_cast<uint64_t>(n);
    in_.metrics().read_bytes->add(static_cast<uint64_t>(n));
    bool rejected = false;
    while (buffer_.takeLines(lines_, static_cast<size_t>(cfg_.read_lines_limit)) > 0) {
      if (!processLines(t, w)) {
        rejected = true;
        break;
      }
    }
    if (rejected) {
      rewind(w, now);
      return false;
    }
  }
  if (buffer_.skippedLongLines() > skipped_before) {
    size_t n = buffer_.skippedLongLines() - skipped_before;
    in_.metrics().skipped_long_lines->add(n);
    in_.log().warn("Skipped " + std::to_string(n) + " line(s) longer than max_line_size=" +
                   std::to_string(cfg_.max_line_size.bytes) + " in " + t.path);
  }
  // Keep the partial line for the next read (it is re-read after a restart: the committed
  // offset never passes it).
  w.pending.assign(buffer_.unconsumed());
  w.discarding = buffer_.discarding();
  if (w.discarding) w.pending.clear();  // inside an overlong line: keep skipping it
  if (!(w.state && w.state->held_from) && w.unacked.empty() &&
      w.commit_offset < w.read_offset - w.pending.size() && lines_.empty()) {
    // Nothing held and nothing waiting for delivery: skipped bytes are done with.
    w.commit_offset = w.read_offset - w.pending.size();
    updatePos(t);
  }
  return limited;
}

bool TailRun::processLines(Target& t, Watcher& w) {
  const uint64_t first_seq = w.next_seq;
  w.next_seq += lines_.size();
  in_.metrics().read_lines->add(lines_.size());
  if (parsed_.size() < lines_.size()) parsed_.resize(lines_.size());
  std::fill(parsed_.begin(), parsed_.begin() + lines_.size(), ParsedRecord{});
  in_.parser().parse(LineBatch{lines_, true, w.state.get(), first_seq}, batch_.arena(),
                     std::span(parsed_.data(), lines_.size()));
  const int64_t now = nowNs();
  uint64_t errors = 0;
  for (size_t i = 0; i < lines_.size(); ++i) {
    ParsedRecord& r = parsed_[i];
    if (r.held) continue;
    if (!r.ok()) {
      ++errors;
      malformed_.report("path=" + t.path, lines_[i], r.error);
      continue;
    }
    if (cfg_.path_key) r.record.setMember(*cfg_.path_key, Value::string(t.path), batch_.arena());
    batch_.add(t.tag, r.has_time ? r.time_ns : now, r.record,
               lineOrigin(w.dev, w.ino, buffer_.offsetOf(lines_[i].data())));
  }
  if (errors) in_.metrics().parse_errors->add(errors);
  uint64_t commit = buffer_.consumedOffset();
  if (w.state && w.state->held_from) {
    if (*w.state->held_from >= first_seq) {
      w.held_offset = buffer_.offsetOf(lines_[*w.state->held_from - first_seq].data());
    }
    commit = w.held_offset;
  }
  lines_.clear();
  return emit(t, w, commit);
}

bool TailRun::emit(Target& t, Watcher& w, uint64_t commit) {
  if (!batch_.empty()) {
    auto token = std::make_shared<char>(0);
    batch_.setAck(token);
    Status s = out_.emit(batch_);
    batch_.clear();
    if (!s) {
      in_.log().error("Batch from " + t.path + " not accepted (" + s.message() +
                      "); it will be read again");
      return false;
    }
    w.unacked.emplace_back(std::move(token), commit);
  } else {
    batch_.clear();
    w.unacked.emplace_back(nullptr, commit);
  }
  advanceAcks(t, w);
  return true;
}

// Records the offsets of the batches whose every chunk was delivered, in order.
void TailRun::advanceAcks(Target& t, Watcher& w) {
  bool moved = false;
  while (!w.unacked.empty() && (!w.unacked.front().first || w.unacked.front().first.use_count() == 1)) {
    if (w.unacked.front().second > w.commit_offset) {
      w.commit_offset = w.unacked.front().second;
      moved = true;
    }
    w.unacked.pop_front();
  }
  if (moved) updatePos(t);
}

// A batch was not accepted: read again from the end of the last batch that was (accepted
// batches may still wait for delivery; they are not read twice).
void TailRun::rewind(Watcher& w, int64_t now) {
  uint64_t from = w.commit_offset;
  for (const auto& [token, offset] : w.unacked) from = std::max(from, offset);
  w.read_offset = from;
  ::lseek(w.fd, static_cast<off_t>(from), SEEK_SET);
  w.pending.clear();
  w.state = in_.parser().newState();
  w.at_eof = false;
  w.retry_at_ns = now + kNanosPerSecond;
  lines_.clear();
}

void TailRun::flushHeld(Target& t, Watcher& w, bool force, int64_t now) {
  if (!w.state || !w.state->held_from) return;
  if (!force && now - w.state->held_since_ns < cfg_.multiline_flush_interval.nanos()) return;
  ParsedRecord r;
  while (in_.parser().flush(*w.state, batch_.arena(), r)) {
    if (r.ok()) {
      if (cfg_.path_key) r.record.setMember(*cfg_.path_key, Value::string(t.path), batch_.arena());
      batch_.add(t.tag, r.has_time ? r.time_ns : now, r.record, lineOrigin(w.dev, w.ino, w.held_offset));
    }
    if (!force) break;
  }
  uint64_t commit = w.state->held_from ? w.held_offset : w.read_offset - w.pending.size();
  if (!emit(t, w, commit)) rewind(w, now);
}

void TailRun::updatePos(Target& t) {
  if (!pos_ || t.chain.empty()) return;
  const Watcher& front = *t.chain.front();
  pos_->set(t.path, front.commit_offset, front.ino);
}

void TailRun::maybeWritePos(int64_t now, bool force) {
  if (!pos_ || !pos_->dirty()) return;
  if (!force && now - last_pos_write_ns_ < kPosWriteIntervalNs) return;
  Status s = pos_->write();
  if (!s) in_.log().error(s.message());
  last_pos_write_ns_ = now;
}

// A path that no longer matches the globs (deleted, excluded) is let go once its file is
// read to the end, nothing is held, and rotate_wait has passed.
void TailRun::dropFinishedTargets() {
  const int64_t now = nowNs();
  for (auto it = targets_.begin(); it != targets_.end();) {
    Target& t = *it->second;
    Watcher* w = t.chain.size() == 1 ? t.chain.front().get() : nullptr;
    bool done = !t.matched && w != nullptr && w->at_eof && !(w->state && w->state->held_from);
    if (done && w->rotated_at_ns == 0) w->rotated_at_ns = now;
    if (!done || now - w->rotated_at_ns < cfg_.rotate_wait.nanos()) {
      ++it;
      continue;
    }
    if (pos_) pos_->remove(t.path);
    for (auto& [wd, list] : file_wds_) list.erase(std::remove(list.begin(), list.end(), &t), list.end());
    it = targets_.erase(it);
  }
}

}  // namespace

Status TailInput::run(EventSink& out, const StopToken& stop) {
  TailRun run(*this, out, stop);
  return run.run();
}

}  // namespace sluice::plugins::in_tail
