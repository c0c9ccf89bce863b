// SPDX-License-Identifier: Apache-2.0
#include "core/plugin_api.h"

namespace sluice::plugins::out_copy {

struct CopyConfig {
  std::string copy_mode;
};
struct StoreConfig {
  bool ignore_error = false;
};

// Fluentd's out_copy: hands each batch to every <store> in order. Stores that route events
// on (relabel), and every store but the last with copy_mode deep/marshal, get their own deep
// copy, so that one store's filters cannot change what the next one sees. A failing store
// stops the others unless it has ignore_error.
class CopyOutput final : public Output, public EventSink {
 public:
  struct Store {
    EventSink* sink;
    bool ignore_error;
    bool needs_copy;
  };

  static Result<std::unique_ptr<CopyOutput>> create(const CopyConfig& config, PluginContext& ctx);

  // sluice::Output
  EventSink* asSink() override { return this; }
  // sluice::EventSink
  Status emit(Batch& batch) override {
    for (const Store& s : stores_) {
      Status st;
      if (s.needs_copy) {
        Batch copy;
        copy.setAck(batch.ack());
        copy.events().reserve(batch.size());
        for (const Event& e : batch.events()) {
          copy.add(copy.arena().copy(e.tag), e.time_ns, e.record.deepCopy(copy.arena()));
        }
        st = s.sink->emit(copy);
      } else {
        st = s.sink->emit(batch);
      }
      if (!st && !s.ignore_error) return st;
    }
    return Status::ok();
  }

 private:
  explicit CopyOutput(std::vector<Store> stores) : stores_(std::move(stores)) {}
  const std::vector<Store> stores_;
};

namespace {

const std::array<Param<CopyConfig>, 1> kParams = {{
    {"copy_mode", &CopyConfig::copy_mode, "no_copy", "no_copy and shallow share the batch between stores; deep and marshal give each store but the last a deep copy.", "no_copy|shallow|deep|marshal"},
}};
const std::array<Param<StoreConfig>, 1> kStoreParams = {{
    {"ignore_error", &StoreConfig::ignore_error, "false", "A failure of this store does not stop the following ones (also written `<store ignore_error>`)."},
}};

}  // namespace

Result<std::unique_ptr<CopyOutput>> CopyOutput::create(const CopyConfig& config, PluginContext& ctx) {
  std::vector<Store> stores;
  auto sections = ctx.element().children("store");
  if (sections.empty()) return Status::invalidConfig("copy needs at least one <store>");
  bool deep = config.copy_mode == "deep" || config.copy_mode == "marshal";
  for (size_t i = 0; i < sections.size(); ++i) {
    const config::Element& section = *sections[i];
    StoreConfig sc;
    Status s = ctx.bind(std::span<const Param<StoreConfig>>(kStoreParams), section, sc);
    if (!s) return s;
    if (section.arg == "ignore_error") {
      sc.ignore_error = true;  // Fluentd's <store ignore_error>
    } else if (!section.arg.empty()) {
      return Status::invalidConfig(section.where.str() + ": <store " + section.arg +
                                   ">: the only store argument is ignore_error");
    }
    auto sink = ctx.createStore(section);
    if (!sink) return sink.takeStatus();
    bool routes = section.find("@type") && section.find("@type")->value == "relabel";
    bool last = i + 1 == sections.size();
    stores.push_back(Store{*sink, sc.ignore_error, (deep && !last) || (routes && !last)});
  }
  return std::unique_ptr<CopyOutput>(new CopyOutput(std::move(stores)));
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<CopyOutput>(
      PluginKind::Output, "copy", "Sends each event to every <store>.", kParams,
      {{"store", "An output (any @type) receiving a copy of the events.",
        describeParams(std::span<const Param<StoreConfig>>(kStoreParams))}});
  return kDescriptor;
}

}  // namespace sluice::plugins::out_copy
