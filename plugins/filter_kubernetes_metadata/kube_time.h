// SPDX-License-Identifier: Apache-2.0
#pragma once

// The filter's fixed intervals, and the monotonic time of the waits that bound other threads'
// requests (the cache's timers and back-offs run on the filter's Clock instead). Shared by the
// files of the plugin. Threading: constants and a clock read; any thread.

#include <chrono>
#include <cstdint>

namespace sluice::plugins::filter_kubernetes_metadata {

inline int64_t monoNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline constexpr int64_t kSecond = 1'000'000'000;
inline constexpr int kMaxTagGroups = 64;  // capture groups of the tag regexp, the whole match included
inline constexpr int64_t kMaxBackoffNs = 60 * kSecond;
inline constexpr int64_t kKubeletListIntervalNs = kSecond;  // at most one kubelet /pods per second

}  // namespace sluice::plugins::filter_kubernetes_metadata
