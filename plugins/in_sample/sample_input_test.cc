// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <thread>

#include "plugins/in_sample/sample_input.h"
#include "support/test_support.h"

namespace sluice::plugins::in_sample {
namespace {

class Collector : public EventSink {
 public:
  Status emit(Batch& batch) override {
    std::lock_guard<std::mutex> lock(mu);
    for (Event& e : batch.events()) {
      // Filters may change records in place: a sample emitted again must not show what was
      // done to an earlier copy of it, so the record is read before it is changed.
      lines.push_back(toJson(e.record));
      e.record.setMember("touched", Value::boolean(true), batch.arena());
      e.record.setMember("a", Value::string("changed"), batch.arena());
    }
    return Status::ok();
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu);
    return lines.size();
  }
  std::mutex mu;
  std::vector<std::string> lines;
};

TEST(SampleInputTest, CyclesSamplesWithCounter) {
  testing::PluginFactory f;
  auto in = f.mustMake<SampleInput>(
      PluginKind::Input, "sample",
      "tag s\nrate 1000\nsize 2\nauto_increment_key n\nsample [{\"a\":1},{\"b\":2}]");
  Collector out;
  StopToken stop;
  std::thread t([&] { EXPECT_TRUE(in->run(out, stop).isOk()); });
  ASSERT_TRUE(testing::waitFor([&] { return out.count() >= 6; }));
  stop.requestStop();
  t.join();
  EXPECT_EQ(out.lines[0], R"({"a":1,"n":0})");
  EXPECT_EQ(out.lines[1], R"({"b":2,"n":1})");
  EXPECT_EQ(out.lines[2], R"({"a":1,"n":2})");  // untouched: a fresh copy of the first sample
  EXPECT_EQ(out.lines[4], R"({"a":1,"n":4})");
}

TEST(SampleInputTest, ConfigErrors) {
  testing::PluginFactory f;
  EXPECT_FALSE(f.make(PluginKind::Input, "sample", "").isOk());  // tag is required
  EXPECT_FALSE(f.make(PluginKind::Input, "sample", "tag t\nsample [1,2]").isOk());
  EXPECT_FALSE(f.make(PluginKind::Input, "sample", "tag t\nrate 0").isOk());
  EXPECT_TRUE(f.make(PluginKind::Input, "dummy", "tag t\ndummy {\"x\":1}").isOk());  // Fluentd's old names
}

}  // namespace
}  // namespace sluice::plugins::in_sample
