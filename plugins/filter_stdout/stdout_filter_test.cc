// SPDX-License-Identifier: Apache-2.0
// Cases from Fluentd's test/plugin/test_filter_stdout.rb, restated.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <thread>

#include "plugins/filter_stdout/stdout_filter.h"
#include "support/alloc_counter.h"
#include "support/files.h"
#include "support/test_support.h"

namespace sluice::plugins::filter_stdout {
namespace {

using testing::batchOf;
using testing::jsonRecords;
using testing::PluginFactory;

constexpr int64_t kTime = 1795309323LL * kNanosPerSecond + 5;  // 2026-11-22 01:02:03 UTC

// What the filter prints for `records`, read back from a real temporary file.
std::string printed(const std::string& config, const std::vector<std::string>& records, std::vector<std::string>* passed = nullptr) {
  setenv("TZ", "UTC", 1);
  tzset();
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "stdout", config);
  testing::AnonymousFile file;
  EXPECT_GE(file.fd(), 0);
  static_cast<StdoutFilter*>(filter.get())->setFdForTest(file.fd());
  Batch b = batchOf(records, "test", kTime);
  filter->process(b);
  if (passed) *passed = jsonRecords(b);
  return file.text();
}

TEST(StdoutFilterTest, PassesEventsThroughUnchanged) {
  std::vector<std::string> passed;
  std::vector<std::string> records = {R"({"test":"test"})", R"({"a":1,"b":[true,null]})"};
  printed("", records, &passed);
  EXPECT_EQ(passed, records);
}

TEST(StdoutFilterTest, DefaultIsTimeTagJson) {
  EXPECT_EQ(printed("", {R"({"test":"test"})"}), "2026-11-22 01:02:03.000000005 +0000 test: {\"test\":\"test\"}\n");
}

TEST(StdoutFilterTest, FormatSectionAndV012Parameters) {
  EXPECT_EQ(printed("<format>\n @type json\n</format>", {R"({"test":"test"})"}), "{\"test\":\"test\"}\n");
  EXPECT_EQ(printed("output_type hash", {R"({"test":"test"})"}), "2026-11-22 01:02:03.000000005 +0000 test: {\"test\"=>\"test\"}\n");
  EXPECT_EQ(printed("output_type ltsv", {R"({"test":"test","n":1})"}), "2026-11-22 01:02:03.000000005 +0000 test: test:test\tn:1\n");
  EXPECT_EQ(printed("format json", {R"({"test":"test"})"}), "{\"test\":\"test\"}\n");
}

// Fluentd's filter_stdout prints inject_values_to_record(tag, time, record) and passes the
// record on unchanged.
TEST(StdoutFilterTest, InjectAddsFieldsToWhatIsPrintedOnly) {
  std::vector<std::string> passed;
  EXPECT_EQ(printed("<inject>\n tag_key t\n time_key at\n time_type unixtime\n</inject>\n<format>\n @type json\n</format>",
                    {R"({"m":1})"}, &passed),
            "{\"m\":1,\"t\":\"test\",\"at\":1795309323}\n");
  EXPECT_EQ(passed, (std::vector<std::string>{R"({"m":1})"}));
}

TEST(StdoutFilterTest, InvalidOutputTypeIsAConfigError) {
  PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Filter, "stdout", "output_type foo").isOk());
  EXPECT_FALSE(f.make(PluginKind::Filter, "stdout", "<format>\n @type nosuch\n</format>").isOk());
}

TEST(StdoutFilterTest, ConcurrentBatchesDoNotInterleaveLines) {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "stdout", "<format>\n @type json\n</format>");
  testing::AnonymousFile file;
  ASSERT_GE(file.fd(), 0);
  static_cast<StdoutFilter*>(filter.get())->setFdForTest(file.fd());
  std::string big(3000, 'x');
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        Batch b = batchOf(std::vector<std::string>(8, "{\"t\":" + std::to_string(t) + ",\"pad\":\"" + big + "\"}"));
        filter->process(b);
      }
    });
  }
  for (auto& th : threads) th.join();
  const std::string text = file.text();
  size_t lines = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos);
    std::string_view line(text.data() + start, end - start);
    ASSERT_EQ(line.size(), big.size() + 16) << "a line was cut by another batch";
    ++lines;
    start = end + 1;
  }
  EXPECT_EQ(lines, 4u * 50 * 8);
}

TEST(StdoutFilterTest, WarmBatchAllocatesNothing) {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "stdout", "<format>\n @type json\n</format>");
  int null_fd = open("/dev/null", O_WRONLY);
  ASSERT_GE(null_fd, 0);
  static_cast<StdoutFilter*>(filter.get())->setFdForTest(null_fd);
  Batch b = batchOf(std::vector<std::string>(64, R"({"level":"info","msg":"hello"})"));
  filter->process(b);
  testing::AllocationCounter counter;
  filter->process(b);
  EXPECT_EQ(counter.count(), 0u);
  close(null_fd);
}

}  // namespace
}  // namespace sluice::plugins::filter_stdout
