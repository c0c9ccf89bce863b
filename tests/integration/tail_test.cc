// SPDX-License-Identifier: Apache-2.0
// The tail input against a node simulator: real files, real inotify, real renames, a real
// sluice process (SIGTERM, SIGKILL), and exact accounting of every line written.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "support/test_support.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::readFile;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;
using testing::writeFile;

void append(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// Output lines are `{"message":"<stream> <seq>"}` (the none parser); returns seqs per stream.
std::map<std::string, std::vector<long>> delivered(const std::string& out_path) {
  std::map<std::string, std::vector<long>> by_stream;
  std::string text = readFile(out_path);
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) break;
    std::string line = text.substr(start, nl - start);
    start = nl + 1;
    size_t a = line.find("\"message\":\"");
    if (a == std::string::npos) continue;
    a += 11;
    size_t b = line.find('"', a);
    std::string msg = line.substr(a, b - a);
    size_t sp = msg.rfind(' ');
    if (sp == std::string::npos) continue;
    by_stream[msg.substr(0, sp)].push_back(std::stol(msg.substr(sp + 1)));
  }
  return by_stream;
}

size_t countLines(const std::string& path) {
  std::string t = readFile(path);
  return static_cast<size_t>(std::count(t.begin(), t.end(), '\n'));
}

// Every stream got 0..n-1 exactly once and in order.
void expectExactlyOnce(const std::map<std::string, std::vector<long>>& got, const std::map<std::string, long>& want) {
  for (const auto& [stream, n] : want) {
    auto it = got.find(stream);
    ASSERT_NE(it, got.end()) << "nothing delivered for " << stream;
    const auto& seqs = it->second;
    ASSERT_EQ(seqs.size(), static_cast<size_t>(n)) << stream;
    for (long i = 0; i < n; ++i) {
      ASSERT_EQ(seqs[static_cast<size_t>(i)], i) << stream << " at position " << i;
    }
  }
}

class TailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_.file("logs"));
    out_ = dir_.file("out.jsonl");
  }

  std::string config(const std::string& path_glob, const std::string& extra = "",
                     const std::string& parse = "none") {
    std::string conf = "<source>\n @type tail\n path " + path_glob + "\n pos_file " + dir_.file("pos/tail.pos") +
                       "\n tag t.*\n read_from_head true\n rotate_wait 1\n refresh_interval 1\n" + extra +
                       " <parse>\n  @type " + parse + "\n </parse>\n</source>\n"
                       "<match t.**>\n @type file\n path " + out_ + "\n</match>\n";
    writeFile(dir_.file("sluice.conf"), conf);
    return dir_.file("sluice.conf");
  }

  std::unique_ptr<SluiceProcess> start(const std::string& conf) {
    return std::make_unique<SluiceProcess>(std::vector<std::string>{"-c", conf, "--log-level", "warn"},
                                           dir_.file("stdout"));
  }

  TempDir dir_;
  std::string out_;
};

