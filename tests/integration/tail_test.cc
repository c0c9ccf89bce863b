// SPDX-License-Identifier: Apache-2.0
// The tail input against a node simulator: real files, real inotify, real renames, a real
// sluice process (SIGTERM, SIGKILL), and exact accounting of every line written.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

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

// Lines "<stream> <i>" for i in [from, from + n).
void appendLines(const std::string& path, const std::string& stream, int from, int n) {
  std::string text;
  for (int i = from; i < from + n; ++i) text += stream + " " + std::to_string(i) + "\n";
  append(path, text);
}

// As the kubelet compresses a rotated file: gzip into a temporary, rename, delete the original.
void gzipAway(const std::string& from) {
  std::string data = readFile(from);
  gzFile gz = gzopen((from + ".tmp").c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, data.data(), static_cast<unsigned>(data.size())), static_cast<int>(data.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
  fs::rename(from + ".tmp", from + ".gz");
  fs::remove(from);
}

// The pos_file's fingerprint column for a file beginning with `first` (FNV-1a of up to 256 bytes).
std::string fingerprintColumn(std::string_view first) {
  first = first.substr(0, 256);
  uint64_t h = 1469598103934665603ULL;
  for (char c : first) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%zx:%016llx", first.size(), static_cast<unsigned long long>(h));
  return buf;
}

uint64_t inodeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

// The offsets the pos_file records for `path` (one per file still to be finished).
std::vector<uint64_t> recordedOffsets(const std::string& pos_text, const std::string& path) {
  std::vector<uint64_t> out;
  size_t start = 0;
  while (start < pos_text.size()) {
    size_t nl = pos_text.find('\n', start);
    if (nl == std::string::npos) break;
    std::string line = pos_text.substr(start, nl - start);
    start = nl + 1;
    if (line.rfind(path + "\t", 0) != 0) continue;
    out.push_back(std::stoull(line.substr(path.size() + 1, 16), nullptr, 16));
  }
  return out;
}

// "c0 700-1399; c2 ..." for the sequence numbers below n not delivered.
std::string missingRanges(const std::map<std::string, std::vector<long>>& got, long n) {
  std::string out;
  for (const auto& [stream, seqs] : got) {
    std::vector<bool> seen(static_cast<size_t>(n), false);
    for (long s : seqs) {
      if (s >= 0 && s < n) seen[static_cast<size_t>(s)] = true;
    }
    for (long i = 0; i < n;) {
      if (seen[static_cast<size_t>(i)]) {
        ++i;
        continue;
      }
      long j = i;
      while (j < n && !seen[static_cast<size_t>(j)]) ++j;
      out += stream + " " + std::to_string(i) + "-" + std::to_string(j - 1) + "; ";
      i = j;
    }
  }
  return out;
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
  void TearDown() override {
    if (HasFailure()) std::fprintf(stderr, "sluice's log:\n%s\n", readFile(dir_.file("stdout.err")).c_str());
  }

  std::string config(const std::string& path_glob, const std::string& extra = "",
                     const std::string& parse = "none") {
    std::string conf = "<source>\n @type tail\n path " + path_glob + "\n pos_file " + dir_.file("pos/tail.pos") +
                       "\n tag t.*\n read_from_head true\n rotate_wait 1\n refresh_interval 1\n symlink_roots " +
                       dir_.file("pods") + "\n" + extra +
                       " <parse>\n  @type " + parse + "\n </parse>\n</source>\n"
                       "<match t.**>\n @type file\n path " + out_ + "\n</match>\n";
    writeFile(dir_.file("sluice.conf"), conf);
    return dir_.file("sluice.conf");
  }

  std::unique_ptr<SluiceProcess> start(const std::string& conf, const std::function<void()>& in_child = {},
                                       const std::string& level = "warn") {
    return std::make_unique<SluiceProcess>(std::vector<std::string>{"-c", conf, "--log-level", level},
                                           dir_.file("stdout"), in_child);
  }

  // A kubelet-style pod folder with its /var/log/containers symlink; returns 0.log's path.
  std::string podLog() {
    std::string podDir = dir_.file("pods/ns_p_uid/ctr");
    fs::create_directories(podDir);
    fs::create_directories(dir_.file("containers"));
    std::string live = podDir + "/0.log";
    fs::create_symlink(live, dir_.file("containers/p_ns_ctr-1.log"));
    return live;
  }

  // `before` lines of logs/<name> are read, sluice stops, `after` more are written, sluice
  // starts again: each line arrives exactly once.
  void expectRestartResumes(const std::string& name, int before = 10, int after = 10) {
    std::string log = dir_.file("logs/" + name);
    for (int i = 0; i < before; ++i) append(log, "a " + std::to_string(i) + "\n");
    std::string conf = config(dir_.file("logs/*.log"));
    {
      auto p = start(conf);
      ASSERT_TRUE(waitFor([&] { return countLines(out_) == static_cast<size_t>(before); }));
      p->signal(SIGTERM);
      EXPECT_EQ(p->wait(), 0);
    }
    for (int i = before; i < before + after; ++i) append(log, "a " + std::to_string(i) + "\n");
    auto p = start(conf);
    ASSERT_TRUE(waitFor([&] { return countLines(out_) >= static_cast<size_t>(before + after); }));
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(), 0);
    expectExactlyOnce(delivered(out_), {{"a", before + after}});
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
  // sluice adds a fourth column (the file's fingerprint), which Fluentd's reader ignores.
  char expected[256];
  std::snprintf(expected, sizeof(expected), "%s\t%016llx\t%016llx\t%s\n", log.c_str(), 16ULL,
                static_cast<unsigned long long>(st.st_ino), fingerprintColumn(readFile(log)).c_str());
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
  auto p = start(config(dir_.file("containers/*.log")), {}, "info");  // the log is printed on failure
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
          if (rotated.size() > 4) {  // the kubelet keeps 4 (containerLogMaxFiles 5), then deletes the oldest
            fs::remove(rotated.front());
            rotated.erase(rotated.begin());
          }
        }
        // A rotation every ~140 ms or more per file (a kubelet looks every 10 s), so a file
        // lives ~0.5 s from its creation to its deletion: a file created, rotated and deleted
        // while the tail is not scheduled cannot be read by any tail, and under a load of 20
        // on 2 cores the tail was seen to go 430 ms without a turn (the stress loop, with a
        // window of ~105 ms: 3 kept rotations of 35 ms).
        if (i % 5 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= size_t(kContainers * kLines); }, std::chrono::seconds(60)))
      << countLines(out_) << " lines; missing: " << missingRanges(delivered(out_), kLines);
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

