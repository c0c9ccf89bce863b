// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/element.h"
#include "config/parser.h"
#include "core/plugin_api.h"
#include "engine/registry.h"
#include "engine/standalone.h"
#include "monitor/metrics.h"

namespace sluice::testing {

// Builds plugins from config text (the body of the section, without <...>) through the real
// parser and registry; mustMake() aborts on a config error.
class PluginFactory : public engine::StandaloneFactory {
 public:
  template <class T>
  std::unique_ptr<T> mustMake(PluginKind kind, std::string_view type, std::string_view body);
};

// A batch holding the given JSON records (each a JSON object), all with `tag`.
Batch batchOf(const std::vector<std::string>& json_records, std::string_view tag = "test",
              int64_t time_ns = 1'700'000'000'000'000'000);
std::vector<std::string> jsonRecords(const Batch& batch);

// Parses config text with a controlled environment.
config::Element parseConfig(std::string_view text,
                            const config::EvalEnvironment& env = config::EvalEnvironment{});

// Polls `pred` until it holds or `timeout` passes.
bool waitFor(const std::function<bool()>& pred,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A temporary directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

std::string readFile(const std::string& path);
void writeFile(const std::string& path, std::string_view data);

// Runs the built sluice binary with `args`, feeding `input` on stdin.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
RunResult runSluice(const std::vector<std::string>& args, std::string_view input = "",
                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A sluice process running in the background (for signals and long-running inputs).
class SluiceProcess {
 public:
  // `in_child` runs in the forked child before exec (resource limits, another user).
  SluiceProcess(const std::vector<std::string>& args, const std::string& stdout_path,
                const std::function<void()>& in_child = {});
  ~SluiceProcess();
  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits for exit; returns the exit code (or 128+signal), or -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

std::string sharedDir();  // ../shared next to the checkout
bool sharedFixturesPresent();

template <class T>
std::unique_ptr<T> PluginFactory::mustMake(PluginKind kind, std::string_view type, std::string_view body) {
  auto p = make(kind, type, body);
  if (!p) {
    fprintf(stderr, "plugin config error: %s\n", p.status().message().c_str());
    std::abort();
  }
  return std::unique_ptr<T>(static_cast<T*>(p->release()));
}

}  // namespace sluice::testing
