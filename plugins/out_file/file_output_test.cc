// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "plugins/out_file/file_output.h"
#include "support/test_support.h"

namespace sluice::plugins::out_file {
namespace {

using testing::batchOf;
using testing::PluginFactory;
using testing::TempDir;

TEST(FileOutputTest, AppendsJsonLinesAndCreatesDirectories) {
  TempDir dir;
  std::string path = dir.file("a/b/out.jsonl");
  PluginFactory f;
  for (int round = 0; round < 2; ++round) {
    auto out = f.mustMake<Output>(PluginKind::Output, "file", "path " + path);
    ASSERT_TRUE(out->start().isOk());
    Batch b = batchOf({R"({"n":1})", R"({"s":"\u00e9"})"});
    FormattedEvents text;
    out->format(b, text);
    EXPECT_EQ(text.ends.size(), 2u);
    EXPECT_EQ(out->write(ChunkView(text.bytes, text.ends, nullptr)).kind, WriteResult::Kind::Ok);
    out->stop();
  }
  EXPECT_EQ(testing::readFile(path), "{\"n\":1}\n{\"s\":\"é\"}\n{\"n\":1}\n{\"s\":\"é\"}\n");
}

TEST(FileOutputTest, SuffixAndTruncate) {
  TempDir dir;
  testing::writeFile(dir.file("x.log"), "old\n");
  PluginFactory f;
  auto out = f.mustMake<Output>(PluginKind::Output, "file",
                                "path " + dir.file("x") + "\nadd_path_suffix true\nappend false");
  ASSERT_TRUE(out->start().isOk());
  EXPECT_EQ(out->write(ChunkView("new\n")).kind, WriteResult::Kind::Ok);
  out->stop();
  EXPECT_EQ(testing::readFile(dir.file("x.log")), "new\n");
}

TEST(FileOutputTest, UnwritablePathFailsAtStart) {
  PluginFactory f;
  auto out = f.mustMake<Output>(PluginKind::Output, "file", "path /proc/sluice-cannot-write/x.log");
  Status s = out->start();
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("/proc/sluice-cannot-write"), std::string::npos);
}

// A full disk: the failed write leaves nothing half-written behind (the retry would repeat it).
TEST(FileOutputTest, PartialWriteOnAFullDiskIsCutBack) {
  TempDir dir;
  std::string mnt = dir.file("small");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  if (::system(("mount -t tmpfs -o size=64k tmpfs " + mnt + " 2>/dev/null").c_str()) != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here";
  }
  PluginFactory f;
  auto out = f.mustMake<Output>(PluginKind::Output, "file", "path " + mnt + "/out.log");
  ASSERT_TRUE(out->start().isOk());
  EXPECT_EQ(out->write(ChunkView(std::string(1000, 'a') + "\n")).kind, WriteResult::Kind::Ok);
  WriteResult full = out->write(ChunkView(std::string(200 * 1024, 'b')));
  EXPECT_EQ(full.kind, WriteResult::Kind::Retry) << full.reason;
  EXPECT_NE(full.reason.find("No space"), std::string::npos) << full.reason;
  struct stat st;
  ASSERT_EQ(::stat((mnt + "/out.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1001);
  out->stop();
  ::system(("umount " + mnt).c_str());
}

}  // namespace
}  // namespace sluice::plugins::out_file