TEST_F(TailTest, RestartResumesFromPosFile) { expectRestartResumes("a.log", 100, 50); }

// Issue 15 item 6: a file named bad\xff.log gave a tag that matched no <match>, not even `**`,
// while the pos_file advanced past its lines. Its lines arrive (tagged with the byte as it is),
// once, across a restart.
TEST_F(TailTest, AFileNameThatIsNotUtf8IsReadRoutedAndResumed) { expectRestartResumes("bad\xff.log"); }

// Anyone who can write in a tailed folder chooses file names: a newline in one must not break
// its pos_file line (it was written as two lines, neither naming the file, so a restart read it
// again from its start). Found by pos_file_fuzz.
TEST_F(TailTest, RestartResumesAFileWithANewlineInItsName) { expectRestartResumes("a\nb%0A.log"); }

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


// The tail does not look at the path between two rotations (the process is stopped, as on a
// starved node): the file rotated in between is found beside the path by inode and read.
TEST_F(TailTest, TwoRotationsBetweenLooksAreBothRead) {
  std::string live = podLog();
  appendLines(live, "c", 0, 10);
  auto p = start(config(dir_.file("containers/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 10; }));
  p->signal(SIGSTOP);
  appendLines(live, "c", 10, 5);
  fs::rename(live, live + ".20261122-010000");
  appendLines(live, "c", 15, 10);  // never seen at the path
  fs::rename(live, live + ".20261122-010100");
  appendLines(live, "c", 25, 10);
  fs::rename(live, live + ".20261122-010200");  // and a third
  appendLines(live, "c", 35, 10);
  p->signal(SIGCONT);
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 45; })) << countLines(out_);
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"c", 45}});
}

