// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the process tests of the tail input share (tail_*_test.cc in this folder): the TailTest
// fixture, which writes a tail -> file configuration and starts a real sluice on it, and the
// helpers that write numbered lines ("<stream> <seq>"), read back what was delivered and check
// that each line arrived exactly once. Everything runs on the test's thread, except the writer
// threads a test starts itself.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/files.h"
#include "support/test_support.h"

// Not in an anonymous namespace: the TailTest fixture is one class for all the files that use
// it (googletest refuses one test suite with two fixture classes).
namespace sluice::tail_test {

namespace fs = std::filesystem;
using testing::appendFile;
using testing::readFile;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;
using testing::writeFile;

// Output lines are `{"message":"<stream> <seq>"}` (the none parser); returns seqs per stream.
inline std::map<std::string, std::vector<long>> delivered(const std::string& out_path) {
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
inline void appendLines(const std::string& path, const std::string& stream, int from, int n) {
  std::string text;
  for (int i = from; i < from + n; ++i) text += stream + " " + std::to_string(i) + "\n";
  appendFile(path, text);
}

// As the kubelet compresses a rotated file: gzip into a temporary, rename, delete the original.
inline void gzipAway(const std::string& from) {
  std::string data = readFile(from);
  gzFile gz = gzopen((from + ".tmp").c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, data.data(), static_cast<unsigned>(data.size())), static_cast<int>(data.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
  fs::rename(from + ".tmp", from + ".gz");
  fs::remove(from);
}

// The pos_file's fingerprint column for a file beginning with `first` (FNV-1a of up to 256 bytes).
inline std::string fingerprintColumn(std::string_view first) {
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

inline uint64_t inodeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

// The offsets the pos_file records for `path` (one per file still to be finished).
inline std::vector<uint64_t> recordedOffsets(const std::string& pos_text, const std::string& path) {
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
inline std::string missingRanges(const std::map<std::string, std::vector<long>>& got, long n) {
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

inline size_t countLines(const std::string& path) {
  std::string t = readFile(path);
  return static_cast<size_t>(std::count(t.begin(), t.end(), '\n'));
}

// Every stream got 0..n-1 exactly once and in order.
inline void expectExactlyOnce(const std::map<std::string, std::vector<long>>& got, const std::map<std::string, long>& want) {
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
    for (int i = 0; i < before; ++i) appendFile(log, "a " + std::to_string(i) + "\n");
    std::string conf = config(dir_.file("logs/*.log"));
    {
      auto p = start(conf);
      ASSERT_TRUE(waitFor([&] { return countLines(out_) == static_cast<size_t>(before); }));
      p->signal(SIGTERM);
      EXPECT_EQ(p->wait(), 0);
    }
    for (int i = before; i < before + after; ++i) appendFile(log, "a " + std::to_string(i) + "\n");
    auto p = start(conf);
    ASSERT_TRUE(waitFor([&] { return countLines(out_) >= static_cast<size_t>(before + after); }));
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(), 0);
    expectExactlyOnce(delivered(out_), {{"a", before + after}});
  }

  TempDir dir_;
  std::string out_;
};

}  // namespace sluice::tail_test
