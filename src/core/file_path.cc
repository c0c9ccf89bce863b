// SPDX-License-Identifier: Apache-2.0
#include "core/file_path.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace sluice {

Status makeParentDirs(const std::string& path) {
  for (size_t i = 1; i < path.size(); ++i) {
    if (path[i] != '/') continue;
    std::string dir = path.substr(0, i);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::ioError("cannot create directory " + dir + ": " + std::strerror(errno));
    }
  }
  return Status::ok();
}

}  // namespace sluice
