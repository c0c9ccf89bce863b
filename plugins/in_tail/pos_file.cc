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

}  // namespace

std::vector<PosFile::Entry> PosFile::parse(std::string_view text) {
  std::vector<Entry> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    size_t t2 = line.rfind('\t');
    if (t2 == std::string_view::npos || t2 == 0) continue;
    size_t t1 = line.rfind('\t', t2 - 1);
    if (t1 == std::string_view::npos) continue;
    Entry e;
    e.path = std::string(line.substr(0, t1));
    if (!parseHex(line.substr(t1 + 1, t2 - t1 - 1), e.offset)) continue;
    if (!parseHex(line.substr(t2 + 1), e.inode)) continue;
    if (e.offset == kUnwatched) continue;
    bool replaced = false;
    for (Entry& prev : out) {
      if (prev.path == e.path && prev.inode == e.inode) {
        prev = e;
        replaced = true;
      }
    }
    if (!replaced) out.push_back(std::move(e));
  }
  return out;
}

std::string PosFile::format(const std::vector<Entry>& entries) {
  std::string out;
  char buf[40];
  for (const Entry& e : entries) {
    out += e.path;
    std::snprintf(buf, sizeof(buf), "\t%016llx\t%016llx\n", static_cast<unsigned long long>(e.offset),
                  static_cast<unsigned long long>(e.inode));
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

void PosFile::set(const std::string& path, uint64_t offset, uint64_t inode) {
  auto it = current_.find(path);
  if (it != current_.end() && it->second.offset == offset && it->second.inode == inode) return;
  current_[path] = Entry{path, offset, inode};
  dirty_ = true;
}

void PosFile::remove(const std::string& path) {
  if (current_.erase(path)) dirty_ = true;
}

Status PosFile::write() {
  std::vector<Entry> entries;
  for (const auto& [p, e] : current_) entries.push_back(e);
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
