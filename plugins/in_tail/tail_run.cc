// SPDX-License-Identifier: Apache-2.0
// The tail input's reading loop: one thread, every file of the input.

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
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
constexpr size_t kMaxKnownFiles = 256;                    // per path: files already seen
constexpr int64_t kCyclingReportNs = 30 * kNanosPerSecond;

// Descriptors held by every tail input of the process, and how many they may hold (set by the
// first tail run from RLIMIT_NOFILE and the descriptors already open). Beyond it, files are
// read in turns: read to the end, closed, reopened from their position later.
std::atomic<int> g_open_files{0};
std::atomic<int> g_file_budget{0};

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
};

std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string baseOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string realPathOf(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) return buf;
  return path;
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Names compared with digit runs as numbers: 0.log.999 < 0.log.1000, and the kubelet's
// 0.log.20261122-010000 sorts by time.
bool naturalLess(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    bool da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
    if (da && db) {
      size_t ie = i, je = j;
      while (ie < a.size() && a[ie] == '0') ++ie;
      while (je < b.size() && b[je] == '0') ++je;
      size_t is = ie, js = je;
      while (ie < a.size() && a[ie] >= '0' && a[ie] <= '9') ++ie;
      while (je < b.size() && b[je] >= '0' && b[je] <= '9') ++je;
      if (ie - is != je - js) return ie - is < je - js;
      int c = a.substr(is, ie - is).compare(b.substr(js, je - js));
      if (c != 0) return c < 0;
      i = ie;
      j = je;
    } else {
      if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// The first bytes of a file (decompressed for a gzip file), up to Fingerprint::kBytes.
size_t readPrefix(int fd, char* out) {
  ssize_t n = ::pread(fd, out, Fingerprint::kBytes, 0);
  return n > 0 ? static_cast<size_t>(n) : 0;
}
size_t readPathPrefix(const std::string& path, char* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return 0;
  size_t n = readPrefix(fd, out);
  ::close(fd);
  return n;
}
size_t readGzPrefix(const std::string& path, char* out) {
  gzFile gz = ::gzopen(path.c_str(), "rb");
  if (gz == nullptr) return 0;
  int n = ::gzread(gz, out, Fingerprint::kBytes);
  ::gzclose(gz);
  return n > 0 ? static_cast<size_t>(n) : 0;
}
Fingerprint fingerprintOf(const char* data, size_t n) {
  Fingerprint fp;
  fp.len = static_cast<uint32_t>(std::min<size_t>(n, Fingerprint::kBytes));
  fp.hash = fingerprintHash(data, fp.len);
  return fp;
}
// Whether bytes begin as the file `fp` was taken from did (an empty fingerprint: unknown, true).
bool prefixMatches(const char* data, size_t n, const Fingerprint& fp) {
  if (fp.empty()) return true;
  return n >= fp.len && fingerprintHash(data, fp.len) == fp.hash;
}

// Rotated siblings of `base` in `dir` (`base.<suffix>`, not the kubelet's `.tmp` files being
// compressed), oldest first by name.
std::vector<Sibling> listSiblings(const std::string& dir, const std::string& base) {
  std::vector<Sibling> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  const std::string prefix = base + ".";
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix || endsWith(name, ".tmp")) continue;
    struct stat st;
    if (::fstatat(::dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode)) continue;
    Sibling s;
    s.path = dir + "/" + e->d_name;
    s.gz = endsWith(name, ".gz");
    s.sort_name = std::string(s.gz ? name.substr(0, name.size() - 3) : name);
    s.dev = st.st_dev;
    s.ino = st.st_ino;
    s.size = static_cast<uint64_t>(st.st_size);
    out.push_back(std::move(s));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), [](const Sibling& a, const Sibling& b) { return naturalLess(a.sort_name, b.sort_name); });
  return out;
}

