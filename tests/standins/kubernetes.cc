// SPDX-License-Identifier: Apache-2.0
#include "standins/kubernetes.h"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "core/arena.h"
#include "core/json.h"

namespace sluice::testing {
namespace {

constexpr std::string_view kUser = "system:serviceaccount:logging:sluice";

std::string quoted(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

// The API server's Status object for a failure.
std::string statusBody(int code, std::string_view reason, std::string_view message) {
  return "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":" +
         quoted(message) + ",\"reason\":" + quoted(reason) + ",\"code\":" + std::to_string(code) + "}";
}

std::string_view reasonOf(int code) {
  switch (code) {
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 410: return "Expired";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    default: return "InternalError";
  }
}

const Value* path(const Value& v, std::initializer_list<std::string_view> keys) {
  const Value* cur = &v;
  for (std::string_view k : keys) {
    cur = cur->find(k);
    if (cur == nullptr) return nullptr;
  }
  return cur;
}

std::string stringAt(const Value& v, std::initializer_list<std::string_view> keys) {
  const Value* s = path(v, keys);
  return s != nullptr && s->isString() ? std::string(s->asString()) : std::string();
}

}  // namespace

KubernetesStandIn::KubernetesStandIn() { routes(); }

std::unique_ptr<KubernetesStandIn> KubernetesStandIn::selfSignedKubelet(const std::string& dir, std::string* error) {
  // As the kubelet makes one at start when no --tls-cert-file is given: self-signed, named
  // after the node (here its address too, so that only the signature fails verification).
  const std::string command = "cd '" + dir + "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
                              " -keyout kubelet.key -out kubelet.crt -days 2 -subj /CN=node-a@1700000000"
                              " -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>openssl.err";
  if (std::system(command.c_str()) != 0) {
    std::ifstream err(dir + "/openssl.err");
    *error = "openssl failed: " + std::string(std::istreambuf_iterator<char>(err), {});
    return nullptr;
  }
  return std::make_unique<KubernetesStandIn>(dir + "/kubelet.crt", dir + "/kubelet.key");
}

KubernetesStandIn::KubernetesStandIn(const std::string& cert_file, const std::string& key_file)
    : http_(cert_file, key_file) {
  routes();
}

KubernetesStandIn::~KubernetesStandIn() { stop(); }

void KubernetesStandIn::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  http_.stop();
}

void KubernetesStandIn::routes() {
  http_.server().Get(".*", [this](const httplib::Request& req, httplib::Response& res) { handleGet(req, res); });
}

void KubernetesStandIn::requireToken(std::string token) {
  std::lock_guard lock(mu_);
  token_ = std::move(token);
}

void KubernetesStandIn::setKubeletNode(std::string node) {
  std::lock_guard lock(mu_);
  kubelet_node_ = std::move(node);
}

bool KubernetesStandIn::store(std::string_view json, bool pod) {
  Arena arena;
  auto parsed = parseJson(json, arena);
  if (!parsed || !parsed->isObject()) return false;
  Value obj = *parsed;
  Value* meta = obj.find("metadata");
  if (meta == nullptr || !meta->isObject()) return false;
  std::string name = stringAt(obj, {"metadata", "name"});
  std::string ns = stringAt(obj, {"metadata", "namespace"});
  if (name.empty() || (pod && ns.empty())) return false;
  std::string node = pod ? stringAt(obj, {"spec", "nodeName"}) : "";
  {
    std::lock_guard lock(mu_);
    int64_t rv = ++rv_;
    std::string rv_text = std::to_string(rv);
    *meta = meta->shallowCopy(arena);
    meta->setMember("resourceVersion", Value::string(rv_text), arena);
    std::string text = toJson(obj);
    if (pod) {
      std::string key = ns + "/" + name;
      bool existed = pods_.count(key) > 0;
      pods_[key] = Pod{text, node};
      history_.push_back(Event{rv, existed ? "MODIFIED" : "ADDED", node, text});
    } else {
      namespaces_[name] = text;
    }
  }
  changed_.notify_all();
  return true;
}

bool KubernetesStandIn::putPod(std::string_view json) { return store(json, true); }
bool KubernetesStandIn::putNamespace(std::string_view json) { return store(json, false); }

bool KubernetesStandIn::deletePod(const std::string& ns, const std::string& name) {
  {
    std::lock_guard lock(mu_);
    auto it = pods_.find(ns + "/" + name);
    if (it == pods_.end()) return false;
    history_.push_back(Event{++rv_, "DELETED", it->second.node, it->second.json});
    pods_.erase(it);
  }
  changed_.notify_all();
  return true;
}

bool KubernetesStandIn::hasPod(const std::string& ns, const std::string& name) const {
  std::lock_guard lock(mu_);
  return pods_.count(ns + "/" + name) > 0;
}

void KubernetesStandIn::putRaw(std::string path, int status, std::string body) {
  std::lock_guard lock(mu_);
  raw_[std::move(path)] = {status, std::move(body)};
}

void KubernetesStandIn::failRequests(int status, int count) {
  std::lock_guard lock(mu_);
  fail_status_ = status;
  fail_count_ = count;
}

void KubernetesStandIn::setDelayMs(int ms) {
  std::lock_guard lock(mu_);
  delay_ms_ = ms;
}

void KubernetesStandIn::bookmark(int64_t advance) {
  {
    std::lock_guard lock(mu_);
    rv_ += advance;
    ++bookmark_seq_;
  }
  changed_.notify_all();
}

int KubernetesStandIn::bookmarksSent() const {
  std::lock_guard lock(mu_);
  return bookmarks_sent_;
}

void KubernetesStandIn::setRetryAfter(int seconds) {
  std::lock_guard lock(mu_);
  retry_after_s_ = seconds;
}

void KubernetesStandIn::compactHistory() {
  {
    std::lock_guard lock(mu_);
    // The cluster's revision moves on with every object (leases, events), so a watcher's last
    // pod version is older than the compaction point.
    compacted_rv_ = ++rv_;
    history_.clear();
    ++watch_epoch_;  // open watches end, as their versions are gone too
  }
  changed_.notify_all();
}

void KubernetesStandIn::closeWatches() {
  {
    std::lock_guard lock(mu_);
    ++watch_epoch_;
  }
  changed_.notify_all();
}

int KubernetesStandIn::requestCount() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(paths_.size());
}

