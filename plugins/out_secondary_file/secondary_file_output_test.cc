// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_secondary_file/secondary_file_output.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "codec/codec.h"
#include "support/pipeline_harness.h"

namespace sluice::plugins::out_secondary_file {
namespace {

namespace fs = std::filesystem;

class SecondaryFileTest : public ::testing::Test, public testing::PipelineHarness {
 protected:
  // A file output whose path takes a record field; an event without the field cannot be
  // written (an empty path component), fails for good and goes to <secondary>.
  std::string config(const std::string& secondary) {
    return std::string(testing::kHarnessSource) + "<match **>\n @type file\n path " + dir_.file("out/${$.user}/app.log") +
           "\n <buffer tag,$.user>\n  flush_mode immediate\n  retry_max_times 0\n </buffer>\n <secondary>\n"
           "  @type secondary_file\n  directory " + dir_.file("failed") + "\n" + secondary + " </secondary>\n</match>\n";
  }
  // The files under failed/, by name.
  std::vector<std::string> failedFiles() {
    std::vector<std::string> names;
    if (!fs::exists(dir_.file("failed"))) return names;
    for (const auto& e : fs::directory_iterator(dir_.file("failed"))) names.push_back(e.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  }
  testing::TempDir dir_;
};

TEST_F(SecondaryFileTest, EachFailedChunkGetsANewNumberedFile) {
  auto p = mustBuild(config(" basename dump.bin\n"));
  emit(*p, "app", {R"({"msg":"one"})"});
  ASSERT_TRUE(testing::waitFor([&] { return failedFiles().size() == 1; }));
  emit(*p, "app", {R"({"msg":"two"})"});
  emit(*p, "app", {R"({"user":"ann","msg":"fine"})"});
  ASSERT_TRUE(testing::waitFor([&] { return failedFiles().size() == 2; }));
  p->stopFiltersAndOutputs();
  EXPECT_EQ(failedFiles(), (std::vector<std::string>{"dump.bin.0", "dump.bin.1"}));
  // The primary's format (the file output's JSON lines), one chunk per file.
  EXPECT_EQ(testing::readFile(dir_.file("failed/dump.bin.0")), "{\"msg\":\"one\"}\n");
  EXPECT_EQ(testing::readFile(dir_.file("failed/dump.bin.1")), "{\"msg\":\"two\"}\n");
  EXPECT_EQ(testing::readFile(dir_.file("out/ann/app.log")), "{\"user\":\"ann\",\"msg\":\"fine\"}\n");
}

TEST_F(SecondaryFileTest, AppendGzipAndPlaceholders) {
  auto p = mustBuild(config(" basename ${tag}_${chunk_id}\n append true\n compress gzip\n"));
  emit(*p, "app", {R"({"msg":"one"})"});
  ASSERT_TRUE(testing::waitFor([&] { return failedFiles().size() == 1; }));
  p->stopFiltersAndOutputs();
  auto files = failedFiles();
  ASSERT_EQ(files.size(), 1u);
  // ${tag} of the primary's chunk keys; ${chunk_id} is 32 hex digits.
  EXPECT_TRUE(files[0].starts_with("app_")) << files[0];
  EXPECT_EQ(files[0].size(), std::string("app_").size() + 32 + 3) << files[0];
  EXPECT_TRUE(files[0].ends_with(".gz")) << files[0];
  auto text = codec::decompress(codec::Compression::Gzip, testing::readFile(dir_.file("failed/" + files[0])));
  ASSERT_TRUE(text.isOk()) << text.status().message();
  EXPECT_EQ(*text, "{\"msg\":\"one\"}\n");
}

TEST_F(SecondaryFileTest, AppendedGzipMembersMakeOneFile) {
  testing::PluginFactory f;
  auto out = f.mustMake<Output>(PluginKind::Output, "secondary_file",
                                "directory " + dir_.file("failed") + "\nbasename all\nappend true\ncompress gzip\n");
  ASSERT_EQ(out->write(ChunkView("a\n")).kind, WriteResult::Kind::Ok);
  ASSERT_EQ(out->write(ChunkView("b\n")).kind, WriteResult::Kind::Ok);
  // gzip reads the members one after the other, as zcat does.
  FILE* z = ::popen(("gzip -dc " + dir_.file("failed/all.gz")).c_str(), "r");
  ASSERT_NE(z, nullptr);
  std::string text;
  char buf[64];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), z)) > 0;) text.append(buf, n);
  EXPECT_EQ(::pclose(z), 0);
  EXPECT_EQ(text, "a\nb\n");
}

TEST_F(SecondaryFileTest, ConfigErrors) {
  testing::PluginFactory f;
  auto slash = f.make(PluginKind::Output, "secondary_file", "directory /tmp/x\nbasename a/b\n");
  ASSERT_FALSE(slash.isOk());
  EXPECT_NE(slash.status().message().find("basename must be a file name"), std::string::npos);
  auto zstd = f.make(PluginKind::Output, "secondary_file", "directory /tmp/x\ncompress zstd\n");
  ASSERT_FALSE(zstd.isOk());
  EXPECT_NE(zstd.status().message().find("text"), std::string::npos) << zstd.status().message();
  EXPECT_FALSE(f.make(PluginKind::Output, "secondary_file", "basename x\n").isOk());  // directory is required
}

}  // namespace
}  // namespace sluice::plugins::out_secondary_file
