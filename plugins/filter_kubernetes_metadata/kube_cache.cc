// SPDX-License-Identifier: Apache-2.0
// kubernetes_metadata's cache: resolve() a tag's pod and namespace from the LRU caches,
// fetching what is missing or expired from the API server (or the kubelet) on the calling
// input's thread, one fetch per key at a time (others wait for it), failures remembered for
// negative_cache_ttl. Runs on the inputs' threads under the filter's mutex, released while a
// fetch is in flight; storePod() is also called by the watch thread (kube_watch.cc).
#include <algorithm>

#include "net/http_client.h"
#include "plugins/filter_kubernetes_metadata/kube_time.h"
#include "plugins/filter_kubernetes_metadata/kubernetes_metadata_filter.h"

namespace sluice::plugins::filter_kubernetes_metadata {

std::shared_ptr<const Contribution> KubernetesMetadataFilter::resolve(std::string_view tag) {
  TagNames names;
  if (!matchTag(tag, names)) return nullptr;
  if (!api_ && !kubelet_) return buildContribution(names, nullptr, Found::Unknown, nullptr, Found::Unknown, build_);

  thread_local std::string key;
  key.assign(names.ns);
  key += '/';
  key += names.pod;
  std::unique_lock lock(mu_);
  PodSlot* pod = acquire<PodSlot, PodMeta>(lock, pods_, key, [&] {
    return kubelet_ ? fetchPodFromKubelet(names.ns, names.pod) : fetchPod(names.ns, names.pod);
  });
  Found pod_state = pod == nullptr                       ? Found::Unknown
                    : pod->state == SlotState::Found ? Found::Yes
                                                         : Found::Missing;
  std::shared_ptr<const PodMeta> pod_meta = pod != nullptr ? pod->meta : nullptr;

  // The namespace: wanted for its fields, and to tell an orphan from a pod that is just gone.
  Found ns_state = Found::Unknown;
  std::shared_ptr<const NamespaceMeta> ns_meta;
  if (api_ && pod_state != Found::Unknown && !cfg_.skip_namespace_metadata) {
    std::string ns_key(names.ns);
    NsSlot* ns = acquire<NsSlot, NamespaceMeta>(lock, namespaces_, ns_key, [&] { return fetchNamespace(names.ns); });
    if (ns != nullptr) {
      ns_state = ns->state == SlotState::Found ? Found::Yes : Found::Missing;
      ns_meta = ns->meta;
    }
  }
  m_.pods_cached->set(static_cast<int64_t>(pods_.size()));
  if (pod_state == Found::Unknown) {
    lock.unlock();
    return buildContribution(names, nullptr, Found::Unknown, nullptr, Found::Unknown, build_);
  }
  // The slot may have changed while the namespace was fetched: memoize only into the same one.
  pod = pods_.find(key);
  if (pod != nullptr && pod->meta == pod_meta) {
    for (const Built& b : pod->built) {
      if (b.container == names.container && b.docker_id == names.docker_id && b.ns == ns_meta &&
          b.ns_state == ns_state) {
        return b.contribution;
      }
    }
  }
  std::shared_ptr<const Contribution> c = buildContribution(names, pod_meta.get(), pod_state, ns_meta.get(), ns_state, build_);
  if (pod != nullptr && pod->meta == pod_meta) {
    pod->built.push_back(Built{std::string(names.container), std::string(names.docker_id), ns_meta, ns_state, c});
  }
  return c;
}

template <class Slot, class Meta, class Fetch>
Slot* KubernetesMetadataFilter::acquire(std::unique_lock<std::mutex>& lock, LruCache<Slot>& cache,
                                        const std::string& key, Fetch fetch) {
  // Real time: this bounds a wait for another thread's request, not a cache timer.
  const int64_t deadline = monoNs() + wait_ns_;
  for (;;) {
    Slot* s = cache.find(key);
    if (s != nullptr && s->state == SlotState::Pending) {  // another thread is asking: share its answer
      const int64_t real = monoNs();
      if (real >= deadline) {
        m_.unknown->add(1);
        return nullptr;
      }
      fetched_.wait_for(lock, std::chrono::nanoseconds(deadline - real));
      continue;
    }
    // Expiries and the back-off run on the filter's clock (a test's ManualClock moves it).
    int64_t now = clock_->nowNs();
    if (s != nullptr && s->expires_ns > now) {
      m_.hits->add(1);
      return s;
    }
    if (now < backoff_until_ns_) {  // the API failed lately: use what we have, ask later
      (s != nullptr ? m_.stale : m_.unknown)->add(1);
      return s;
    }
    m_.misses->add(1);
    Slot old;
    if (s != nullptr) old = std::move(*s);
    Slot& pending = cache.insert(key);
    pending = Slot{};
    pending.state = SlotState::Pending;
    lock.unlock();
    Fetched<Meta> r = fetch();
    lock.lock();
    Slot* t = &cache.insert(key);
    now = clock_->nowNs();
    fetched_.notify_all();
    if (!r.failure.empty()) {
      backoff_ns_ = backoff_ns_ == 0 ? kSecond : std::min(backoff_ns_ * 2, kMaxBackoffNs);
      // No sooner than the server asked (Retry-After on a 429), however short our back-off.
      net::RetryAfter asked;
      asked.note(r.retry_after_ns);
      const int64_t wait_ns = asked.atLeast(backoff_ns_);
      backoff_until_ns_ = now + wait_ns;
      if (r.failure != last_failure_) {
        log_.warn(r.failure + "; events pass with the names from their tags, lookups retry in " +
                  std::to_string(wait_ns / kSecond) + " s");
        last_failure_ = r.failure;
      }
      if (old.meta) {  // keep the last known metadata for the back-off period
        *t = std::move(old);
        t->expires_ns = backoff_until_ns_;
        return t;
      }
      cache.erase(key);
      return nullptr;
    }
    if (backoff_ns_ != 0) {
      log_.info("the Kubernetes API answers again");
      backoff_ns_ = 0;
      last_failure_.clear();
    }
    t->state = r.state;
    t->meta = std::move(r.meta);
    if constexpr (std::is_same_v<Slot, PodSlot>) t->built.clear();  // built from the old object
    t->expires_ns = now + (r.state == SlotState::Found ? ttl_ns_ : negative_ttl_ns_);
    return t;
  }
}

std::string KubernetesMetadataFilter::classifyFailure(const net::HttpResponse& r, std::string_view what) {
  std::string text = std::string(what) + ": " + KubeApi::describe(r);
  if (r.transportFailed()) {
    m_.errors_transport->add(1);
  } else if (r.status == 401) {
    m_.errors_unauthorized->add(1);
    text += " (check bearer_token_file / the service account token)";
  } else if (r.status == 403) {
    m_.errors_forbidden->add(1);
    text += " (RBAC: the service account needs get, list and watch on pods and get on namespaces)";
  } else if (r.status >= 500 || r.status == 429) {
    m_.errors_server->add(1);
  } else {
    m_.errors_response->add(1);
  }
  return text;
}

template <class Meta, class Parse>
KubernetesMetadataFilter::Fetched<Meta> KubernetesMetadataFilter::fetchObject(const std::string& path,
                                                                             const std::string& what, Parse parse) {
  Fetched<Meta> out;
  net::HttpResponse r;
  m_.requests->add(1);
  // resourceVersion=0: served from the API server's cache, not a quorum read of etcd.
  api_->get(path + "?resourceVersion=0", r);
  if (r.status == 404) return out;  // gone: Missing
  if (r.status != 200) {
    out.failure = classifyFailure(r, what);
    out.retry_after_ns = r.retry_after_ns;
    return out;
  }
  auto meta = parse(r.body, parse_);
  if (!meta) {
    m_.errors_response->add(1);
    out.failure = what + ": " + meta.status().message();
    return out;
  }
  out.state = SlotState::Found;
  out.meta = std::make_shared<const Meta>(std::move(*meta));
  return out;
}

KubernetesMetadataFilter::Fetched<PodMeta> KubernetesMetadataFilter::fetchPod(std::string_view ns, std::string_view pod) {
  return fetchObject<PodMeta>("/v1/namespaces/" + net::percentEncode(ns) + "/pods/" + net::percentEncode(pod),
                              "GET pod " + std::string(ns) + "/" + std::string(pod), parsePod);
}

KubernetesMetadataFilter::Fetched<PodMeta> KubernetesMetadataFilter::fetchPodFromKubelet(std::string_view ns,
                                                                                         std::string_view pod) {
  Fetched<PodMeta> out;
  std::string key = std::string(ns) + "/" + std::string(pod);
  std::lock_guard lock(kubelet_mu_);
  int64_t now = clock_->nowNs();
  if (kubelet_listed_ns_ == 0 || now - kubelet_listed_ns_ >= kKubeletListIntervalNs) {
    net::HttpResponse r;
    m_.requests->add(1);
    kubelet_->get("/pods", r);
    if (r.status != 200) {
      out.failure = classifyFailure(r, "GET kubelet /pods");
      out.retry_after_ns = r.retry_after_ns;
      return out;
    }
    auto pods = parsePodList(r.body, parse_);
    if (!pods) {
      m_.errors_response->add(1);
      out.failure = "GET kubelet /pods: " + pods.status().message();
      return out;
    }
    kubelet_pods_.clear();
    for (PodMeta& p : *pods) {
      std::string k = p.ns + "/" + p.name;
      kubelet_pods_[k] = std::make_shared<const PodMeta>(std::move(p));
    }
    kubelet_listed_ns_ = clock_->nowNs();
  }
  if (auto it = kubelet_pods_.find(key); it != kubelet_pods_.end()) {
    out.state = SlotState::Found;
    out.meta = it->second;
  }
  return out;
}

KubernetesMetadataFilter::Fetched<NamespaceMeta> KubernetesMetadataFilter::fetchNamespace(std::string_view ns) {
  return fetchObject<NamespaceMeta>("/v1/namespaces/" + net::percentEncode(ns), "GET namespace " + std::string(ns),
                                    parseNamespace);
}

void KubernetesMetadataFilter::storePod(PodMeta pod, int64_t now) {
  std::string key = pod.ns + "/" + pod.name;
  PodSlot* existing = pods_.find(key);
  if (existing != nullptr && existing->state == SlotState::Pending) return;  // its fetch will answer
  PodSlot& slot = pods_.insert(key);
  slot.state = SlotState::Found;
  slot.meta = std::make_shared<const PodMeta>(std::move(pod));
  slot.built.clear();
  slot.expires_ns = now + ttl_ns_;
}

}  // namespace sluice::plugins::filter_kubernetes_metadata
