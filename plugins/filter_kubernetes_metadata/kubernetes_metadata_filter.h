// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <re2/re2.h>

#include "core/clock.h"
#include "core/plugin_api.h"
#include "net/net_options.h"
#include "kube_api.h"
#include "kube_metadata.h"

namespace sluice::plugins::filter_kubernetes_metadata {

// The TLS options come from the shared group (net/net_options.h), spelled as Fluentd's
// kubernetes_metadata filter does: verify_ssl, ca_file, client_cert, client_key.
struct KubernetesMetadataConfig : net::TlsConfig {
  std::optional<std::string> kubernetes_url;
  std::string api_version;
  std::optional<std::string> bearer_token_file;
  std::string secret_dir;
  int64_t cache_size = 1000;
  int64_t cache_ttl = 3600;
  int64_t negative_cache_ttl = 60;
  bool watch = true;
  std::optional<std::string> node_name;
  std::string tag_to_kubernetes_name_regexp;
  StringList annotation_match;
  bool de_dot = false;
  std::string de_dot_separator;
  bool skip_labels = false;
  bool skip_pod_labels = false;
  bool skip_namespace_labels = false;
  bool skip_container_metadata = false;
  bool skip_master_url = false;
  bool skip_namespace_metadata = false;
  bool include_ownerrefs_metadata = false;
  bool allow_orphans = true;
  std::string orphaned_namespace_name;
  std::string orphaned_namespace_id;
  int64_t stats_interval = 30;
  int64_t open_timeout = 3;
  int64_t read_timeout = 10;
  bool use_kubelet = false;
  std::string kubelet_host;
  int64_t kubelet_port = 10250;
  int64_t watch_retry_interval = 1;
  int64_t watch_retry_exponential_backoff_base = 2;
  int64_t watch_retry_max_interval = 300;
  std::string exclude_annotation;
};

// A small LRU map: find() makes an entry the most recent, insert() evicts the least recent one
// beyond the capacity. Not locked (the filter's mutex guards it).
template <class V>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  V* find(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }
  V& insert(std::string_view key) {
    if (V* v = find(key)) return *v;
    order_.emplace_front(std::string(key), V{});
    index_.emplace(std::string_view(order_.front().first), order_.begin());
    while (order_.size() > capacity_) {
      index_.erase(std::string_view(order_.back().first));
      order_.pop_back();
      ++evictions_;
    }
    return order_.front().second;
  }
  void erase(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    auto pos = it->second;
    index_.erase(it);
    order_.erase(pos);
  }
  size_t size() const { return order_.size(); }
  uint64_t evictions() const { return evictions_; }

 private:
  size_t capacity_;
  std::list<std::pair<std::string, V>> order_;
  std::unordered_map<std::string_view, typename std::list<std::pair<std::string, V>>::iterator> index_;
  uint64_t evictions_ = 0;
};

// fluent-plugin-kubernetes_metadata_filter: adds `kubernetes` (pod, namespace, container,
// labels, …) and `docker` (container id) to events whose tag names a container log file. Pod
// and namespace objects come from the API server (or the kubelet's /pods), are cached (LRU with
// TTL, misses for the same pod share one request, pods that are gone cached too) and, with
// `watch`, kept fresh by one watch on this node's pods. An unreachable or refusing API never
// holds events back for long: they pass with what the tag says, and lookups back off.
// Per event, the work is a copy of what the cache entry built once.
// Threads: create() and start()/stop() run on the engine's thread; process() on every input's
// thread at once (the caches under mu_, released while the API is asked); with `watch`, start()
// starts the filter's watch thread and stop() joins it.
class KubernetesMetadataFilter final : public Filter {
 public:
  static Result<std::unique_ptr<KubernetesMetadataFilter>> create(const KubernetesMetadataConfig& config,
                                                                  PluginContext& ctx);
  ~KubernetesMetadataFilter() override;

  Status start() override;
  void stop() override;
  void process(Batch& batch) override;

  size_t cachedPods() const;
  // True once the watch has listed the node's pods and is streaming.
  bool watching() const { return watching_.load(); }