TEST_F(TailTest, FollowsAppendsAndHoldsPartialLines) {
  std::string log = dir_.file("logs/a.log");
  append(log, "a 0\na 1\n");
  auto p = start(config(dir_.file("logs/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 2; }));
  append(log, "a 2\na ");  // a line without its newline yet
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 3; }));
  append(log, "3\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 4; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"a", 4}});
  // Fluentd's pos_file format: path, offset and inode as 16 hex digits.
  struct stat st;
  ::stat(log.c_str(), &st);
  char expected[128];
  std::snprintf(expected, sizeof(expected), "%s\t%016llx\t%016llx\n", log.c_str(), 16ULL,
                static_cast<unsigned long long>(st.st_ino));
  EXPECT_EQ(readFile(dir_.file("pos/tail.pos")), expected);
}

TEST_F(TailTest, KubeletRotationStormLosesAndRepeatsNothing) {
  // /var/log/containers/*.log symlinks into /var/log/pods/<ns>_<pod>_<uid>/<ctr>/0.log; the
  // kubelet renames 0.log to 0.log.<timestamp>, creates a new 0.log, and later deletes old ones.
  const int kContainers = 3, kLines = 6000, kRotateEvery = 700;
  fs::create_directories(dir_.file("containers"));
  std::vector<std::string> live;
  for (int c = 0; c < kContainers; ++c) {
    std::string podDir = dir_.file("pods/ns_pod" + std::to_string(c) + "_uid/ctr");
    fs::create_directories(podDir);
    live.push_back(podDir + "/0.log");
    writeFile(live.back(), "");
    fs::create_symlink(live.back(), dir_.file("containers/pod" + std::to_string(c) + "_ns_ctr-abc.log"));
  }
  auto p = start(config(dir_.file("containers/*.log")));
  std::vector<std::thread> writers;
  for (int c = 0; c < kContainers; ++c) {
    writers.emplace_back([&, c] {
      std::string name = "c" + std::to_string(c);
      std::vector<std::string> rotated;
      for (int i = 0; i < kLines; ++i) {
        append(live[c], name + " " + std::to_string(i) + "\n");
        if (i % kRotateEvery == kRotateEvery - 1) {
          std::string old = live[c] + "." + std::to_string(i);
          fs::rename(live[c], old);
          writeFile(live[c], "");
          rotated.push_back(old);
          if (rotated.size() > 3) {  // the kubelet keeps a few, then deletes the oldest
            fs::remove(rotated.front());
            rotated.erase(rotated.begin());
          }
        }
        // A rotation every ~35 ms or more per file: a file renamed twice before the tail
        // reopens its path is never seen by any path-based tail (README: Rotation), and a
        // sanitizer build under two other writers can take that long to come round.
        if (i % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= size_t(kContainers * kLines); }, std::chrono::seconds(60)))
      << countLines(out_);
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  std::map<std::string, long> want;
  for (int c = 0; c < kContainers; ++c) want["c" + std::to_string(c)] = kLines;
  expectExactlyOnce(delivered(out_), want);
}

TEST_F(TailTest, CopytruncateAndRecreate) {
  std::string log = dir_.file("logs/a.log");
  append(log, "a 0\na 1\na 2\n");
  auto p = start(config(dir_.file("logs/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 3; }));
  // logrotate's copytruncate: copy aside (not matched by the glob), truncate in place.
  fs::copy_file(log, dir_.file("logs/a.log.1"));
  ::truncate(log.c_str(), 0);
  append(log, "a 3\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 4; }));
  // Deleted and created again under the same name.
  fs::remove(log);
  append(log, "a 4\na 5\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 6; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"a", 6}});
}

TEST_F(TailTest, RestartResumesFromPosFile) {
  std::string log = dir_.file("logs/a.log");
  for (int i = 0; i < 100; ++i) append(log, "a " + std::to_string(i) + "\n");
  std::string conf = config(dir_.file("logs/*.log"));
  {
    auto p = start(conf);
    ASSERT_TRUE(waitFor([&] { return countLines(out_) == 100; }));
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(), 0);
  }
  for (int i = 100; i < 150; ++i) append(log, "a " + std::to_string(i) + "\n");
  auto p = start(conf);
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 150; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"a", 150}});
}

TEST_F(TailTest, RotationWhileStoppedFinishesTheRotatedFileFirst) {
  std::string podDir = dir_.file("pods/ns_p_uid/ctr");
  fs::create_directories(podDir);
  fs::create_directories(dir_.file("containers"));
  std::string live = podDir + "/0.log";
  fs::create_symlink(live, dir_.file("containers/p_ns_ctr-1.log"));
  for (int i = 0; i < 10; ++i) append(live, "c " + std::to_string(i) + "\n");
  std::string conf = config(dir_.file("containers/*.log"));
  {
    auto p = start(conf);
    ASSERT_TRUE(waitFor([&] { return countLines(out_) == 10; }));
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(), 0);
  }
  // While sluice is down: more lines, a rotation, and lines in the new file.
  for (int i = 10; i < 20; ++i) append(live, "c " + std::to_string(i) + "\n");
  fs::rename(live, live + ".20261122-010000");
  for (int i = 20; i < 30; ++i) append(live, "c " + std::to_string(i) + "\n");
  auto p = start(conf);
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 30; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"c", 30}});
}

TEST_F(TailTest, SigkillLosesNothing) {
  std::string log = dir_.file("logs/a.log");
  std::string conf = config(dir_.file("logs/*.log"));
  std::atomic<bool> writing{true};
  std::atomic<long> written{0};
  std::thread writer([&] {
    for (long i = 0; i < 20000; ++i) {
      append(log, "a " + std::to_string(i) + "\n");
      written = i + 1;
      if (i % 100 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    writing = false;
  });
  for (int kill_round = 0; kill_round < 4; ++kill_round) {
    auto p = start(conf);
    size_t before = countLines(out_);
    ASSERT_TRUE(waitFor([&] { return countLines(out_) > before + 500; }));
    p->signal(SIGKILL);
    EXPECT_EQ(p->wait(), 128 + SIGKILL);
  }
  writer.join();
  auto p = start(conf);
  ASSERT_TRUE(waitFor([&] {
    auto got = delivered(out_);
    return !got["a"].empty() && got["a"].back() == 19999;
  }, std::chrono::seconds(30)));
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
  append(log, text);
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

TEST_F(TailTest, OverlongLinesAreSkippedNotFatal) {
  std::string log = dir_.file("logs/a.log");
  append(log, "a 0\n" + std::string(5000, 'x') + "\na 1\n");
  auto p = start(config(dir_.file("logs/*.log"), " max_line_size 1k\n"));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 2; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"a", 2}});
  EXPECT_NE(readFile(dir_.file("stdout.err")).find("longer than max_line_size"), std::string::npos);
}

