// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_copy/copy_output.h"

namespace sluice::plugins::out_copy {
namespace {

const std::array<Param<CopyConfig>, 1> kParams = {{
    {"copy_mode", enumMember<&CopyConfig::copy_mode, kCopyModes>(), "no_copy", "no_copy and shallow share the batch between stores; deep and marshal give each store but the last a deep copy."},
}};
const std::array<Param<StoreConfig>, 1> kStoreParams = {{
    {"ignore_error", &StoreConfig::ignore_error, "false", "A failure of this store does not stop the following ones (also written `<store ignore_error>`)."},
}};

}  // namespace

Result<std::unique_ptr<CopyOutput>> CopyOutput::create(const CopyConfig& config, PluginContext& ctx) {
  std::vector<Store> stores;
  auto sections = ctx.element().children("store");
  if (sections.empty()) return Status::invalidConfig("copy needs at least one <store>");
  bool deep = config.copy_mode == CopyMode::Deep || config.copy_mode == CopyMode::Marshal;
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
    auto store = ctx.createStore(section);
    if (!store) return store.takeStatus();
    bool last = i + 1 == sections.size();
    stores.push_back(Store{store->sink, sc.ignore_error, (deep || store->routes) && !last});
  }
  return std::unique_ptr<CopyOutput>(new CopyOutput(std::move(stores)));
}

Status CopyOutput::emit(Batch& batch) {
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

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<CopyOutput>(
      PluginKind::Output, "copy", "Sends each event to every <store>.", kParams,
      {{"store", "An output (any @type) receiving a copy of the events.",
        describeParams(std::span<const Param<StoreConfig>>(kStoreParams))}})
      .inPipelineOnly();
  return kDescriptor;
}

}  // namespace sluice::plugins::out_copy
