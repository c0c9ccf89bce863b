// SPDX-License-Identifier: Apache-2.0
// The tail input in a real sluice process, following files as they change under it: appends
// and partial lines, copytruncate and re-creation, files that vanish, the parse steps of the
// Kubernetes seed configuration on containerd and Docker files. Shared fixture and helpers:
// tail_test_support.h.

#include <gtest/gtest.h>

#include "integration/tail_test_support.h"

namespace sluice::tail_test {
namespace {

TEST_F(TailTest, FollowsAppendsAndHoldsPartialLines) {
  std::string log = dir_.file("logs/a.log");
  appendFile(log, "a 0\na 1\n");
  auto p = start(config(dir_.file("logs/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 2; }));
  appendFile(log, "a 2\na ");  // a line without its newline yet
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 3; }));
  appendFile(log, "3\n");
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

TEST_F(TailTest, CopytruncateAndRecreate) {
  std::string log = dir_.file("logs/a.log");
  appendFile(log, "a 0\na 1\na 2\n");
  auto p = start(config(dir_.file("logs/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 3; }));
  // logrotate's copytruncate: copy aside (not matched by the glob), truncate in place.
  fs::copy_file(log, dir_.file("logs/a.log.1"));
  ::truncate(log.c_str(), 0);
  appendFile(log, "a 3\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 4; }));
  // Deleted and created again under the same name.
  fs::remove(log);
  appendFile(log, "a 4\na 5\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 6; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"a", 6}});
}

TEST_F(TailTest, VanishedFilesLeaveThePosFile) {
  appendFile(dir_.file("logs/a.log"), "a 0\n");
  appendFile(dir_.file("logs/b.log"), "b 0\n");
  auto p = start(config(dir_.file("logs/*.log")));
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 2; }));
  fs::remove(dir_.file("logs/a.log"));
  // After rotate_wait (1 s) and a refresh (1 s), only b.log is recorded.
  ASSERT_TRUE(waitFor([&] {
    std::string pos = readFile(dir_.file("pos/tail.pos"));
    return pos.find("a.log") == std::string::npos && pos.find("b.log") != std::string::npos;
  }));
  appendFile(dir_.file("logs/b.log"), "b 1\n");
  ASSERT_TRUE(waitFor([&] { return countLines(out_) == 3; }));
  p->signal(SIGTERM);
  EXPECT_EQ(p->wait(), 0);
  expectExactlyOnce(delivered(out_), {{"a", 1}, {"b", 2}});
}

// The seed's parse steps on containerd and Docker nodes alike: kubernetes parser, then the
// JSON in `log` expanded with reserve_data and remove_key_name_field.
TEST_F(TailTest, KubernetesParserThenJsonOnBothRuntimes) {
  appendFile(dir_.file("logs/cri.log"),
         "2026-11-22T01:00:00.5Z stdout P {\"level\":\"info\",\n"
         "2026-11-22T01:00:00.6Z stdout F \"msg\":\"from containerd\"}\n"
         "2026-11-22T01:00:01Z stderr F plain text\n");
  appendFile(dir_.file("logs/docker.log"),
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
}  // namespace sluice::tail_test
