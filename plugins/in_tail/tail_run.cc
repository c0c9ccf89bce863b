// SPDX-License-Identifier: Apache-2.0
// The tail's loop (TailRun::run, on the input's thread): expands the globs at start, then
// services the paths that inotify or the 1 s tick marked, flushes held multi-line events,
// records delivered positions, lets finished paths go, and sleeps in poll() until the next
// inotify event, timer or stop. Also the bookkeeping the loop owns: the inotify descriptor and
// its watches, and the pos_file (rewritten from memory at most every 200 ms and at stop).

#include "plugins/in_tail/tail_run.h"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace sluice::plugins::in_tail {

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
  int64_t now = clock_.nowNs();
  if (!cfg_.skip_refresh_on_startup) refresh(true);
  next_refresh_ns_ = now + cfg_.refresh_interval.nanos();
  next_tick_ns_ = now + kNanosPerSecond;
  while (!stop_.stopRequested()) {
    now = clock_.nowNs();
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
    // A retry or a rotate_wait already due makes its path due now: service() only looks at
    // dirty paths, and a deadline in the past would otherwise be polled for until the next
    // tick (up to a second of turns; on a test's clock, until the test moves it).
    now = clock_.nowNs();
    int64_t wake = std::min(next_refresh_ns_, cfg_.enable_watch_timer ? next_tick_ns_ : next_refresh_ns_);
    bool busy = false;
    for (auto& [path, t] : targets_) {
      for (auto& w : t->chain) {
        if (w->retry_at_ns) {
          if (w->retry_at_ns > now) {
            wake = std::min(wake, w->retry_at_ns);
          } else if (w.get() == t->chain.front().get()) {
            t->dirty = true;
          }
        }
        if (w->state && w->state->held_from) {
          wake = std::min(wake, w->state->held_since_ns + cfg_.multiline_flush_interval.nanos());
        }
        if (w->rotated_at_ns && w->at_eof) {
          const int64_t due = w->rotated_at_ns + cfg_.rotate_wait.nanos();
          if (due > now) {
            wake = std::min(wake, due);
          } else if (t->chain.size() > 1 && w.get() == t->chain.front().get() && w->unacked.empty() && !w->retry_at_ns) {
            t->dirty = true;  // drained and rotate_wait over: let it go now, not at the next tick
          }
        }
      }
      if (t->dirty) busy = true;
    }
    if (pos_ && pos_->dirty()) wake = std::min(wake, last_pos_write_ns_ + kPosWriteIntervalNs);
    if (waiting_for_acks) wake = std::min(wake, now + 50 * kMs);
    // Until the earliest of them on the input's clock (a test's ManualClock moves it), a minute
    // at most; not at all while a path is still busy.
    const int64_t deadline = busy ? now : std::min(wake, now + 60 * kNanosPerSecond);
    struct pollfd fds[2] = {{stop_.fd(), POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    int rc = pollUntil(fds, inotify_fd_ >= 0 ? 2 : 1, deadline);
    if (rc < 0 && errno != EINTR) return Status::ioError(std::string("poll: ") + std::strerror(errno));
    if (fds[0].revents & POLLIN) break;
    if (inotify_fd_ >= 0 && (fds[1].revents & POLLIN)) drainInotify();
    now = clock_.nowNs();
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
  // Real time, not the input's clock: this bounds a wait for other threads (the flush threads).
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
  maybeWritePos(clock_.nowNs(), true);
  return Status::ok();
}

int TailRun::pollUntil(struct pollfd* fds, nfds_t n, int64_t deadline_ns) {
  if (&clock_ == &Clock::system()) {
    const int64_t left_ms = (deadline_ns - clock_.nowNs() + kMs - 1) / kMs;  // rounded up: no busy turn before it
    return ::poll(fds, n, static_cast<int>(std::clamp<int64_t>(left_ms, 0, 60'000)));
  }
  // A test's clock moves only when the test moves it: look at the descriptors, then wait on the
  // clock (a few ms of real time at most; ManualClock::awaitWaiters counts this thread
  // meanwhile), and let the loop look at the time again.
  int rc = ::poll(fds, n, 0);
  if (rc != 0) return rc;
  std::unique_lock lock(wait_mu_);
  clock_.waitUntil(wait_cv_, lock, deadline_ns);
  return ::poll(fds, n, 0);
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
  const int64_t now = clock_.nowNs();
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
    leaveGroup(t);
    for (auto& [wd, list] : file_wds_) list.erase(std::remove(list.begin(), list.end(), &t), list.end());
    it = targets_.erase(it);
  }
}

Status TailInput::run(EventSink& out, const StopToken& stop) {
  TailRun run(*this, out, stop);
  return run.run();
}

}  // namespace sluice::plugins::in_tail
