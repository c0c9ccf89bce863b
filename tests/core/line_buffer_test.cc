// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <unistd.h>

#include "core/line_buffer.h"

namespace sluice {
namespace {

struct Pipe {
  int fds[2];
  Pipe() { EXPECT_EQ(pipe(fds), 0); }
  ~Pipe() {
    close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
  }
  void write(std::string_view s) { ASSERT_EQ(::write(fds[1], s.data(), s.size()), ssize_t(s.size())); }
  void closeWriter() {
    close(fds[1]);
    fds[1] = -1;
  }
};

TEST(LineBufferTest, SplitsLinesAndHoldsPartialOnes) {
  Pipe p;
  LineBuffer buf(16, 1024);
  std::vector<std::string_view> lines;
  p.write("one\r\ntwo\nthr");
  ASSERT_GT(buf.fill(p.fds[0]), 0);
  EXPECT_EQ(buf.takeLines(lines, 100), 2u);
  EXPECT_EQ(lines[0], "one");
  EXPECT_EQ(lines[1], "two");
  lines.clear();
  buf.compact();
  p.write("ee\n");
  ASSERT_GT(buf.fill(p.fds[0]), 0);
  EXPECT_EQ(buf.takeLines(lines, 100), 1u);
  EXPECT_EQ(lines[0], "three");
}

TEST(LineBufferTest, GrowsForLongLinesAndSkipsOverlongOnes) {
  Pipe p;
  LineBuffer buf(8, 40);
  std::string medium(30, 'm'), huge(100, 'h');
  p.write(medium + "\n" + huge + "\nafter\n");
  p.closeWriter();
  std::vector<std::string> got;
  while (true) {
    std::vector<std::string_view> lines;
    ssize_t n = buf.fill(p.fds[0]);
    buf.takeLines(lines, 100);
    for (auto l : lines) got.emplace_back(l);
    buf.compact();
    if (n == 0) break;
  }
  EXPECT_EQ(got, (std::vector<std::string>{medium, "after"}));
  EXPECT_EQ(buf.skippedLongLines(), 1u);
}

TEST(LineBufferTest, RestAtEofIsTheUnterminatedLine) {
  Pipe p;
  LineBuffer buf(64, 1024);
  p.write("a\nno newline");
  p.closeWriter();
  buf.fill(p.fds[0]);
  std::vector<std::string_view> lines;
  buf.takeLines(lines, 10);
  EXPECT_EQ(buf.fill(p.fds[0]), 0);
  EXPECT_EQ(buf.takeRest(), "no newline");
}

}  // namespace
}  // namespace sluice