TEST_F(TailTest, NewFilesAreReadFromTheHeadAndTagged) {
  auto p = start(config(dir_.file("logs/*.log"), " path_key source_path\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let it start with no files
  append(dir_.file("logs/new.log"), "n 0\nn 1\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 2; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  std::string out = readFile(out_);
  EXPECT_NE(out.find("\"source_path\":\"" + dir_.file("logs/new.log") + "\""), std::string::npos) << out;
}

TEST_F(TailTest, VanishedFilesLeaveThePosFile) {
  append(dir_.file("logs/a.log"), "a 0\n");
  append(dir_.file("logs/b.log"), "b 0\n");
  auto p = start(config(dir_.file("logs/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 2; }));
  fs::remove(dir_.file("logs/a.log"));
  // After rotate_wait (1 s) and a refresh (1 s), only b.log is recorded.
  ASSERT_TRUE(waitFor([&] {
    std::string pos = readFile(dir_.file("pos/tail.pos"));
    return pos.find("a.log") == std::string::npos && pos.find("b.log") != std::string::npos;
  }));
  append(dir_.file("logs/b.log"), "b 1\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 3; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"a", 1}, {"b", 2}});
}

TEST_F(TailTest, ReadBytesLimitPerSecondThrottles) {
  std::string log = dir_.file("logs/a.log");
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "a " + std::to_string(i) + "\n";  // ~14 KB
  append(log, text);
  auto started = std::chrono::steady_clock::now();
  auto p = start(config(dir_.file("logs/*.log"), " read_bytes_limit_per_second 5k\n"));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 2000; }, std::chrono::seconds(20)));
  auto took = std::chrono::steady_clock::now() - started;
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  EXPECT_GE(took, std::chrono::milliseconds(1500)) << "14 KB at 5 KB/s needs about 2 s";
  expectExactlyOnce(delivered(out_), {{"a", 2000}});
}

TEST_F(TailTest, CriPartialLinesJoinAcrossReads) {
  std::string log = dir_.file("logs/a.log");
  auto p = start(config(dir_.file("logs/*.log"), "", "cri"));
  append(log, "2026-11-22T01:00:00.1Z stdout P {\"message\":\"a \n");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  append(log, "2026-11-22T01:00:00.2Z stdout F 0\"}\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 1; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  EXPECT_NE(readFile(out_).find("\"message\":\"{\\\"message\\\":\\\"a 0\\\"}\""), std::string::npos) << readFile(out_);
}

// The seed's parse steps on containerd and Docker nodes alike: kubernetes parser, then the
// JSON in `log` expanded with reserve_data and remove_key_name_field.
TEST_F(TailTest, KubernetesParserThenJsonOnBothRuntimes) {
  append(dir_.file("logs/cri.log"),
         "2026-11-22T01:00:00.5Z stdout P {\"level\":\"info\",\n"
         "2026-11-22T01:00:00.6Z stdout F \"msg\":\"from containerd\"}\n"
         "2026-11-22T01:00:01Z stderr F plain text\n");
  append(dir_.file("logs/docker.log"),
         "{\"log\":\"{\\\"level\\\":\\\"warn\\\",\",\"stream\":\"stdout\",\"time\":\"2026-11-22T01:00:02Z\"}\n"
         "{\"log\":\"\\\"msg\\\":\\\"from docker\\\"}\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-22T01:00:03Z\"}\n");
  setenv("SLUICE_CONTAINER_LOGS", dir_.file("logs").c_str(), 1);
  setenv("SLUICE_POS_DIR", dir_.file("pos").c_str(), 1);
  setenv("SLUICE_OUT", out_.c_str(), 1);
  auto p = std::make_unique<SluiceProcess>(
      std::vector<std::string>{"-c", std::string(SLUICE_SOURCE_DIR) + "/conf/kubernetes_containers.conf",
                               "--log-level", "warn"},
      dir_.file("stdout"));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 3; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  std::string out = readFile(out_);
  EXPECT_NE(out.find(R"({"stream":"stdout","level":"info","msg":"from containerd"})"), std::string::npos) << out;
  EXPECT_NE(out.find(R"({"log":"plain text","stream":"stderr"})"), std::string::npos) << out;
  EXPECT_NE(out.find(R"({"stream":"stdout","level":"warn","msg":"from docker"})"), std::string::npos) << out;
}

}  // namespace
}  // namespace sluice