int countOpenDescriptors() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (struct dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
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
  int64_t next_lag_ns_ = 0;  // the lag gauge is measured once a second
  LineBuffer buffer_;
  std::unique_ptr<char[]> gz_scratch_;  // decompressed bytes on their way into buffer_
  Batch batch_;
  std::vector<std::string_view> lines_;
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

// How long a stopping tail waits for its batches' delivery (the buffers flush meanwhile).
constexpr int64_t kStopDrainNs = 5 * kNanosPerSecond;

Status TailRun::run() {
  if (g_file_budget.load() == 0) {
    struct rlimit rl {};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    int64_t soft = rl.rlim_cur == RLIM_INFINITY ? (1 << 20) : static_cast<int64_t>(rl.rlim_cur);
    // What the rest of the process holds now, and room for what it opens later (buffer
    // chunks, connections, the pos_file's temporary).
    int64_t reserve = countOpenDescriptors() + std::max<int64_t>(16, soft / 8);
    int expected = 0;
    g_file_budget.compare_exchange_strong(expected, static_cast<int>(std::clamp<int64_t>(soft - reserve, 4, 1 << 20)));
  }
  if (cfg_.pos_file) {
    pos_ = std::make_unique<PosFile>(*cfg_.pos_file);
    Status s = pos_->load();
    if (!s) return s;
    saved_ = pos_->loaded();
  }
  setupSymlinkRoots();
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
    if (now >= next_lag_ns_) {
      // Bytes written to the followed files and not read yet: an fstat per open file, once a
      // second (a closed file waiting for a descriptor counts with the size last seen).
      uint64_t lag = 0;
      for (auto& [path, t] : targets_) {
        for (auto& w : t->chain) {
          uint64_t size = w->size_seen;
          struct stat st;
          if (w->fd >= 0 && w->gz == nullptr && ::fstat(w->fd, &st) == 0) size = static_cast<uint64_t>(st.st_size);
          if (size > w->read_offset) lag += size - w->read_offset;
        }
      }
      in_.metrics().lag_bytes->set(static_cast<double>(lag));
      next_lag_ns_ = now + kNanosPerSecond;
    }
    if (cycling_) reportCycling(now);

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
    // Files waiting for a descriptor or denied by permission are tried again every second (a
    // chmod is picked up at once).
    if (rescan_ || now >= next_refresh_ns_ ||
        ((!waiting_paths_.empty() || !unreadable_.empty()) && now >= next_tick_ns_)) {
      refresh(false);
      rescan_ = false;
      if (now >= next_refresh_ns_) next_refresh_ns_ = now + cfg_.refresh_interval.nanos();
    }
    if (cfg_.enable_watch_timer && now >= next_tick_ns_) {
      for (auto& [path, t] : targets_) t->dirty = t->check = true;
      next_tick_ns_ = now + kNanosPerSecond;
    }
  }
  // Stopping: the engine has asked the buffers to send what they hold (flush_at_shutdown).
  // Wait a little for what was read to be delivered, so that the position records it instead
  // of the next start reading it again (memory buffers; a file buffer acknowledges at once).
  const int64_t drain_until = nowNs() + kStopDrainNs;
  while (true) {
    bool waiting = false;
    for (auto& [path, t] : targets_) {
      if (t->chain.empty()) continue;
      advanceAcks(*t, *t->chain.front());
      if (!t->chain.front()->unacked.empty()) waiting = true;
    }
    if (!waiting || nowNs() >= drain_until) break;
    ::poll(nullptr, 0, 20);
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
    next_cycling_report_ns_ = nowNs() + kCyclingReportNs;
  }
  victim->closeFile();
  victim->closed_at_ns = nowNs();
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

std::unique_ptr<Watcher> TailRun::openWatcher(const std::string& path, Target& t) {
  int fd = openFd(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == EACCES || errno == EPERM) {
      // Reported when first seen, then once per refresh_interval unless
      // ignore_repeated_permission_error; tried again every second.
      const int64_t now = nowNs();
      auto [it, first] = unreadable_.emplace(path, now);
      if (first || (!cfg_.ignore_repeated_permission_error && now - it->second >= cfg_.refresh_interval.nanos())) {
        in_.log().warn("Permission denied: cannot read " + path + " (tried again every second)");
        it->second = now;
      }
    }
    if (errno == EMFILE && !waiting_paths_.count(path)) {
      waiting_paths_[path] = nowNs();
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
    in_.log().info("Opened " + path + " after waiting " + std::to_string((nowNs() - it->second) / kMs) +
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
  w->last_used_ns = nowNs();
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
  w->last_used_ns = nowNs();
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
  w->rotated_at_ns = nowNs() - cfg_.rotate_wait.nanos();  // already rotated: just drain
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
  for (const Sibling& s : siblings) {
    if (!after.empty() && !naturalLess(after, s.sort_name)) continue;
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
      w->rotated_at_ns = nowNs() - cfg_.rotate_wait.nanos();
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

void TailRun::service(Target& t, int64_t now) {
  t.dirty = false;
  if (t.check) checkPath(t, now);
  while (!t.chain.empty()) {
    Watcher& w = *t.chain.front();
    if (w.retry_at_ns > now) return;
    w.retry_at_ns = 0;
    if (!w.isOpen() && !w.gone) {
      Reopen r = reopen(t, w, now);
      if (r == Reopen::kNoDescriptor) {
        t.dirty = true;
        return;
      }
      if (r == Reopen::kGone) w.gone = w.at_eof = true;
    }
    const bool gone = w.gone;
    if (!gone && w.isOpen()) {
      if (readWatcher(t, w, now)) {
        t.dirty = true;  // a limit was reached: come back after the other files
        return;
      }
    }
    if (!w.at_eof || w.retry_at_ns || t.chain.size() == 1) return;
    // An older file of the path (rotated away): keep reading it for rotate_wait, as the
    // runtime may still write to it, then emit what the parser holds and move on.
    if (!gone && now - w.rotated_at_ns < cfg_.rotate_wait.nanos()) return;
    flushHeld(t, w, true, now);
    if (w.state && w.state->held_from) return;  // not accepted: try again later
    advanceAcks(t, w);
    if (!w.unacked.empty()) return;  // its last batches are not delivered yet
    refreshFingerprint(w, true);
    remember(t, w.dev, w.open_ino, w.fp);
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
    ssize_t n = fillFrom(w, allowed);
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
    w.size_seen = std::max(w.size_seen, w.read_offset);
    w.last_used_ns = now;
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

// One read into buffer_: from the descriptor, or decompressed from a gzip stream.
ssize_t TailRun::fillFrom(Watcher& w, size_t allowed) {
  if (w.gz == nullptr) return buffer_.fill(w.fd, allowed);
  if (!gz_scratch_) gz_scratch_.reset(new char[kReadSize]);
  int n = ::gzread(w.gz, gz_scratch_.get(), static_cast<unsigned>(std::min(kReadSize, allowed)));
  if (n < 0) {
    int err = 0;
    in_.log().error("Cannot decompress " + w.name + ": " + ::gzerror(w.gz, &err) + "; the rest of it is not read");
    in_.metrics().lost_files->add(1);
    return 0;
  }
  buffer_.append(std::string_view(gz_scratch_.get(), static_cast<size_t>(n)));
  return n;
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
  if (w.gz != nullptr) {
    ::gzseek(w.gz, static_cast<z_off_t>(from), SEEK_SET);
  } else if (w.fd >= 0) {
    ::lseek(w.fd, static_cast<off_t>(from), SEEK_SET);
  }
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

// The fingerprint grows with the file up to Fingerprint::kBytes: after reads past it, or
// (`force`) whatever the file holds now, read or not.
void TailRun::refreshFingerprint(Watcher& w, bool force) {
  if (w.fp.len >= Fingerprint::kBytes || w.gz != nullptr || w.fd < 0 || (!force && w.read_offset <= w.fp.len)) return;
  char prefix[Fingerprint::kBytes];
  w.fp = fingerprintOf(prefix, readPrefix(w.fd, prefix));
}

// Records every file of the path still to be finished, oldest first: after a restart the
// rotated ones are found beside the path and finished before the one at the path.
void TailRun::updatePos(Target& t) {
  if (!pos_ || t.chain.empty()) return;
  std::vector<PosFile::Entry> chain;
  chain.reserve(t.chain.size());
  for (auto& w : t.chain) {
    refreshFingerprint(*w);
    chain.push_back(PosFile::Entry{t.path, w->commit_offset, w->ino, w->fp});
  }
  pos_->set(t.path, std::move(chain));
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
    // The glob may have been expanded while a rotation had the path missing for a moment (the
    // kubelet renames 0.log, then creates it; a /var/log/containers link dangles meanwhile):
    // a path that is back is still followed. Letting it go would forget the files rotated
    // before it is found again.
    struct stat st;
    if (::stat(t.path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        (cfg_.limit_recently_modified.seconds == 0 ||
         now / kNanosPerSecond - st.st_mtime <= static_cast<int64_t>(cfg_.limit_recently_modified.seconds))) {
      t.matched = true;
      if (static_cast<uint64_t>(st.st_ino) == w->open_ino && static_cast<uint64_t>(st.st_dev) == w->dev) w->rotated_at_ns = 0;
      t.check = t.dirty = true;
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
