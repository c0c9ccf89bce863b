// SPDX-License-Identifier: Apache-2.0
#include "support/test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/json.h"

namespace sluice::testing {

Batch batchOf(const std::vector<std::string>& json_records, std::string_view tag, int64_t time_ns) {
  Batch batch;
  std::string_view stable_tag = batch.arena().copy(tag);
  for (const std::string& j : json_records) {
    auto v = parseJson(j, batch.arena());
    if (!v) {
      fprintf(stderr, "bad test JSON: %s\n", j.c_str());
      std::abort();
    }
    batch.add(stable_tag, time_ns, *v);
  }
  return batch;
}

std::vector<std::string> jsonRecords(const Batch& batch) {
  std::vector<std::string> out;
  for (const Event& e : batch.events()) out.push_back(toJson(e.record));
  return out;
}

config::Element parseConfig(std::string_view text, const config::EvalEnvironment& env) {
  auto root = config::parseConfigText(text, "(test)", ".", env);
  if (!root) {
    fprintf(stderr, "config error: %s\n", root.status().message().c_str());
    std::abort();
  }
  return std::move(*root);
}

bool waitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling interval of the wait
  }
  return pred();
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/sluice-test-XXXXXX";
  char* p = mkdtemp(tmpl);
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

namespace {

// Every sluice the tests start serves its monitor on a port of its own choosing (as port 0),
// so that processes running side by side do not fight over the default port. Set before any
// thread runs; the children inherit it.
[[maybe_unused]] const bool kMonitorOnAnyPort = setenv("SLUICE_MONITOR_PORT", "0", 0) == 0;

std::vector<char*> argvOf(const std::vector<std::string>& args, std::vector<std::string>& storage) {
  storage.clear();
  storage.push_back(SLUICE_BINARY);
  for (const auto& a : args) storage.push_back(a);
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

RunResult runSluice(const std::vector<std::string>& args, std::string_view input,
                    std::chrono::milliseconds timeout) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) || pipe2(out_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC)) std::abort();
  std::vector<std::string> storage;
  auto argv = argvOf(args, storage);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  RunResult r;
  size_t written = 0;
  bool in_open = true;
  if (input.empty()) {
    close(in_pipe[1]);
    in_open = false;
  }
  bool out_open = true, err_open = true;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out_open || err_open) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      break;
    }
    struct pollfd fds[3] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0},
                            {in_open ? in_pipe[1] : -1, POLLOUT, 0}};
    if (poll(fds, 3, 100) <= 0) continue;
    char buf[65536];
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(out_pipe[0], buf, sizeof(buf));
      if (n <= 0) out_open = false; else r.out.append(buf, n);
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(err_pipe[0], buf, sizeof(buf));
      if (n <= 0) err_open = false; else r.err.append(buf, n);
    }
    if (in_open && (fds[2].revents & (POLLOUT | POLLERR))) {
      ssize_t n = write(in_pipe[1], input.data() + written, input.size() - written);
      if (n > 0) written += n;
      if (n < 0 || written == input.size()) {
        close(in_pipe[1]);
        in_open = false;
      }
    }
  }
  if (in_open) close(in_pipe[1]);
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

SluiceProcess::SluiceProcess(const std::vector<std::string>& args, const std::string& stdout_path,
                             const std::function<void()>& in_child) {
  std::vector<std::string> storage;
  auto argv = argvOf(args, storage);
  pid_ = fork();
  if (pid_ == 0) {
    int fd = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open((stdout_path + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(fd, 1);
    dup2(err, 2);
    if (in_child) in_child();
    execv(argv[0], argv.data());
    _exit(127);
  }
}

SluiceProcess::~SluiceProcess() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void SluiceProcess::signal(int sig) { kill(pid_, sig); }

int SluiceProcess::wait(std::chrono::milliseconds timeout) {
  // The exit is awaited on a pidfd (readable once the child has exited), not polled; where
  // pidfd_open is refused (an old kernel, a seccomp filter), waitpid is polled every 10 ms.
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int code = -1;
  for (;;) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    if (pidfd >= 0) {
      struct pollfd p = {pidfd, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count() + 1, 60'000)));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval
    }
  }
  if (pidfd >= 0) ::close(pidfd);
  return code;
}

std::string sharedDir() { return SLUICE_SHARED_DIR; }

bool sharedFixturesPresent() {
  struct stat st;
  return stat((sharedDir() + "/fixtures").c_str(), &st) == 0;
}

}  // namespace sluice::testing
