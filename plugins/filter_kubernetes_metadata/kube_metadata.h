// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the kubernetes_metadata filter learns from the API (Pod and Namespace objects), parsed
// once per answer, and what an event of a pod's container gets from it: the `docker` and
// `kubernetes` objects, built once per cache entry and container.
// Threads: the parsers are pure functions called by the watch thread and by the inputs' threads
// on a cache miss; a built Contribution is immutable and shared by the batches that point into it.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <re2/re2.h>

#include "core/plugin_api.h"

namespace sluice::plugins::filter_kubernetes_metadata {

using Pairs = std::vector<std::pair<std::string, std::string>>;

// How API objects are read: which annotations are kept, dots in keys.
// Threading: pure functions and plain data; the filter calls them on the inputs' threads and its
// watch thread.
struct ParseOptions {
  std::vector<std::unique_ptr<RE2>> annotation_match;  // kept when any matches (unanchored)
  bool de_dot = false;
  std::string de_dot_separator = "_";
  bool ownerrefs = false;
  std::string exclude_annotation = "sluice.io/exclude";
};

struct ContainerMeta {
  std::string name;
  std::string image;
  std::string image_id;
  std::string container_id;  // without the runtime prefix (docker://, containerd://)
};

struct PodMeta {
  std::string ns, name, uid, ip, host, resource_version;
  Pairs labels;
  Pairs annotations;  // those annotation_match keeps
  Pairs ownerrefs;    // kind, name
  std::vector<ContainerMeta> containers;
  bool exclude = false;  // annotated sluice.io/exclude: "true"
};

struct NamespaceMeta {
  std::string name, uid;
  Pairs labels;
  Pairs annotations;
};

// A Pod object (JSON) as GET …/pods/{name}, a list item or a watch event carries it.
Result<PodMeta> parsePod(std::string_view json, const ParseOptions& options);
Result<NamespaceMeta> parseNamespace(std::string_view json, const ParseOptions& options);
// Each item of a PodList (kubelet /pods, a list of /api/v1/pods); `resource_version` gets the
// list's metadata.resourceVersion.
Result<std::vector<PodMeta>> parsePodList(std::string_view json, const ParseOptions& options,
                                          std::string* resource_version = nullptr);
// One watch event line: its type and, for pods, the object. An ERROR event's Status code goes
// to `error_code`.
struct WatchEvent {
  std::string type;
  PodMeta pod;
  int error_code = 0;
  std::string error_message;
};
Result<WatchEvent> parseWatchEvent(std::string_view line, const ParseOptions& options);

// Cuts the body of a watch, which arrives in pieces of any size, into its event lines (one JSON
// object per line; empty lines are skipped). Called by the filter's watch thread and the
// watch-stream fuzz target. Not thread-safe: one per watch.
class WatchLines {
 public:
  // The longest event line held: etcd stores objects of at most 1.5 MiB, so a longer line is
  // a broken stream, not an event, and must not grow the buffer without end.
  static constexpr size_t kMaxLine = 16 << 20;

  // Appends `data` and calls `on_line(line)` (a bool function) for each complete line, in
  // order. Returns false, with nothing kept, when `on_line` returns false or the unfinished
  // line passes kMaxLine (`overflow()` then says so); the watch is to be ended.
  template <class OnLine>
  bool feed(std::string_view data, OnLine&& on_line) {
    pending_.append(data);
    size_t start = 0;
    for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending_.data() + start, nl - start);
      if (line.empty()) continue;
      if (!on_line(line)) {
        pending_.clear();
        return false;
      }
    }
    pending_.erase(0, start);
    if (pending_.size() > kMaxLine) {
      pending_.clear();
      overflow_ = true;
      return false;
    }
    return true;
  }
  // What an unfinished last line holds (a watch that ended in mid-line).
  size_t buffered() const { return pending_.size(); }
  bool overflow() const { return overflow_; }

 private:
  std::string pending_;
  bool overflow_ = false;
};

// The names a tag gives (views into the tag).
struct TagNames {
  std::string_view ns, pod, container, docker_id, pod_uuid;
};

// What the filter adds to every event of one container: built once, then copied per event
// (objects copied, strings shared) so later filters may change a record without touching the
// others. Immutable once built.
struct Contribution {
  Arena arena;
  Value docker;      // Null: no docker member
  Value kubernetes;
  JsonTemplate docker_json;  // their JSON, serialised once: outputs copy it while unchanged
  JsonTemplate kubernetes_json;
  bool exclude = false;
};

// Output switches (fluent-plugin-kubernetes_metadata_filter's skip_* parameters).
struct BuildOptions {
  bool skip_pod_labels = false;
  bool skip_namespace_labels = false;
  bool skip_container_metadata = false;
  bool skip_master_url = false;
  bool skip_namespace_metadata = false;
  bool allow_orphans = true;
  std::string orphaned_namespace_name = ".orphaned";
  std::string orphaned_namespace_id = "orphaned";
  std::string master_url;
};

enum class Found { Yes, Missing, Unknown };  // Unknown: the API could not be asked

// The docker/kubernetes objects for an event of `tag`'s container, as the Fluentd filter writes
// them. `pod` is null unless found; `ns` null unless found (or not wanted). `pod_state` and
// `ns_state` decide orphaning: a pod and namespace the API says are gone.
std::shared_ptr<Contribution> buildContribution(const TagNames& tag, const PodMeta* pod, Found pod_state,
                                                const NamespaceMeta* ns, Found ns_state,
                                                const BuildOptions& options);

}  // namespace sluice::plugins::filter_kubernetes_metadata
