// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "plugins/in_stdin/stdin_input.h"
#include "support/test_support.h"

namespace sluice::plugins::in_stdin {
namespace {

// Collects what the input emits (on the input's thread; `batches` is polled by the test).
class Collector : public EventSink {
 public:
  Status emit(Batch& batch) override {
    for (const Event& e : batch.events()) lines.push_back(std::string(e.tag) + " " + toJson(e.record));
    ++batches;
    return Status::ok();
  }
  std::vector<std::string> lines;
  std::atomic<int> batches{0};
};

TEST(StdinInputTest, ParsesLinesReportsMalformedAndStopsAtEof) {
  testing::PluginFactory f;
  auto in = f.mustMake<StdinInput>(PluginKind::Input, "stdin", "tag app\n<parse>\n @type json\n</parse>");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string data = "{\"a\":1}\nnot json\n{\"b\":\"x\"}\r\n{\"c\":3}";  // last line unterminated
  ASSERT_EQ(write(fds[1], data.data(), data.size()), ssize_t(data.size()));
  close(fds[1]);
  in->setFdForTest(fds[0]);
  Collector out;
  StopToken stop;
  std::string log;
  Logger::global().captureForTest(&log);
  Status s = in->run(out, stop);
  Logger::global().captureForTest(nullptr);
  close(fds[0]);
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(out.lines, (std::vector<std::string>{"app {\"a\":1}", "app {\"b\":\"x\"}", "app {\"c\":3}"}));
  EXPECT_NE(log.find("Malformed line skipped (invalid JSON): source=stdin line=\"not json\""), std::string::npos) << log;
  EXPECT_EQ(f.metrics().valueForTest("sluice_input_errors_total"), 1);
}

TEST(StdinInputTest, StopsWhenAskedWhileWaitingForInput) {
  testing::PluginFactory f;
  auto in = f.mustMake<StdinInput>(PluginKind::Input, "stdin", "");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  in->setFdForTest(fds[0]);
  Collector out;
  StopToken stop;
  std::thread t([&] { EXPECT_TRUE(in->run(out, stop).isOk()); });
  ASSERT_EQ(write(fds[1], "{\"x\":1}\n", 8), 8);
  ASSERT_TRUE(testing::waitFor([&] { return out.batches >= 1; }));
  stop.requestStop();
  t.join();
  close(fds[0]);
  close(fds[1]);
  EXPECT_EQ(out.lines.size(), 1u);
}

TEST(StdinInputTest, BatchesAreBounded) {
  testing::PluginFactory f;
  auto in = f.mustMake<StdinInput>(PluginKind::Input, "stdin", "batch_lines 10");
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::string data;
  for (int i = 0; i < 95; ++i) data += "line " + std::to_string(i) + "\n";
  ASSERT_EQ(write(fds[1], data.data(), data.size()), ssize_t(data.size()));
  close(fds[1]);
  in->setFdForTest(fds[0]);
  Collector out;
  StopToken stop;
  ASSERT_TRUE(in->run(out, stop).isOk());
  close(fds[0]);
  EXPECT_EQ(out.lines.size(), 95u);
  EXPECT_GE(out.batches.load(), 10);
  EXPECT_EQ(out.lines[94], "stdin {\"message\":\"line 94\"}");
}

}  // namespace
}  // namespace sluice::plugins::in_stdin
