// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the tail's tests share: the input in-process on its own thread, with real files, real
// inotify and renames, and a ManualClock: its timers (rotate_wait, multiline_flush_interval,
// the 1 s tick, pos_file writes, rate_period, refresh_interval) move only when the test moves
// the clock, and ManualClock::awaitWaiters says when the input has acted on the time and gone
// idle. No sleeps.

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "plugins/in_tail/tail_input.h"
#include "support/files.h"
#include "support/test_support.h"

namespace sluice::plugins::in_tail::testing {

namespace fs = std::filesystem;

inline constexpr auto& append = sluice::testing::appendFile;  // the name the tail's tests use

// Keeps the `message` of every event it is given, and each event as "tag json" with its time.
// Thread-safe.
class MessageSink final : public EventSink {
 public:
  Status emit(Batch& batch) override {
    std::lock_guard lock(mu_);
    for (const Event& e : batch.events()) {
      const Value* m = e.record.find("message");
      messages_.push_back(m != nullptr && m->isString() ? std::string(m->asString()) : toJson(e.record));
      records_.push_back(std::string(e.tag) + " " + toJson(e.record));
      times_.push_back(e.time_ns);
    }
    return Status::ok();
  }
  std::vector<std::string> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  size_t count() { return messages().size(); }
  // "tag json" of every event.
  std::vector<std::string> records() {
    std::lock_guard lock(mu_);
    return records_;
  }
  std::vector<int64_t> times() {
    std::lock_guard lock(mu_);
    return times_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> messages_;
  std::vector<std::string> records_;
  std::vector<int64_t> times_;
};

class TailInputTest : public ::testing::Test {
 protected:
  void TearDown() override { stopTail(); }

  // The configuration text of a tail of <dir>/<glob> with `extra` parameters and
  // `<parse> @type <parser> </parse>` (`parser` may go on with more lines of the section).
  std::string tailConfig(const std::string& extra, const std::string& parser = "none",
                         const std::string& glob = "logs/*.log") {
    return "path " + dir_.file(glob) + "\ntag t.*\npos_file " + dir_.file("tail.pos") + "\n" + extra +
           "<parse>\n@type " + parser + "\n</parse>\n";
  }
  // Starts that tail on its own thread.
  void startTail(const std::string& extra, const std::string& parser = "none", const std::string& glob = "logs/*.log") {
    fs::create_directories(dir_.file("logs"));
    factory_.setClock(clock_);
    input_ = factory_.mustMake<TailInput>(PluginKind::Input, "tail", tailConfig(extra, parser, glob));
    ASSERT_NE(input_, nullptr);
    thread_ = std::thread([this] { EXPECT_TRUE(input_->run(sink_, *stop_).isOk()); });
  }
  // The error a tail configuration is refused with ("" when it builds).
  std::string configError(const std::string& extra, const std::string& parser = "none") {
    auto made = factory_.make(PluginKind::Input, "tail", tailConfig(extra, parser));
    return made ? std::string() : made.status().message();
  }
  // Stops the tail (it writes its pos_file); startTail may start another (a restart: the sink
  // keeps what both delivered).
  void stopTail() {
    if (!thread_.joinable()) return;
    stop_->requestStop();
    thread_.join();
    stop_ = std::make_unique<StopToken>();
  }
  // The input has acted on the time as it is now and waits for its next timer or event.
  void awaitIdle() { ASSERT_TRUE(clock_.awaitWaiters(1)); }
  // A <group> limit: `held` lines are read and the rest wait (checked once the input is idle)
  // until the input's clock moves `period_ns`; then `then` lines have been read in all.
  void expectHeldUntil(size_t held, int64_t period_ns, size_t then) {
    ASSERT_TRUE(sluice::testing::waitFor([&] { return sink_.count() == held; }));
    awaitIdle();
    EXPECT_EQ(sink_.count(), held);
    clock_.advance(period_ns);
    ASSERT_TRUE(sluice::testing::waitFor([&] { return sink_.count() == then; }));
  }
  // The pos_file's entries (path, inode) after the input's next write of it.
  std::string posFile() { return sluice::testing::readFile(dir_.file("tail.pos")); }
  // The offset the pos_file records for `path` (-1 when it has no entry).
  int64_t posOffset(const std::string& path) {
    const std::string pos = posFile();
    const size_t at = pos.find(path + "\t");
    if (at == std::string::npos) return -1;
    return static_cast<int64_t>(std::stoull(pos.substr(at + path.size() + 1, 16), nullptr, 16));
  }

  sluice::testing::TempDir dir_;
  ManualClock clock_{nowNs()};
  sluice::testing::PluginFactory factory_;
  std::unique_ptr<TailInput> input_;
  MessageSink sink_;
  std::unique_ptr<StopToken> stop_ = std::make_unique<StopToken>();
  std::thread thread_;
};

}  // namespace sluice::plugins::in_tail::testing
