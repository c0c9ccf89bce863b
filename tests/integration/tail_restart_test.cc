// SPDX-License-Identifier: Apache-2.0
// The tail input's pos_file across restarts of a real sluice process: SIGTERM and SIGKILL,
// file names that are not UTF-8 or hold a newline, a pos_file written by Fluentd, an inode
// reused by another file, a CRI partial line held at the stop. Shared fixture and helpers:
// tail_test_support.h.

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "integration/tail_test_support.h"

namespace sluice::tail_test {
namespace {

TEST_F(TailTest, RestartResumesFromPosFile) { expectRestartResumes("a.log", 100, 50); }

// Issue 15 item 6: a file named bad\xff.log gave a tag that matched no <match>, not even `**`,
// while the pos_file advanced past its lines. Its lines arrive (tagged with the byte as it is),
// once, across a restart.
TEST_F(TailTest, AFileNameThatIsNotUtf8IsReadRoutedAndResumed) { expectRestartResumes("bad\xff.log"); }

// Anyone who can write in a tailed folder chooses file names: a newline in one must not break
// its pos_file line (it was written as two lines, neither naming the file, so a restart read it
// again from its start). Found by pos_file_fuzz.
TEST_F(TailTest, RestartResumesAFileWithANewlineInItsName) { expectRestartResumes("a\nb%0A.log"); }

TEST_F(TailTest, SigkillLosesNothing) {
  std::string log = dir_.file("logs/a.log");
  std::string conf = config(dir_.file("logs/*.log"));
  std::atomic<bool> writing{true};
  std::atomic<long> written{0};
  std::thread writer([&] {
    for (long i = 0; i < 20000; ++i) {
      appendFile(log, "a " + std::to_string(i) + "\n");
      written = i + 1;
      // The writer's pace (a load pattern), so that the kills land while it still writes;
      // the kills themselves wait for delivered lines and pos_file writes, not for time.
      if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    writing = false;
  });
  auto recorded = [&] {
    auto offsets = recordedOffsets(readFile(dir_.file("pos/tail.pos")), log);
    return offsets.empty() ? uint64_t{0} : offsets.back();
  };
  for (int kill_round = 0; kill_round < 4; ++kill_round) {
    auto p = start(conf);
    size_t before = countLines(out_);
    ASSERT_TRUE(waitFor([&] { return countLines(out_) > before + 500 || !writing; }));
    // Kill just after a pos_file write (or once everything is recorded): the repeats then
    // measure the tail, not how long a busy machine took to get the kill out (the pos_file
    // is written every 200 ms, and 200 ms can be thousands of lines).
    uint64_t seen = recorded();
    ASSERT_TRUE(waitFor([&] { uint64_t r = recorded(); return r > seen || r == fs::file_size(log); }));
    p->signal(SIGKILL);
    EXPECT_EQ(p->wait(), 128 + SIGKILL);
  }
  writer.join();
  auto p = start(conf, {}, "info");
  ASSERT_TRUE(waitFor([&] {
    auto got = delivered(out_);
    return !got["a"].empty() && got["a"].back() == 19999;
  }, std::chrono::seconds(30)));
  // Everything may have been delivered before this start: SIGTERM only once sluice handles it.
  ASSERT_TRUE(waitFor([&] { return readFile(dir_.file("stdout.err")).find("Started:") != std::string::npos; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  // No loss: every line at least once; and repeats only re-deliver a suffix not yet recorded.
  auto seqs = delivered(out_)["a"];
  std::vector<int> seen(20000, 0);
  for (long s : seqs) seen[static_cast<size_t>(s)]++;
  for (long i = 0; i < 20000; ++i) ASSERT_GE(seen[static_cast<size_t>(i)], 1) << "line " << i << " lost";
  size_t repeats = seqs.size() - 20000;
  EXPECT_LT(repeats, 20000u / 2) << "too many repeats";
  // Delivery restarts at an earlier line after a kill, never skips ahead.
  for (size_t k = 1; k < seqs.size(); ++k) {
    if (seqs[k] != seqs[k - 1] + 1) {
      EXPECT_LE(seqs[k], seqs[k - 1]) << "gap at " << k;
    }
  }
}

TEST_F(TailTest, ResumesFromAFluentdPosFile) {
  std::string log = dir_.file("logs/a.log");
  std::string text;
  for (int i = 0; i < 10; ++i) text += "a " + std::to_string(i) + "\n";
  appendFile(log, text);
  struct stat st;
  ::stat(log.c_str(), &st);
  // Fluentd stopped after line 3 ("a 0\na 1\na 2\na 3\n" = 16 bytes).
  char pos[256];
  std::snprintf(pos, sizeof(pos), "%s\t%016llx\t%016llx\n", log.c_str(), 16ULL, static_cast<unsigned long long>(st.st_ino));
  fs::create_directories(dir_.file("pos"));
  writeFile(dir_.file("pos/tail.pos"), pos);
  auto p = start(config(dir_.file("logs/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 6; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  auto got = delivered(out_)["a"];
  EXPECT_EQ(got, (std::vector<long>{4, 5, 6, 7, 8, 9}));
}

// A file at the recorded inode whose first bytes differ (the inode was reused) is another
// file: read from its start, not from the recorded offset.
TEST_F(TailTest, AnotherFileUnderTheRecordedInodeIsReadFromItsStart) {
  std::string log = dir_.file("logs/a.log");
  appendLines(log, "b", 0, 5);
  char pos[512];
  std::snprintf(pos, sizeof(pos), "%s\t%016llx\t%016llx\t%s\n", log.c_str(), 12ULL,
                static_cast<unsigned long long>(inodeOf(log)), fingerprintColumn("a 0\na 1\na 2\n").c_str());
  fs::create_directories(dir_.file("pos"));
  writeFile(dir_.file("pos/tail.pos"), pos);
  auto p = start(config(dir_.file("logs/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 5; })) << countLines(out_);
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"b", 5}});
}

// Issue 19: a restart while the CRI parser holds a `P` line and a line lacks its newline. The
// pos_file must stop before the held line, and the lines after the restart must be whole.
TEST_F(TailTest, RestartWhileAPartialLineIsHeldCorruptsNothing) {
  std::string log = dir_.file("logs/a.log");
  const std::string line0 = "2026-11-22T01:00:00.1Z stdout F x 0\n";
  const std::string held = "2026-11-22T01:00:00.2Z stdout P x 1 first-\n";
  appendFile(log, line0 + held + "2026-11-22T01:00:00.3Z stdout F ha");  // no newline yet
  std::string conf = config(dir_.file("logs/*.log"), " multiline_flush_interval 60\n", "cri");
  for (int sig : {SIGTERM, SIGKILL}) {
    auto p = start(conf);
    ASSERT_TRUE(waitFor([&] { return countLines(out_) == 1; }));
    // The position stays at the start of the held P line until its F line is read.
    ASSERT_TRUE(waitFor([&] {
      return recordedOffsets(readFile(dir_.file("pos/tail.pos")), log) == std::vector<uint64_t>{line0.size()};
    })) << readFile(dir_.file("pos/tail.pos"));
    p->signal(sig);
    p->wait();
    EXPECT_EQ(recordedOffsets(readFile(dir_.file("pos/tail.pos")), log), std::vector<uint64_t>{line0.size()});
  }
  appendFile(log, "lf\n2026-11-22T01:00:00.4Z stdout F x 2\n");
  auto p = start(conf);
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 3; })) << readFile(out_);
  ASSERT_TRUE(waitFor([&] {
    return recordedOffsets(readFile(dir_.file("pos/tail.pos")), log) == std::vector<uint64_t>{fs::file_size(log)};
  })) << readFile(dir_.file("pos/tail.pos"));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  std::vector<std::string> messages;
  std::string out = readFile(out_);
  for (size_t at = out.find("\"message\":\""); at != std::string::npos; at = out.find("\"message\":\"", at + 1)) {
    size_t from = at + 11;
    messages.push_back(out.substr(from, out.find('"', from) - from));
  }
  EXPECT_EQ(messages, (std::vector<std::string>{"x 0", "x 1 first-half", "x 2"})) << out;
}

}  // namespace
}  // namespace sluice::tail_test
