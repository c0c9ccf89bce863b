// SPDX-License-Identifier: Apache-2.0
#include "core/plugin_base.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>

namespace sluice {

std::string_view pluginKindName(PluginKind kind) {
  switch (kind) {
    case PluginKind::Input: return "input";
    case PluginKind::Parser: return "parser";
    case PluginKind::Filter: return "filter";
    case PluginKind::Output: return "output";
    case PluginKind::Formatter: return "formatter";
  }
  return "plugin";
}

std::string_view pluginKindShortName(PluginKind kind) {
  switch (kind) {
    case PluginKind::Input: return "in";
    case PluginKind::Parser: return "parser";
    case PluginKind::Filter: return "filter";
    case PluginKind::Output: return "out";
    case PluginKind::Formatter: return "formatter";
  }
  return "plugin";
}

StopToken::StopToken() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  SLUICE_CHECK(fd_ >= 0);
}

StopToken::~StopToken() { ::close(fd_); }

void StopToken::requestStop() {
  stopped_.store(true, std::memory_order_release);
  uint64_t one = 1;
  ssize_t ignored = ::write(fd_, &one, sizeof(one));
  (void)ignored;
}

bool StopToken::sleepFor(double seconds) const {
  struct pollfd p{fd_, POLLIN, 0};
  int ms = seconds <= 0 ? 0 : static_cast<int>(std::ceil(seconds * 1000));
  while (true) {
    int rc = ::poll(&p, 1, ms);
    if (rc > 0) return false;
    if (rc == 0) return true;
    if (errno != EINTR) return true;
  }
}

}  // namespace sluice
