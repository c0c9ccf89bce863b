// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_forward/chunk_ids.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace sluice::plugins::in_forward {

ChunkIdMemory::~ChunkIdMemory() {
  if (fd_ >= 0) ::close(fd_);
}

Status ChunkIdMemory::open(const std::string& path) {
  path_ = path;
  {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line.size() > 256) continue;  // a torn last line is skipped
      if (ids_.insert(line).second) order_.push_back(line);
      ++lines_in_file_;
      if (order_.size() > capacity_) {
        ids_.erase(order_.front());
        order_.pop_front();
      }
    }
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) return Status::ioError("cannot open chunk_id_path " + path + ": " + std::strerror(errno));
  return Status::ok();
}

void ChunkIdMemory::add(std::string_view id) {
  if (id.empty() || id.size() > 256 || id.find('\n') != std::string_view::npos) return;
  std::string key(id);
  if (!ids_.insert(key).second) return;
  order_.push_back(std::move(key));
  if (order_.size() > capacity_) {
    ids_.erase(order_.front());
    order_.pop_front();
  }
  if (fd_ < 0) return;
  std::string line(id);
  line += '\n';
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return;
  if (++lines_in_file_ >= 2 * capacity_) rewrite();
}

void ChunkIdMemory::rewrite() {
  const std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string all;
  for (const std::string& id : order_) all.append(id).append("\n");
  bool ok = ::write(fd, all.data(), all.size()) == static_cast<ssize_t>(all.size());
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return;
  }
  ::close(fd_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  lines_in_file_ = order_.size();
}

}  // namespace sluice::plugins::in_forward
