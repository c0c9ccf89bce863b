// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small file helpers shared by the tests: files an input reads (tail, reload, the CLI tools),
// a nameless file a plugin writes to (stdout). Kept apart from test_support.h, which nearly every test includes, so that a
// helper added here rebuilds only the tests that use it. Called on any thread.

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <string_view>

namespace sluice::testing {

// Appends `data` to `path` (created if missing) and closes it, as a logging process's write.
inline void appendFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// A temporary file with no name (unlinked at once) for a plugin to write to through its
// descriptor, as it would to stdout; text() reads back all that was written. The descriptor is
// closed at destruction.
class AnonymousFile {
 public:
  AnonymousFile() {
    char path[] = "/tmp/sluice-test-fd-XXXXXX";
    fd_ = ::mkstemp(path);
    if (fd_ >= 0) ::unlink(path);
  }
  ~AnonymousFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  AnonymousFile(const AnonymousFile&) = delete;
  AnonymousFile& operator=(const AnonymousFile&) = delete;

  int fd() const { return fd_; }  // -1 when mkstemp failed
  std::string text() const {
    std::string out;
    char buf[65536];
    for (off_t at = 0;;) {
      const ssize_t n = ::pread(fd_, buf, sizeof(buf), at);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
      at += n;
    }
  }

 private:
  int fd_ = -1;
};

}  // namespace sluice::testing
