// SPDX-License-Identifier: Apache-2.0
// The tail input's limits and refusals in a real sluice process: overlong lines, a read rate
// limit, more files than descriptors, a pos_file it cannot write, symlinks out of the allowed
// folders, a file unreadable until chmod. Shared fixture and helpers: tail_test_support.h.

#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>

#include "integration/tail_test_support.h"

namespace sluice::tail_test {
namespace {

TEST_F(TailTest, OverlongLinesAreSkippedNotFatal) {
  std::string log = dir_.file("logs/a.log");
  appendFile(log, "a 0\n" + std::string(5000, 'x') + "\na 1\n");
  auto p = start(config(dir_.file("logs/*.log"), " max_line_size 1k\n"));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 2; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"a", 2}});
  EXPECT_NE(readFile(dir_.file("stdout.err")).find("longer than max_line_size"), std::string::npos);
}

TEST_F(TailTest, ReadBytesLimitPerSecondThrottles) {
  std::string log = dir_.file("logs/a.log");
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "a " + std::to_string(i) + "\n";  // ~14 KB
  appendFile(log, text);
  auto started = std::chrono::steady_clock::now();
  auto p = start(config(dir_.file("logs/*.log"), " read_bytes_limit_per_second 5k\n"));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 2000; }, std::chrono::seconds(20)));
  auto took = std::chrono::steady_clock::now() - started;
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  EXPECT_GE(took, std::chrono::milliseconds(1500)) << "14 KB at 5 KB/s needs about 2 s";
  expectExactlyOnce(delivered(out_), {{"a", 2000}});
}

// More files than descriptors (a child under `ulimit -n 64`): every file is read in turns,
// also as they keep growing; which files wait is logged.
TEST_F(TailTest, MoreFilesThanDescriptorsAreReadInTurns) {
  const int kFiles = 300;
  for (int f = 0; f < kFiles; ++f) appendLines(dir_.file("logs/f" + std::to_string(f) + ".log"), "f" + std::to_string(f), 0, 20);
  auto limit = [] {
    struct rlimit rl{64, 64};
    ::setrlimit(RLIMIT_NOFILE, &rl);
  };
  auto p = start(config(dir_.file("logs/*.log")), limit, "info");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= size_t(kFiles * 20); }, std::chrono::seconds(60))) << countLines(out_);
  for (int f = 0; f < kFiles; ++f) appendLines(dir_.file("logs/f" + std::to_string(f) + ".log"), "f" + std::to_string(f), 20, 5);
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= size_t(kFiles * 25); }, std::chrono::seconds(60))) << countLines(out_);
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  std::map<std::string, long> want;
  for (int f = 0; f < kFiles; ++f) want["f" + std::to_string(f)] = 25;
  expectExactlyOnce(delivered(out_), want);
  std::string log = readFile(dir_.file("stdout.err"));
  EXPECT_NE(log.find("Open-file limit (RLIMIT_NOFILE): 64"), std::string::npos) << log.substr(0, 2000);
  EXPECT_NE(log.find("reading files in turns"), std::string::npos) << log.substr(0, 2000);
  EXPECT_EQ(log.find("Too many open files"), std::string::npos) << log.substr(0, 2000);
}

// A pos_file that cannot be written stops start-up (and --dry-run says so): otherwise every
// line would be delivered again after a restart.
TEST_F(TailTest, UnwritablePosFileIsAStartUpError) {
  appendFile(dir_.file("logs/a.log"), "a 0\n");
  std::string conf = config(dir_.file("logs/*.log"));
  fs::create_directories(dir_.file("pos"));
  ::chmod(dir_.file("pos").c_str(), 0555);
  ::chmod(dir_.file("").c_str(), 0755);
  auto as_other_user = [] {  // root writes anywhere: run as nobody
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) _exit(126);
  };
  for (bool dry : {true, false}) {
    std::vector<std::string> args{"-c", conf};
    if (dry) args.push_back("--dry-run");
    SluiceProcess p(args, dir_.file("stdout"), as_other_user);
    EXPECT_EQ(p.wait(), 2) << dry;
    std::string err = readFile(dir_.file("stdout.err"));
    EXPECT_NE(err.find("pos_file " + dir_.file("pos/tail.pos") + " cannot be written: its folder " + dir_.file("pos") +
                       " is not writable"),
              std::string::npos)
        << err;
  }
  EXPECT_EQ(countLines(out_), 0u);
}

// Issue 15: a symlink in a tailed folder is followed only into allowed folders (the glob's,
// the kubelet's, symlink_roots); others are refused, logged once and counted.
TEST_F(TailTest, SymlinksAreFollowedOnlyIntoAllowedFolders) {
  fs::create_directories(dir_.file("secret"));
  fs::create_directories(dir_.file("pods/ns_p_uid/ctr"));
  writeFile(dir_.file("secret/shadow"), "root:x:0:0\n");
  appendFile(dir_.file("pods/ns_p_uid/ctr/0.log"), "p 0\n");
  appendFile(dir_.file("logs/a.log"), "a 0\n");
  fs::create_symlink(dir_.file("secret/shadow"), dir_.file("logs/s.log"));
  fs::create_symlink(dir_.file("pods/ns_p_uid/ctr/0.log"), dir_.file("logs/p.log"));
  auto p = start(config(dir_.file("logs/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 2; })) << readFile(out_);
  // Two more expansions of the glob (a new file each): the refusal is not logged again.
  appendFile(dir_.file("logs/b.log"), "b 0\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 3; })) << readFile(out_);
  appendFile(dir_.file("logs/c.log"), "c 0\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 4; })) << readFile(out_);
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"a", 1}, {"b", 1}, {"c", 1}, {"p", 1}});
  EXPECT_EQ(readFile(out_).find("root:x"), std::string::npos);
  std::string log = readFile(dir_.file("stdout.err"));
  const std::string refused = "Not following " + dir_.file("logs/s.log") + ": it resolves to " + dir_.file("secret/shadow");
  size_t first = log.find(refused);
  EXPECT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find(refused, first + 1), std::string::npos) << "logged more than once:\n" << log;
}

// Issue 15: a file unreadable by permission is read once it is made readable (within the 1 s
// tick, not the next refresh_interval).
TEST_F(TailTest, UnreadableFileIsReadAfterChmod) {
  std::string log = dir_.file("logs/a.log");
  appendLines(log, "a", 0, 2);
  ::chmod(log.c_str(), 0);
  std::string conf = config(dir_.file("logs/*.log"));
  std::string text = readFile(conf);
  text.replace(text.find("refresh_interval 1"), 18, "refresh_interval 60");
  writeFile(conf, text);
  ::chmod(dir_.file("").c_str(), 0777);  // the other user writes the output and the pos_file
  auto as_other_user = [] {  // root reads anything: run as nobody
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) _exit(126);
  };
  auto p = start(conf, as_other_user);
  ASSERT_TRUE(waitFor([&] { return readFile(dir_.file("stdout.err")).find("Permission denied: cannot read " + log) != std::string::npos; }))
      << readFile(dir_.file("stdout.err"));
  EXPECT_EQ(countLines(out_), 0u);
  ::chmod(log.c_str(), 0644);
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 2; }, std::chrono::seconds(5))) << readFile(dir_.file("stdout.err"));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"a", 2}});
}

}  // namespace
}  // namespace sluice::tail_test
