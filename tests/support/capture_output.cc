// SPDX-License-Identifier: Apache-2.0
#include "support/capture_output.h"

#include "core/json.h"

namespace sluice::testing {

CaptureStore& CaptureStore::get() {
  static CaptureStore store;
  return store;
}
void CaptureStore::add(const std::string& id, std::string line) {
  std::lock_guard<std::mutex> lock(mu_);
  lines_[id].push_back(std::move(line));
}
std::vector<std::string> CaptureStore::lines(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  return lines_[id];
}
void CaptureStore::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  lines_.clear();
}

namespace {

struct CaptureConfig {
  bool fail = false;
};

class CaptureOutput final : public Output, public EventSink {
 public:
  static Result<std::unique_ptr<CaptureOutput>> create(const CaptureConfig& c, PluginContext& ctx) {
    return std::unique_ptr<CaptureOutput>(new CaptureOutput(ctx.id(), c.fail));
  }
  EventSink* asSink() override { return this; }
  Status emit(Batch& batch) override {
    if (fail_) return Status::unavailable("capture told to fail");
    for (const Event& e : batch.events()) {
      CaptureStore::get().add(id_, std::string(e.tag) + " " + toJson(e.record));
    }
    return Status::ok();
  }

 private:
  CaptureOutput(std::string id, bool fail) : id_(std::move(id)), fail_(fail) {}
  std::string id_;
  bool fail_;
};

const std::array<Param<CaptureConfig>, 1> kParams = {{
    {"fail", &CaptureConfig::fail, "false", "Reject every batch."},
}};

}  // namespace

const PluginDescriptor& captureOutputDescriptor() {
  static const PluginDescriptor d =
      makeDescriptor<CaptureOutput>(PluginKind::Output, "capture", "Test capture.", kParams);
  return d;
}

}  // namespace sluice::testing
