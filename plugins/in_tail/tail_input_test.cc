// SPDX-License-Identifier: Apache-2.0
// The tail input in-process (tail_test_support.h): new files, rotate_wait and CRI partial lines
// on the input's clock.

#include <sys/stat.h>

#include <algorithm>

#include "plugins/in_tail/tail_test_support.h"

namespace sluice::plugins::in_tail {
namespace {

using namespace testing;
using sluice::testing::waitFor;

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