// Stopped while a file was unfinished; meanwhile it was rotated, rotated again, and the first
// rotation compressed (the original deleted): sluice resumes it from the gzip stream at its
// recorded offset, then reads the file rotated in between, then the one at the path.
TEST_F(TailTest, RestartResumesACompressedRotationAndFindsLaterOnes) {
  std::string live = podLog();
  // Rotated before sluice first looked: with read_from_head, read first.
  appendLines(live + ".20261122-005900", "old", 0, 5);
  appendLines(live, "c", 0, 10);
  std::string conf = config(dir_.file("containers/*.log"));
  {
    auto p = start(conf);
    ASSERT_TRUE(waitFor([&] { return countLines(out_) == 15; }));
    std::string out = readFile(out_);
    EXPECT_LT(out.find("\"old 4\""), out.find("\"c 0\"")) << out;
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(), 0);
  }
  gzipAway(live + ".20261122-005900");
  appendLines(live, "c", 10, 5);
  fs::rename(live, live + ".20261122-010000");
  appendLines(live, "c", 15, 10);
  fs::rename(live, live + ".20261122-010100");
  appendLines(live, "c", 25, 5);
  gzipAway(live + ".20261122-010000");
  appendLines(live + ".20261122-010100.tmp", "tmp", 0, 5);  // the kubelet compressing: not read
  auto p = start(conf, {}, "info");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 35; })) << countLines(out_);
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  // The old file, read before and compressed since, is not read again.
  expectExactlyOnce(delivered(out_), {{"c", 30}, {"old", 5}});
  EXPECT_EQ(delivered(out_).count("tmp"), 0u);
  std::string log = readFile(dir_.file("stdout.err"));
  EXPECT_NE(log.find("compressed rotation " + live + ".20261122-010000.gz at uncompressed offset 40"), std::string::npos) << log;
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

// Lines deleted before they could be read are not silently gone: the file and the byte range
// are logged as an error.
TEST_F(TailTest, FilesDeletedBeforeTheyWereReadAreReportedAsLost) {
  std::string live = podLog();
  appendLines(live, "c", 0, 10);
  std::string conf = config(dir_.file("containers/*.log"));
  {
    auto p = start(conf);
    ASSERT_TRUE(waitFor([&] { return countLines(out_) == 10; }));
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(), 0);
  }
  appendLines(live, "c", 10, 10);
  fs::rename(live, live + ".1");
  fs::remove(live + ".1");
  appendLines(live, "d", 0, 10);
  auto p = start(conf);
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 20; })) << countLines(out_);
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"c", 10}, {"d", 10}});
  std::string log = readFile(dir_.file("stdout.err"));
  EXPECT_NE(log.find("Lost lines: " + dir_.file("containers/p_ns_ctr-1.log")), std::string::npos) << log;
  EXPECT_NE(log.find("bytes 40-its end"), std::string::npos) << log;
}

// Issue 19: a restart while the CRI parser holds a `P` line and a line lacks its newline. The
// pos_file must stop before the held line, and the lines after the restart must be whole.
TEST_F(TailTest, RestartWhileAPartialLineIsHeldCorruptsNothing) {
  std::string log = dir_.file("logs/a.log");
  const std::string line0 = "2026-11-22T01:00:00.1Z stdout F x 0\n";
  const std::string held = "2026-11-22T01:00:00.2Z stdout P x 1 first-\n";
  append(log, line0 + held + "2026-11-22T01:00:00.3Z stdout F ha");  // no newline yet
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
  append(log, "lf\n2026-11-22T01:00:00.4Z stdout F x 2\n");
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
  append(dir_.file("logs/a.log"), "a 0\n");
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
  append(dir_.file("pods/ns_p_uid/ctr/0.log"), "p 0\n");
  append(dir_.file("logs/a.log"), "a 0\n");
  fs::create_symlink(dir_.file("secret/shadow"), dir_.file("logs/s.log"));
  fs::create_symlink(dir_.file("pods/ns_p_uid/ctr/0.log"), dir_.file("logs/p.log"));
  auto p = start(config(dir_.file("logs/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 2; })) << readFile(out_);
  // Two more expansions of the glob (a new file each): the refusal is not logged again.
  append(dir_.file("logs/b.log"), "b 0\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) >= 3; })) << readFile(out_);
  append(dir_.file("logs/c.log"), "c 0\n");
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
}  // namespace sluice
