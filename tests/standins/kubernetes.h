// SPDX-License-Identifier: Apache-2.0
#pragma once

// A Kubernetes API stand-in for the tests: a real HTTP(S) server on 127.0.0.1 serving what a
// log collector asks an API server and a kubelet for, with the API server's answers:
//   GET /api/v1/namespaces/{ns}/pods/{pod}       a Pod, or a 404 Status
//   GET /api/v1/namespaces/{ns}                  a Namespace, or a 404 Status
//   GET /api/v1/pods?fieldSelector=spec.nodeName=N   a PodList with metadata.resourceVersion
//   GET /api/v1/pods?watch=true&resourceVersion=R&…  a watch: one JSON event per line
//       ({"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{…}}), chunked; a version
//       older than the kept history gets an ERROR event with a 410 "too old resource version"
//       Status, as after etcd compaction; with allowWatchBookmarks=true, BOOKMARK events on
//       demand (bookmark())
//   GET /pods                                    the kubelet's PodList of its node's pods
// Objects carry a resourceVersion the stand-in assigns from one counter. With a token
// required, other requests get 401. Faults on demand: a status for the next N requests
// (403 answers name the missing permission as RBAC does, 429 answers carry Retry-After as API
// Priority and Fairness sends), a delay per request. Every request
// is counted. The objects themselves come from the tests (../shared/fixtures/k8s).

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "support/http_server.h"

namespace sluice::testing {

class KubernetesStandIn {
 public:
  KubernetesStandIn();  // plain HTTP
  // HTTPS with this certificate and key (see TestCa).
  KubernetesStandIn(const std::string& cert_file, const std::string& key_file);
  ~KubernetesStandIn();
  // A kubelet as it serves by default: HTTPS with a self-signed certificate it made itself
  // (no cluster CA signed it; only serverTLSBootstrap gives it one), written into `dir`. Null
  // with `error` set when openssl fails.
  static std::unique_ptr<KubernetesStandIn> selfSignedKubelet(const std::string& dir, std::string* error);

  bool start() { return http_.start(); }
  void stop();
  int port() const { return http_.port(); }
  std::string url(std::string_view path = "") const { return http_.url(path); }

  // Requests must carry "Authorization: Bearer <token>" (empty: no check).
  void requireToken(std::string token);
  // The kubelet's node: /pods lists the pods whose spec.nodeName is `node` (empty: all).
  void setKubeletNode(std::string node);

  // Stores a Pod or Namespace given as the API returns it (JSON); the stand-in sets
  // metadata.resourceVersion and tells watchers (ADDED or MODIFIED). False when the JSON is not
  // an object with metadata.name (and metadata.namespace for a Pod).
  bool putPod(std::string_view json);
  bool putNamespace(std::string_view json);
  bool deletePod(const std::string& ns, const std::string& name);
  bool hasPod(const std::string& ns, const std::string& name) const;
  // Answers GET `path` with `status` and `body` (a recorded answer such as GET /api).
  void putRaw(std::string path, int status, std::string body);

  // The next `count` requests (watches included) get `status` (401, 403, 404, 410, 500, …)
  // with a Status body; -1: all of them until cleared with count 0.
  void failRequests(int status, int count);
  void setDelayMs(int ms);
  // The cluster's revision moves on by `advance` (other objects changed) and every watch that
  // asked for bookmarks (allowWatchBookmarks=true) gets a BOOKMARK with the new revision, as the
  // API server sends about once a minute.
  void bookmark(int64_t advance = 100);
  int bookmarksSent() const;  // BOOKMARK events written to watches
  // 429 answers (failRequests(429, …)) carry Retry-After: `seconds` (default 1), as API
  // Priority and Fairness sends.
  void setRetryAfter(int seconds);
  // Forgets the event history, as etcd compaction does (the revision moves on): watches from
  // any version seen so far get 410.
  void compactHistory();
  // Ends every open watch stream (as an API server restart would).
  void closeWatches();

  int requestCount() const;
  // Requests whose path starts with `prefix` (watches: "/api/v1/pods?watch").
  int requestCount(std::string_view prefix) const;
  int openWatches() const;
  std::string lastAuthorization() const;
  // The query string of the last list or watch of /api/v1/pods.
  std::string lastPodsQuery() const;

 private:
  struct Event {
    int64_t rv;
    std::string type;
    std::string node;
    std::string object;
  };
  struct Pod {
    std::string json;
    std::string node;
  };

  void routes();
  bool admit(const httplib::Request& req, httplib::Response& res, std::string_view resource,
             std::string_view verb, std::string_view ns, std::string_view name);
  void handleGet(const httplib::Request& req, httplib::Response& res);
  void handlePods(const httplib::Request& req, httplib::Response& res);
  void handleWatch(const httplib::Request& req, httplib::Response& res, std::string node);
  std::string podList(const std::string& node, bool with_version) const;  // REQUIRES: mu_
  bool store(std::string_view json, bool pod);

  HttpServer http_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, Pod> pods_;  // "ns/name"
  std::map<std::string, std::string> namespaces_;
  std::map<std::string, std::pair<int, std::string>> raw_;
  std::vector<Event> history_;
  int64_t rv_ = 1000;
  int64_t compacted_rv_ = 0;
  uint64_t watch_epoch_ = 0;  // closeWatches() bumps it
  uint64_t bookmark_seq_ = 0;  // bookmark() bumps it
  int retry_after_s_ = 1;
  int bookmarks_sent_ = 0;
  bool stopping_ = false;
  std::string token_;
  std::string kubelet_node_;
  int fail_status_ = 0, fail_count_ = 0;
  int delay_ms_ = 0;
  int open_watches_ = 0;
  std::vector<std::string> paths_;  // every request's path (and query for /api/v1/pods)
  std::string last_auth_;
  std::string last_pods_query_;
};

// Loads VCR cassettes (YAML recordings of API answers, ../shared/fixtures/k8s/fabric8-…) into
// `api` in order: Pods and Namespaces as objects, other answers (GET /api, /api/v1) raw. When
// two cassettes answer one path, the first one loaded wins, as VCR plays the first match.
// False (with `error` set) when a file cannot be read.
bool loadCassettes(KubernetesStandIn& api, const std::vector<std::string>& files, std::string* error);

}  // namespace sluice::testing