int KubernetesStandIn::requestCount(std::string_view prefix) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const std::string& p : paths_) n += p.starts_with(prefix) ? 1 : 0;
  return n;
}

int KubernetesStandIn::openWatches() const {
  std::lock_guard lock(mu_);
  return open_watches_;
}

std::string KubernetesStandIn::lastAuthorization() const {
  std::lock_guard lock(mu_);
  return last_auth_;
}

std::string KubernetesStandIn::lastPodsQuery() const {
  std::lock_guard lock(mu_);
  return last_pods_query_;
}

// Counts the request, applies the delay, the token check and injected faults. False when the
// request was answered here.
bool KubernetesStandIn::admit(const httplib::Request& req, httplib::Response& res, std::string_view resource,
                              std::string_view verb, std::string_view ns, std::string_view name) {
  int delay = 0, fail = 0;
  std::string token;
  {
    std::lock_guard lock(mu_);
    std::string p = req.path;
    if (req.path == "/api/v1/pods") p += req.has_param("watch") ? "?watch" : "?list";
    paths_.push_back(p);
    last_auth_ = req.get_header_value("Authorization");
    delay = delay_ms_;
    token = token_;
    if (fail_count_ != 0) {
      fail = fail_status_;
      if (fail_count_ > 0) --fail_count_;
    }
  }
  // A slow API server is the fault a test asked for, not synchronisation.
  if (delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  if (!token.empty() && req.get_header_value("Authorization") != "Bearer " + token) fail = 401;
  if (fail == 0) return true;
  std::string message;
  if (resource == "kubelet" && fail == 401) {  // the kubelet answers in plain text
    res.status = 401;
    res.set_content("Unauthorized", "text/plain");
    return false;
  }
  if (fail == 401) {
    message = "Unauthorized";
  } else if (fail == 403) {
    if (resource == "kubelet") {
      message = "Forbidden (user=" + std::string(kUser) + ", verb=get, resource=nodes, subresource=proxy)";
      res.status = 403;
      res.set_content(message, "text/plain");
      return false;
    }
    message = std::string(resource) + (name.empty() ? "" : " \"" + std::string(name) + "\"") +
              " is forbidden: User \"" + std::string(kUser) + "\" cannot " + std::string(verb) + " resource \"" +
              std::string(resource) + "\" in API group \"\"" +
              (ns.empty() ? std::string(" at the cluster scope") : " in the namespace \"" + std::string(ns) + "\"");
  } else if (fail == 404) {
    message = std::string(resource) + " \"" + std::string(name) + "\" not found";
  } else if (fail == 410) {
    message = "too old resource version";
  } else if (fail == 429) {
    // API Priority and Fairness rejects with Retry-After (apiserver/pkg/server/filters,
    // tooManyRequests: "Too many requests, please try again later.", retryAfterSeconds).
    res.status = 429;
    res.set_header("Retry-After", std::to_string(retry_after_s_));
    res.set_content("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
                    "\"Too many requests, please try again later.\",\"reason\":\"TooManyRequests\",\"details\":"
                    "{\"retryAfterSeconds\":" + std::to_string(retry_after_s_) + "},\"code\":429}",
                    "application/json");
    return false;
  } else {
    message = "Internal error occurred: injected failure";
  }
  res.status = fail;
  res.set_content(statusBody(fail, reasonOf(fail), message), "application/json");
  return false;
}

void KubernetesStandIn::handleGet(const httplib::Request& req, httplib::Response& res) {
  const std::string& p = req.path;
  {
    std::unique_lock lock(mu_);
    if (auto it = raw_.find(p); it != raw_.end()) {
      auto [status, body] = it->second;
      lock.unlock();
      if (!admit(req, res, "raw", "get", "", "")) return;
      res.status = status;
      res.set_content(body, "application/json");
      return;
    }
  }
  if (p == "/api/v1/pods") return handlePods(req, res);
  if (p == "/pods") {
    if (!admit(req, res, "kubelet", "get", "", "")) return;
    std::lock_guard lock(mu_);
    res.set_content(podList(kubelet_node_, false), "application/json");
    return;
  }
  constexpr std::string_view kNs = "/api/v1/namespaces/";
  if (!p.starts_with(kNs)) {
    if (!admit(req, res, "", "get", "", "")) return;
    res.status = 404;
    res.set_content(statusBody(404, "NotFound", "the server could not find the requested resource"),
                    "application/json");
    return;
  }
  std::string_view rest = std::string_view(p).substr(kNs.size());
  size_t slash = rest.find('/');
  std::string ns(rest.substr(0, slash));
  if (slash == std::string_view::npos) {
    if (!admit(req, res, "namespaces", "get", "", ns)) return;
    std::lock_guard lock(mu_);
    auto it = namespaces_.find(ns);
    if (it == namespaces_.end()) {
      res.status = 404;
      res.set_content(statusBody(404, "NotFound", "namespaces \"" + ns + "\" not found"), "application/json");
    } else {
      res.set_content(it->second, "application/json");
    }
    return;
  }
  rest.remove_prefix(slash + 1);
  if (!rest.starts_with("pods/") || rest.find('/', 5) != std::string_view::npos) {
    if (!admit(req, res, "", "get", ns, "")) return;
    res.status = 404;
    res.set_content(statusBody(404, "NotFound", "the server could not find the requested resource"),
                    "application/json");
    return;
  }
  std::string name(rest.substr(5));
  if (!admit(req, res, "pods", "get", ns, name)) return;
  std::lock_guard lock(mu_);
  auto it = pods_.find(ns + "/" + name);
  if (it == pods_.end()) {
    res.status = 404;
    res.set_content(statusBody(404, "NotFound", "pods \"" + name + "\" not found"), "application/json");
  } else {
    res.set_content(it->second.json, "application/json");
  }
}

std::string KubernetesStandIn::podList(const std::string& node, bool with_version) const {
  std::string out = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{";
  if (with_version) out += "\"resourceVersion\":\"" + std::to_string(rv_) + "\"";
  out += "},\"items\":[";
  bool first = true;
  for (const auto& [key, pod] : pods_) {
    if (!node.empty() && pod.node != node) continue;
    if (!first) out += ',';
    first = false;
    out += pod.json;
  }
  out += "]}";
  return out;
}

void KubernetesStandIn::handlePods(const httplib::Request& req, httplib::Response& res) {
  bool watch = req.has_param("watch") && req.get_param_value("watch") != "false" && req.get_param_value("watch") != "0";
  if (!admit(req, res, "pods", watch ? "watch" : "list", "", "")) return;
  std::string selector = req.get_param_value("fieldSelector");
  std::string node;
  {
    std::lock_guard lock(mu_);
    last_pods_query_.clear();
    for (const auto& [k, v] : req.params) {
      last_pods_query_ += (last_pods_query_.empty() ? "" : "&") + k + "=" + v;
    }
  }
  if (!selector.empty()) {
    constexpr std::string_view kNode = "spec.nodeName=";
    if (!selector.starts_with(kNode) || selector.find(',') != std::string::npos) {
      res.status = 400;
      res.set_content(statusBody(400, "BadRequest", "unable to parse requirement: field label not supported: " + selector),
                      "application/json");
      return;
    }
    node = selector.substr(kNode.size());
  }
  if (watch) return handleWatch(req, res, node);
  std::lock_guard lock(mu_);
  res.set_content(podList(node, true), "application/json");
}

void KubernetesStandIn::handleWatch(const httplib::Request& req, httplib::Response& res, std::string node) {
  std::string rv_text = req.get_param_value("resourceVersion");
  const bool bookmarks = req.get_param_value("allowWatchBookmarks") == "true";
  int timeout_s = req.has_param("timeoutSeconds") ? std::atoi(req.get_param_value("timeoutSeconds").c_str()) : 1800;
  int64_t from = rv_text.empty() ? 0 : std::atoll(rv_text.c_str());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  uint64_t epoch, bookmark_seq;
  std::string initial;
  {
    std::lock_guard lock(mu_);
    epoch = watch_epoch_;
    bookmark_seq = bookmark_seq_;
    ++open_watches_;
    if (from == 0) {  // no version: the current objects as ADDED events first
      for (const auto& [key, pod] : pods_) {
        if (!node.empty() && pod.node != node) continue;
        initial += "{\"type\":\"ADDED\",\"object\":" + pod.json + "}\n";
      }
      from = rv_;
    } else if (from < compacted_rv_) {
      initial = "{\"type\":\"ERROR\",\"object\":" +
                statusBody(410, "Expired", "too old resource version: " + rv_text + " (" +
                                               std::to_string(compacted_rv_) + ")") +
                "}\n";
      from = -1;  // the stream ends after the error
    }
  }
  res.set_chunked_content_provider(
      "application/json",
      [this, node, from, epoch, deadline, initial, bookmarks, bookmark_seq](size_t, httplib::DataSink& sink) mutable {
        if (!initial.empty()) {
          std::string first = std::move(initial);
          initial.clear();
          if (!sink.write(first.data(), first.size())) return false;
        }
        if (from < 0) {
          sink.done();
          return true;
        }
        std::string out;
        {
          std::unique_lock lock(mu_);
          changed_.wait_for(lock, std::chrono::milliseconds(100), [&] {
            return stopping_ || watch_epoch_ != epoch || (!history_.empty() && history_.back().rv > from) ||
                   (bookmarks && bookmark_seq_ != bookmark_seq);
          });
          if (stopping_ || watch_epoch_ != epoch || std::chrono::steady_clock::now() >= deadline) {
            lock.unlock();
            sink.done();
            return true;
          }
          for (const Event& e : history_) {
            if (e.rv <= from) continue;
            from = e.rv;
            if (!node.empty() && e.node != node) continue;
            out += "{\"type\":\"" + e.type + "\",\"object\":" + e.object + "}\n";
          }
          // A BOOKMARK carries only the revision the watch has reached (watch bookmarks, KEP
          // 956): its object is the kind with metadata.resourceVersion and nothing else.
          if (bookmarks && bookmark_seq_ != bookmark_seq) {
            bookmark_seq = bookmark_seq_;
            from = std::max(from, rv_);
            ++bookmarks_sent_;
            out += "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":"
                   "{\"resourceVersion\":\"" + std::to_string(rv_) + "\"}}}\n";
          }
        }
        if (!out.empty() && !sink.write(out.data(), out.size())) return false;
        return sink.is_writable();
      },
      [this](bool) {
        std::lock_guard lock(mu_);
        --open_watches_;
      });
}

bool loadCassettes(KubernetesStandIn& api, const std::vector<std::string>& files, std::string* error) {
  std::set<std::string> seen;
  for (const std::string& file : files) {
    YAML::Node doc;
    try {
      doc = YAML::LoadFile(file);
    } catch (const std::exception& e) {
      *error = file + ": " + e.what();
      return false;
    }
    for (const YAML::Node& interaction : doc["http_interactions"]) {
      std::string uri = interaction["request"]["uri"].as<std::string>("");
      size_t scheme = uri.find("://");
      size_t slash = uri.find('/', scheme == std::string::npos ? 0 : scheme + 3);
      std::string p = slash == std::string::npos ? "/" : uri.substr(slash);
      if (!seen.insert(p).second) continue;
      int status = interaction["response"]["status"]["code"].as<int>(200);
      std::string body = interaction["response"]["body"]["string"].as<std::string>("");
      Arena arena;
      auto parsed = parseJson(body, arena);
      std::string kind = parsed && parsed->isObject() ? stringAt(*parsed, {"kind"}) : "";
      bool stored = status == 200 && ((kind == "Pod" && api.putPod(body)) || (kind == "Namespace" && api.putNamespace(body)));
      if (!stored) api.putRaw(p, status, body);
    }
  }
  return true;
}

}  // namespace sluice::testing
