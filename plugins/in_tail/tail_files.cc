// SPDX-License-Identifier: Apache-2.0
// The tail's filesystem helpers (declared in tail_files.h): path names, natural order, first-byte
// fingerprints, rotated siblings. Pure functions of the filesystem; called on the tail input's
// thread.

#include "plugins/in_tail/tail_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace sluice::plugins::in_tail {

std::atomic<int> g_open_files{0};
std::atomic<int> g_file_budget{0};

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

// The deepest directory of a glob without glob characters (or strftime placeholders).
std::string globRoot(const std::string& pattern) {
  size_t g = pattern.find_first_of("*?[{%");
  std::string head = g == std::string::npos ? pattern : pattern.substr(0, g);
  return dirOf(head + "x");
}

}  // namespace sluice::plugins::in_tail