 private:
  enum class SlotState { Pending, Found, Missing };
  struct Built {
    std::string container, docker_id;
    std::shared_ptr<const NamespaceMeta> ns;  // what it was built from (compared by identity)
    Found ns_state = Found::Unknown;
    std::shared_ptr<const Contribution> contribution;
  };
  struct PodSlot {
    SlotState state = SlotState::Pending;
    int64_t expires_ns = 0;
    std::shared_ptr<const PodMeta> meta;
    std::vector<Built> built;
  };
  struct NsSlot {
    SlotState state = SlotState::Pending;
    int64_t expires_ns = 0;
    std::shared_ptr<const NamespaceMeta> meta;
  };
  template <class Meta>
  struct Fetched {
    SlotState state = SlotState::Missing;  // Found or Missing; failed when `failure` is set
    std::shared_ptr<const Meta> meta;
    std::string failure;
    int64_t retry_after_ns = 0;  // the server's Retry-After (a 429 from API Priority and Fairness)
  };
  struct Counters {
    Counter* hits;
    Counter* misses;
    Counter* stale;
    Counter* unknown;
    Counter* requests;
    Counter* errors_transport;
    Counter* errors_unauthorized;
    Counter* errors_forbidden;
    Counter* errors_server;
    Counter* errors_response;
    Counter* excluded;
    Counter* watch_restarts;
    Counter* relists;
    Gauge* pods_cached;
  };

  KubernetesMetadataFilter(const KubernetesMetadataConfig& config, PluginContext& ctx);
  bool matchTag(std::string_view tag, TagNames& out) const;
  std::shared_ptr<const Contribution> resolve(std::string_view tag);
  template <class Slot, class Meta, class Fetch>
  Slot* acquire(std::unique_lock<std::mutex>& lock, LruCache<Slot>& cache, const std::string& key, Fetch fetch);
  template <class Meta, class Parse>
  Fetched<Meta> fetchObject(const std::string& path, const std::string& what, Parse parse);
  Fetched<PodMeta> fetchPod(std::string_view ns, std::string_view pod);
  Fetched<PodMeta> fetchPodFromKubelet(std::string_view ns, std::string_view pod);
  Fetched<NamespaceMeta> fetchNamespace(std::string_view ns);
  std::string classifyFailure(const net::HttpResponse& r, std::string_view what);
  void storePod(PodMeta pod, int64_t now);  // REQUIRES: mu_
  void watchLoop();
  // Waits `seconds` on the filter's clock; false when the filter is stopping.
  bool waitStop(double seconds);
  void maybeLogStats();

  const KubernetesMetadataConfig cfg_;
  const SourceLogger log_;
  ParseOptions parse_;
  BuildOptions build_;
  std::unique_ptr<RE2> tag_re_;
  // Capture group indexes (1-based) for each name; a Ruby regexp may repeat a name in
  // alternatives, so several groups can carry one name.
  std::vector<int> ns_groups_, pod_groups_, container_groups_, docker_groups_, uuid_groups_;
  int group_count_ = 0;
  std::unique_ptr<KubeApi> api_;      // nullptr: no API server configured
  std::unique_ptr<KubeApi> kubelet_;  // with use_kubelet
  int64_t ttl_ns_, negative_ttl_ns_, wait_ns_;
  Clock* clock_;  // the context's: cache expiries, the back-off, the watch's retry waits, stats

  mutable std::mutex mu_;
  std::condition_variable fetched_;
  LruCache<PodSlot> pods_;       // "namespace/pod", guarded by mu_
  LruCache<NsSlot> namespaces_;  // guarded by mu_
  int64_t backoff_until_ns_ = 0;  // guarded by mu_: no API requests before (clock_'s time)
  int64_t backoff_ns_ = 0;        // guarded by mu_
  std::string last_failure_;      // guarded by mu_

  std::mutex kubelet_mu_;  // one kubelet listing at a time
  std::unordered_map<std::string, std::shared_ptr<const PodMeta>> kubelet_pods_;  // guarded by kubelet_mu_
  int64_t kubelet_listed_ns_ = 0;                                                  // guarded by kubelet_mu_

  std::string node_name_;
  std::thread watcher_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> watching_{false};
  std::atomic<bool> first_list_done_{false};  // the watch's first list was tried
  std::atomic<int64_t> next_stats_ns_{0};
  Counters m_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::filter_kubernetes_metadata
