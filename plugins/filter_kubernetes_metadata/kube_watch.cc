// SPDX-License-Identifier: Apache-2.0
// kubernetes_metadata's watch: a thread of its own (started by start(), stopped by stop())
// that lists this node's pods and then watches them, storing each pod it is told about in the
// cache (storePod, under the filter's mutex) so that process() rarely has to fetch.
#include <algorithm>

#include "net/http_client.h"
#include "plugins/filter_kubernetes_metadata/kube_time.h"
#include "plugins/filter_kubernetes_metadata/kubernetes_metadata_filter.h"

namespace sluice::plugins::filter_kubernetes_metadata {

// One list of this node's pods, then a watch from its resourceVersion; again from the last
// version seen when the watch ends, a new list on 410 Gone, waits growing on failures.
void KubernetesMetadataFilter::watchLoop() {
  const std::string selector = "fieldSelector=" + net::percentEncode("spec.nodeName=" + node_name_);
  std::string rv;
  double wait = static_cast<double>(std::max<int64_t>(1, cfg_.watch_retry_interval));
  const double base = static_cast<double>(std::max<int64_t>(1, cfg_.watch_retry_exponential_backoff_base));
  const double max_wait = static_cast<double>(std::max<int64_t>(1, cfg_.watch_retry_max_interval));
  auto listTried = [this] {
    if (first_list_done_.exchange(true)) return;
    std::lock_guard lock(stop_mu_);
    stop_cv_.notify_all();
  };
  auto failed = [&](const std::string& why) {
    watching_.store(false);
    log_.warn("pod watch: " + why + "; trying again in " + std::to_string(static_cast<int>(wait)) + " s");
    bool go_on = waitStop(wait);
    wait = std::min(wait * base, max_wait);
    m_.watch_restarts->add(1);
    return go_on;
  };
  while (!stopping_.load()) {
    if (rv.empty()) {
      net::HttpResponse r;
      m_.requests->add(1);
      m_.relists->add(1);
      api_->get("/v1/pods?" + selector + "&resourceVersion=0", r);
      if (r.status != 200) {
        listTried();
        wait = std::max(wait, static_cast<double>(r.retry_after_ns) / 1e9);
        if (!failed(classifyFailure(r, "LIST pods on node " + node_name_))) return;
        continue;
      }
      auto pods = parsePodList(r.body, parse_, &rv);
      if (pods && !rv.empty()) {
        std::lock_guard lock(mu_);
        int64_t now = clock_->nowNs();
        for (PodMeta& p : *pods) storePod(std::move(p), now);
      }
      listTried();
      if (!pods || rv.empty()) {
        m_.errors_response->add(1);
        if (!failed("LIST pods: " + (pods ? std::string("no resourceVersion") : pods.status().message()))) return;
        rv.clear();
        continue;
      }
    }
    // The server ends a watch after timeoutSeconds; a silent connection ends at our timeout.
    const int timeout_s = 240 + static_cast<int>(monoNs() % 120);
    WatchLines lines;
    bool gone = false;
    std::string event_error;
    auto on_line = [&](std::string_view line) {
      auto ev = parseWatchEvent(line, parse_);
      if (!ev) {
        event_error = ev.status().message();
        return true;
      }
      if (ev->type == "ERROR") {
        if (ev->error_code == 410) gone = true;
        event_error = "watch ERROR " + std::to_string(ev->error_code) + ": " + ev->error_message;
        return false;
      }
      if (!ev->pod.resource_version.empty()) rv = ev->pod.resource_version;
      if (ev->type == "ADDED" || ev->type == "MODIFIED") {
        std::lock_guard lock(mu_);
        storePod(std::move(ev->pod), clock_->nowNs());
      }
      // DELETED: the entry stays until it expires; the pod's last lines still need it.
      return true;
    };
    auto on_body = [&](std::string_view data) {
      if (!lines.feed(data, on_line)) {
        if (lines.overflow()) event_error = "a watch event line over " + std::to_string(WatchLines::kMaxLine) + " bytes";
        return false;
      }
      watching_.store(true);
      return true;
    };
    net::HttpResponse r;
    m_.requests->add(1);
    watching_.store(true);
    const int64_t started = monoNs();
    api_->stream("/v1/pods?watch=true&allowWatchBookmarks=true&" + selector + "&resourceVersion=" + rv +
                     "&timeoutSeconds=" + std::to_string(timeout_s),
                 on_body, [this] { return !stopping_.load(); }, (timeout_s + 30) * 1000LL, r);
    if (stopping_.load()) return;
    if (gone || r.status == 410) {
      log_.info("pod watch: resource version " + rv + " is gone (410); listing again");
      rv.clear();
      continue;
    }
    if (r.status == 200 && event_error.empty() && monoNs() - started >= kSecond) {
      wait = static_cast<double>(std::max<int64_t>(1, cfg_.watch_retry_interval));
      m_.watch_restarts->add(1);
      continue;  // the server ended the watch (timeoutSeconds): watch again from rv
    }
    if (r.status == 200 && event_error.empty()) event_error = "the watch ended at once";
    wait = std::max(wait, static_cast<double>(r.retry_after_ns) / 1e9);
    if (!failed(event_error.empty() ? classifyFailure(r, "WATCH pods") : event_error)) return;
  }
}

}  // namespace sluice::plugins::filter_kubernetes_metadata
