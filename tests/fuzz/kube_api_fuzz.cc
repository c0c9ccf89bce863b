// SPDX-License-Identifier: Apache-2.0
// Fuzz target: whatever the Kubernetes API (or a kubelet, or a proxy) answers, the
// kubernetes_metadata filter reads Pod, Namespace, PodList and watch-event objects out of it
// without crashing, and builds from them the kubernetes/docker objects it adds to records,
// whose JSON must be valid UTF-8 that reads back to the same text. The watch body, cut into
// pieces at places the input chooses, gives the same event lines as the whole body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/json.h"
#include "plugins/filter_kubernetes_metadata/kube_metadata.h"

namespace {

using namespace sluice::plugins::filter_kubernetes_metadata;

const ParseOptions& options(bool de_dot) {
  static const ParseOptions* kOptions[2] = {nullptr, nullptr};
  if (kOptions[de_dot] == nullptr) {
    auto* o = new ParseOptions;
    o->annotation_match.push_back(std::make_unique<RE2>("^fluent"));
    o->annotation_match.push_back(std::make_unique<RE2>("kubernetes\\.io/"));
    o->de_dot = de_dot;
    o->ownerrefs = de_dot;
    kOptions[de_dot] = o;
  }
  return *kOptions[de_dot];
}

void checkJson(const sluice::JsonTemplate& t) {
  if (t.json.empty()) return;
  if (!sluice::isValidUtf8(t.json)) std::abort();
  sluice::Arena arena;
  auto v = sluice::parseJson(t.json, arena);
  if (!v || sluice::toJson(*v) != t.json) std::abort();
}

// What the filter adds to an event of each of the pod's containers (and of one it lacks).
void build(const PodMeta& pod, const NamespaceMeta* ns) {
  BuildOptions o;
  o.master_url = "https://10.0.0.1:443";
  std::vector<std::string_view> names = {"no-such-container"};
  for (const ContainerMeta& c : pod.containers) names.push_back(c.name);
  for (std::string_view name : names) {
    TagNames tag{pod.ns, pod.name, name, "0123456789abcdef", pod.uid};
    auto c = buildContribution(tag, &pod, Found::Yes, ns, ns ? Found::Yes : Found::Missing, o);
    if (c == nullptr || !c->kubernetes.isObject()) std::abort();
    checkJson(c->kubernetes_json);
    checkJson(c->docker_json);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const bool de_dot = size > 0 && (data[0] & 1) != 0;
  const ParseOptions& o = options(de_dot);

  auto ns = parseNamespace(input, o);
  if (auto pod = parsePod(input, o)) build(*pod, ns ? &*ns : nullptr);
  std::string rv;
  if (auto list = parsePodList(input, o, &rv)) {
    for (const PodMeta& pod : *list) build(pod, nullptr);
  }

  // The watch stream: lines from the whole body, then from pieces of it.
  std::vector<std::string> whole, pieces;
  auto collect = [](std::vector<std::string>& into) {
    return [&into](std::string_view line) {
      if (line.empty() || line.find('\n') != std::string_view::npos) std::abort();
      into.emplace_back(line);
      return true;
    };
  };
  WatchLines one;
  if (!one.feed(input, collect(whole))) std::abort();
  WatchLines split;
  size_t at = 0;
  for (size_t k = 0; at < size; ++k) {
    const size_t len = 1 + (k < size ? data[k] % 97 : 13);
    std::string_view piece = input.substr(at, len);
    if (!split.feed(piece, collect(pieces))) std::abort();
    at += piece.size();
  }
  if (whole != pieces || one.buffered() != split.buffered()) std::abort();
  for (const std::string& line : whole) {
    auto ev = parseWatchEvent(line, o);
    if (!ev) continue;
    if (ev->type != "ERROR" && ev->type != "BOOKMARK") build(ev->pod, nullptr);
  }
  // A consumer that stops at the first line: nothing is kept.
  WatchLines stop;
  bool stopped = !stop.feed(input, [](std::string_view) { return false; });
  if (stopped != !whole.empty() || (stopped && stop.buffered() != 0)) std::abort();
  return 0;
}
