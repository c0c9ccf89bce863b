// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/plugin_api.h"

namespace sluice::testing {

// A test-only output: keeps "tag json" lines per @id, for tests to inspect. Thread-safe.
class CaptureStore {
 public:
  static CaptureStore& get();
  void add(const std::string& id, std::string line);
  std::vector<std::string> lines(const std::string& id);
  void clear();

 private:
  std::mutex mu_;
  std::map<std::string, std::vector<std::string>> lines_;
};

const PluginDescriptor& captureOutputDescriptor();

}  // namespace sluice::testing
