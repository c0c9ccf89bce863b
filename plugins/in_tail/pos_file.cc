// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_tail/pos_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace sluice::plugins::in_tail {
namespace {

constexpr uint64_t kUnwatched = 0xffffffffffffffffULL;

bool parseHex(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 16) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// sluice's fourth column: `<length hex>:<hash hex>`, then `:p` when the path is percent-encoded.
bool parseFingerprint(std::string_view s, Fingerprint& out, bool& encoded) {
  encoded = s.ends_with(":p");
  if (encoded) s.remove_suffix(2);
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  uint64_t len = 0, hash = 0;
  if (!parseHex(s.substr(0, colon), len) || len > Fingerprint::kBytes) return false;
  if (!parseHex(s.substr(colon + 1), hash)) return false;
  out = len == 0 ? Fingerprint{} : Fingerprint{static_cast<uint32_t>(len), hash};  // 0 bytes match nothing
  return true;
}

// A path holding a newline cannot be the first column of a line as it is: it is written with
// '%' and '\n' percent-encoded, and `:p` after the fingerprint says so. (Fluentd cannot record
// such a file at all; it ignores the line.) Other paths, whatever bytes they hold (tabs too:
// the columns are found from the end), are written as they are.
bool needsEncoding(std::string_view path) { return path.find('\n') != std::string_view::npos; }

void appendEncoded(std::string& out, std::string_view path) {
  for (char c : path) {
    if (c == '%') {
      out += "%25";
    } else if (c == '\n') {
      out += "%0A";
    } else {
      out += c;
    }
  }
}

std::string decoded(std::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    uint64_t byte = 0;
    if (path[i] == '%' && i + 2 < path.size() && parseHex(path.substr(i + 1, 2), byte)) {
      out += static_cast<char>(byte);
      i += 2;
    } else {
      out += path[i];
    }
  }
  return out;
}

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

uint64_t fingerprintHash(const char* p, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

Status PosFile::checkWritable(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::invalidConfig("pos_file " + path + " is a directory");
  }
  std::string dir = parentOf(path);
  while (true) {
    if (::stat(dir.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) return Status::invalidConfig("pos_file " + path + ": " + dir + " is not a directory");
      // access() for the permission bits, then a file created and removed: root passes
      // access() on a read-only or immutable folder.
      int err = ::access(dir.c_str(), W_OK | X_OK) == 0 ? 0 : errno;
      if (err == 0) {
        std::string probe = dir + "/.sluice-write-check-" + std::to_string(::getpid());
        int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
          err = errno == EEXIST ? 0 : errno;
        } else {
          ::close(fd);
          ::unlink(probe.c_str());
        }
      }
      if (err != 0) {
        return Status::invalidConfig("pos_file " + path + " cannot be written: its folder " + dir + " is not writable (" +
                                     std::strerror(err) + "); positions could not be kept and every line would be read again after a restart");
      }
      return Status::ok();
    }
    if (errno != ENOENT) {
      return Status::invalidConfig("pos_file " + path + ": cannot inspect " + dir + ": " + std::strerror(errno));
    }
    std::string up = parentOf(dir);
    if (up == dir) return Status::ok();
    dir = up;
  }
}

std::vector<PosFile::Entry> PosFile::parse(std::string_view text) {
  std::vector<Entry> out;
  std::map<std::pair<std::string, uint64_t>, size_t> index;  // path, inode -> its entry
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    Entry e;
    bool encoded = false;
    size_t t3 = line.rfind('\t');
    if (t3 != std::string_view::npos && parseFingerprint(line.substr(t3 + 1), e.fp, encoded)) line = line.substr(0, t3);
    size_t t2 = line.rfind('\t');
    if (t2 == std::string_view::npos || t2 == 0) continue;
    size_t t1 = line.rfind('\t', t2 - 1);
    if (t1 == std::string_view::npos) continue;
    std::string_view path = line.substr(0, t1);
    if (!parseHex(line.substr(t1 + 1, t2 - t1 - 1), e.offset)) continue;
    if (!parseHex(line.substr(t2 + 1), e.inode)) continue;
    if (e.offset == kUnwatched) continue;
    e.path = encoded ? decoded(path) : std::string(path);
    // A later line for the same file wins, at the place of the first.
    auto [it, fresh] = index.try_emplace(std::pair{e.path, e.inode}, out.size());
    if (fresh) {
      out.push_back(std::move(e));
    } else {
      out[it->second] = std::move(e);
    }
  }
  return out;
}

std::string PosFile::format(const std::vector<Entry>& entries) {
  std::string out;
  char buf[80];
  for (const Entry& e : entries) {
    const bool encode = needsEncoding(e.path);
    if (encode) {
      appendEncoded(out, e.path);
    } else {
      out += e.path;
    }
    if (e.fp.empty() && !encode) {
      std::snprintf(buf, sizeof(buf), "\t%016llx\t%016llx\n", static_cast<unsigned long long>(e.offset),
                    static_cast<unsigned long long>(e.inode));
    } else {
      std::snprintf(buf, sizeof(buf), "\t%016llx\t%016llx\t%x:%016llx%s\n", static_cast<unsigned long long>(e.offset),
                    static_cast<unsigned long long>(e.inode), e.fp.len, static_cast<unsigned long long>(e.fp.hash),
                    encode ? ":p" : "");
    }
    out += buf;
  }
  return out;
}

Status PosFile::load() {
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::ok();
    return Status::ioError("cannot read pos_file " + path_ + ": " + std::strerror(errno));
  }
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  loaded_ = parse(text);
  return Status::ok();
}

void PosFile::set(const std::string& path, std::vector<Entry> chain) {
  auto it = current_.find(path);
  if (it != current_.end() && it->second == chain) return;
  current_[path] = std::move(chain);
  dirty_ = true;
}

void PosFile::remove(const std::string& path) {
  if (current_.erase(path)) dirty_ = true;
}

Status PosFile::write() {
  std::vector<Entry> entries;
  for (const auto& [p, chain] : current_) entries.insert(entries.end(), chain.begin(), chain.end());
  std::string text = format(entries);
  std::string tmp = path_ + ".tmp";
  for (size_t i = 1; i < path_.size(); ++i) {
    if (path_[i] == '/') ::mkdir(path_.substr(0, i).c_str(), 0755);
  }
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::ioError("cannot write " + tmp + ": " + std::strerror(errno));
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t w = ::write(fd, rest.data(), rest.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      Status s = Status::ioError("cannot write " + tmp + ": " + std::strerror(errno));
      ::close(fd);
      return s;
    }
    rest.remove_prefix(static_cast<size_t>(w));
  }
  ::fdatasync(fd);  // a power loss leaves the old file or the new one, never an empty one
  ::close(fd);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    return Status::ioError("cannot rename " + tmp + ": " + std::strerror(errno));
  }
  dirty_ = false;
  return Status::ok();
}

}  // namespace sluice::plugins::in_tail
