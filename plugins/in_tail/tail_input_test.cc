// SPDX-License-Identifier: Apache-2.0
// The tail input in-process on its own thread, with real files, real inotify and renames, and
// a ManualClock: its timers (rotate_wait, multiline_flush_interval, the 1 s tick, pos_file
// writes) move only when the test moves the clock, and ManualClock::awaitWaiters says when the
// input has acted on the time and gone idle. No sleeps.

#include "plugins/in_tail/tail_input.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "support/files.h"
#include "support/test_support.h"

namespace sluice::plugins::in_tail {
namespace {

namespace fs = std::filesystem;
using testing::PluginFactory;
using testing::readFile;
using testing::TempDir;
using testing::waitFor;

constexpr auto& append = testing::appendFile;  // the name this file's tests use

// Keeps the `message` of every event it is given. Thread-safe.
class MessageSink final : public EventSink {
 public:
  Status emit(Batch& batch) override {
    std::lock_guard lock(mu_);
    for (const Event& e : batch.events()) {
      const Value* m = e.record.find("message");
      messages_.push_back(m != nullptr && m->isString() ? std::string(m->asString()) : toJson(e.record));
      records_.push_back(std::string(e.tag) + " " + toJson(e.record));
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

 private:
  std::mutex mu_;
  std::vector<std::string> messages_;
  std::vector<std::string> records_;
};

class TailInputTest : public ::testing::Test {
 protected:
  void TearDown() override { stopTail(); }

  // Starts a tail of <dir>/logs/*.log with `extra` parameters and a <parse> of `parser`.
  void startTail(const std::string& extra, const std::string& parser = "none") {
    fs::create_directories(dir_.file("logs"));
    factory_.setClock(clock_);
    input_ = factory_.mustMake<TailInput>(PluginKind::Input, "tail",
                                          "path " + dir_.file("logs/*.log") + "\ntag t.*\npos_file " + dir_.file("tail.pos") +
                                              "\n" + extra + "<parse>\n@type " + parser + "\n</parse>\n");
    ASSERT_NE(input_, nullptr);
    thread_ = std::thread([this] { EXPECT_TRUE(input_->run(sink_, stop_).isOk()); });
  }
  void stopTail() {
    if (!thread_.joinable()) return;
    stop_.requestStop();
    thread_.join();
  }
  // The input has acted on the time as it is now and waits for its next timer or event.
  void awaitIdle() { ASSERT_TRUE(clock_.awaitWaiters(1)); }
  // The pos_file's entries (path, inode) after the input's next write of it.
  std::string posFile() { return readFile(dir_.file("tail.pos")); }

  TempDir dir_;
  ManualClock clock_{nowNs()};
  PluginFactory factory_;
  std::unique_ptr<TailInput> input_;
  MessageSink sink_;
  StopToken stop_;
  std::thread thread_;
};

// A file created after the input started (its first scan done, nothing found) is read from its
// first line, tagged after its path, with path_key. The input being idle on its clock is the
// condition, not a sleep.
TEST_F(TailInputTest, AFileCreatedLaterIsReadFromTheHeadAndTagged) {
  startTail("path_key source_path\n");
  awaitIdle();  // started, globs expanded, nothing there
  const std::string path = dir_.file("logs/new.log");
  append(path, "n 0\nn 1\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 2; }));
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"n 0", "n 1"}));
  std::string tag = "t" + path;
  std::replace(tag.begin(), tag.end(), '/', '.');
  EXPECT_EQ(sink_.records().front(), tag + " {\"message\":\"n 0\",\"source_path\":\"" + path + "\"}");
}

// After a rotation the old file is still read for rotate_wait (the runtime may still write to
// it), exactly that long on the input's clock, and the new file after it; then the old one is
// let go.
TEST_F(TailInputTest, TheRotatedFileIsReadForRotateWaitThenLetGo) {
  const std::string live = dir_.file("logs/a.log"), old = dir_.file("logs/a.log.1");
  fs::create_directories(dir_.file("logs"));
  append(live, "a 0\n");
  startTail("read_from_head true\nrotate_wait 30\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  fs::rename(live, old);
  append(live, "b 0\n");
  ASSERT_TRUE(waitFor([&] { return input_->metrics().rotations->value() == 1; }));
  struct stat st;
  ASSERT_EQ(::stat(old.c_str(), &st), 0);
  char old_inode[17];
  std::snprintf(old_inode, sizeof(old_inode), "%016llx", static_cast<unsigned long long>(st.st_ino));
  // Within rotate_wait (to its last nanosecond): the old file is still read, the new one waits.
  clock_.advance(30 * kNanosPerSecond - 1);
  awaitIdle();
  append(old, "a 1\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 2; }));
  EXPECT_EQ(sink_.messages().back(), "a 1");
  // rotate_wait is over: the old file is let go, the new one read.
  clock_.advance(1);
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 3; }));
  EXPECT_EQ(sink_.messages().back(), "b 0");
  awaitIdle();
  clock_.advance(kNanosPerSecond);  // the next pos_file write
  ASSERT_TRUE(waitFor([&] { return posFile().find(old_inode) == std::string::npos && !posFile().empty(); }))
      << posFile();
  append(old, "a 2\n");
  append(live, "b 1\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 4; }));
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"a 0", "a 1", "b 0", "b 1"}));
}

// A CRI partial line is held until its end arrives in a later read; one that never ends is
// emitted after multiline_flush_interval on the input's clock, not before.
TEST_F(TailInputTest, CriPartialLinesJoinAcrossReadsAndFlushOnTheClock) {
  const std::string log = dir_.file("logs/a.log");
  startTail("multiline_flush_interval 5\n", "cri");
  awaitIdle();
  append(log, "2026-11-22T01:00:00.1Z stdout P {\"message\":\"a \n");
  ASSERT_TRUE(waitFor([&] { return input_->metrics().read_lines->value() == 1; }));  // read and held
  append(log, "2026-11-22T01:00:00.2Z stdout F 0\"}\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"{\"message\":\"a 0\"}"}));

  append(log, "2026-11-22T01:00:01Z stdout P never ended\n");
  ASSERT_TRUE(waitFor([&] { return input_->metrics().read_lines->value() == 3; }));
  awaitIdle();
  clock_.advance(5 * kNanosPerSecond - 1);
  awaitIdle();
  EXPECT_EQ(sink_.count(), 1u) << "held for less than multiline_flush_interval";
  clock_.advance(1);
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 2; }));
  EXPECT_EQ(sink_.messages().back(), "never ended");
}

}  // namespace
}  // namespace sluice::plugins::in_tail
