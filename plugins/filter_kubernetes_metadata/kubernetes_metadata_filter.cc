// SPDX-License-Identifier: Apache-2.0
// kubernetes_metadata: its parameters, create/start/stop, and process() (on the inputs'
// threads: tag -> names -> cached metadata -> record). The cache and the API fetches are in
// kube_cache.cc, the watch thread in kube_watch.cc.
#include "plugins/filter_kubernetes_metadata/kubernetes_metadata_filter.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <type_traits>

#include "net/http_client.h"
#include "plugins/filter_kubernetes_metadata/kube_time.h"

namespace sluice::plugins::filter_kubernetes_metadata {
namespace {

using C = KubernetesMetadataConfig;

// fluent-plugin-kubernetes_metadata_filter 3.x's default: /var/log/pods and /var/log/containers
// file names (as tail tags them, slashes turned into dots).
constexpr const char* kDefaultTagRegexp =
    "(var\\.log\\.pods)\\.(?<namespace>[^_]+)_(?<pod_name>[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)"
    "_(?<pod_uuid>[a-z0-9-]*)\\.(?<container_name>.+)\\..*\\.log$"
    "|(var\\.log\\.containers)\\.(?<pod_name>[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)"
    "_(?<namespace>[^_]+)_(?<container_name>.+)-(?<docker_id>[a-z0-9]{64})\\.log$";

constexpr net::TlsAliases kTlsAliases{"verify_ssl", "ca_file", "client_cert", "client_key",
                                      "CA certificate for the API server; default <secret_dir>/ca.crt when it exists."};

const std::array<Param<C>, 39> kOwnParams = {{
    {"kubernetes_url", &C::kubernetes_url, nullptr, "API server URL. Default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api when both are set; without a URL only the tag's names are added."},
    {"apiVersion", &C::api_version, "v1", "API version (only v1 exists for pods and namespaces)."},
    {"bearer_token_file", &C::bearer_token_file, nullptr, "Bearer token file; default <secret_dir>/token when it exists. Read again when it changes and after a 401 (bound tokens rotate)."},
    {"secret_dir", &C::secret_dir, "/var/run/secrets/kubernetes.io/serviceaccount", "Where the service account's token and ca.crt are mounted."},
    {"cache_size", &C::cache_size, "1000", "Pods (and namespaces) kept in the cache; the least recently used go first."},
    {"cache_ttl", &C::cache_ttl, "3600", "Seconds a cached pod or namespace is used before it is asked for again; < 0: forever."},
    {"negative_cache_ttl", &C::negative_cache_ttl, "60", "Seconds a pod or namespace the API said does not exist is remembered as such."},
    {"watch", &C::watch, "true", "Watch this node's pods (fieldSelector spec.nodeName) to keep the cache fresh; needs node_name."},
    {"node_name", &C::node_name, nullptr, "This node's name for the watch. Default: $K8S_NODE_NAME, else $NODE_NAME (set it from the downward API)."},
    {"tag_to_kubernetes_name_regexp", &C::tag_to_kubernetes_name_regexp, kDefaultTagRegexp, "Regexp with named groups namespace, pod_name, container_name and docker_id or pod_uuid, matched against the tag (unanchored). A name may repeat in alternatives, as Ruby allows."},
    {"annotation_match", &C::annotation_match, "[]", "Regexps; pod and namespace annotations whose key matches one are added (annotations, namespace_annotations)."},
    {"de_dot", &C::de_dot, "false", "Replace dots in label and annotation keys with de_dot_separator (the plugin's 2.x behaviour; 3.x keeps dots)."},
    {"de_dot_separator", &C::de_dot_separator, "_", "Replacement for dots with de_dot; must not contain a dot."},
    {"skip_labels", &C::skip_labels, "false", "Leave out pod and namespace labels."},
    {"skip_pod_labels", &C::skip_pod_labels, "false", "Leave out pod labels."},
    {"skip_namespace_labels", &C::skip_namespace_labels, "false", "Leave out namespace labels."},
    {"skip_container_metadata", &C::skip_container_metadata, "false", "Leave out container_image and container_image_id."},
    {"skip_master_url", &C::skip_master_url, "false", "Leave out master_url."},
    {"skip_namespace_metadata", &C::skip_namespace_metadata, "false", "Do not ask for namespaces: no namespace_id, namespace_labels, namespace_annotations."},
    {"include_ownerrefs_metadata", &C::include_ownerrefs_metadata, "false", "Add kubernetes.ownerrefs (kind and name of the pod's owners)."},
    {"allow_orphans", &C::allow_orphans, "true", "Events of a pod and namespace the API says are gone get namespace_name orphaned_namespace_name, namespace_id orphaned_namespace_id and orphaned_namespace."},
    {"orphaned_namespace_name", &C::orphaned_namespace_name, ".orphaned", "Namespace name for orphans."},
    {"orphaned_namespace_id", &C::orphaned_namespace_id, "orphaned", "Namespace id for orphans."},
    {"stats_interval", &C::stats_interval, "30", "Seconds between log lines with the cache and API statistics; 0: none."},
    {"open_timeout", &C::open_timeout, "3", "Seconds to connect to the API server."},
    {"read_timeout", &C::read_timeout, "10", "Seconds for an answer from the API server."},
    {"use_kubelet", &C::use_kubelet, "false", "Ask the node's kubelet (GET /pods, this node's pods in one answer) instead of the API server for pods; namespaces still come from kubernetes_url."},
    {"kubelet_host", &C::kubelet_host, "127.0.0.1", "Kubelet address with use_kubelet."},
    {"kubelet_port", &C::kubelet_port, "10250", "Kubelet HTTPS port with use_kubelet."},
    {"watch_retry_interval", &C::watch_retry_interval, "1", "Seconds before the first reconnection of a failed watch."},
    {"watch_retry_exponential_backoff_base", &C::watch_retry_exponential_backoff_base, "2", "Factor by which the wait grows for each failed reconnection."},
    {"watch_retry_max_interval", &C::watch_retry_max_interval, "300", "Longest wait between reconnections; sluice keeps trying (Fluentd gives up after watch_retry_max_times)."},
    {"exclude_annotation", &C::exclude_annotation, "sluice.io/exclude", "Events of pods with this annotation set to \"true\" are dropped (counted)."},
    {"watch_retry_max_times", {}, nullptr, "Accepted for Fluentd compatibility; sluice never gives up on the watch.", {}, kIgnored},
    {"use_journal", {}, nullptr, "Accepted for Fluentd compatibility; journald records are not enriched.", {}, kIgnored},
    {"lookup_from_k8s_field", {}, nullptr, "Accepted for Fluentd compatibility; metadata is looked up from the tag only.", {}, kIgnored},
    {"ssl_partial_chain", {}, nullptr, "Accepted for Fluentd compatibility; OpenSSL's default verification applies.", {}, kIgnored},
    {"ignore_nil", {}, nullptr, "Accepted for Fluentd compatibility.", {}, kIgnored},
    {"container_name_to_kubernetes_regexp", {}, nullptr, "Accepted for Fluentd compatibility (journald only).", {}, kIgnored},
}};
const auto kParams = concatParams(kOwnParams, net::tlsParams<C>(kTlsAliases));


bool fileExists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Ruby allows one group name in several alternatives; RE2 does not. Renames the repeats
// ("name" → "name__2", …) so that the pattern compiles; matchTag() takes whichever matched.
std::string uniqueGroupNames(std::string_view pattern) {
  std::string out;
  std::unordered_map<std::string, int> seen;
  size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      out.append(pattern.substr(i, 2));
      i += 2;
      continue;
    }
    if (pattern.substr(i, 3) == "(?<" && i + 3 < pattern.size() && pattern[i + 3] != '=' && pattern[i + 3] != '!') {
      size_t end = pattern.find('>', i + 3);
      if (end != std::string_view::npos) {
        std::string name(pattern.substr(i + 3, end - i - 3));
        int n = ++seen[name];
        out += "(?<" + name + (n > 1 ? "__" + std::to_string(n) : "") + ">";
        i = end + 1;
        continue;
      }
    }
    out += pattern[i++];
  }
  return out;
}

std::string_view firstMatched(const std::vector<int>& groups, const re2::StringPiece* m) {
  for (int g : groups) {
    if (m[g].data() != nullptr) return {m[g].data(), m[g].size()};
  }
  return {};
}

}  // namespace

KubernetesMetadataFilter::KubernetesMetadataFilter(const KubernetesMetadataConfig& config, PluginContext& ctx)
    : cfg_(config),
      log_(ctx.log()),
      clock_(&ctx.clock()),
      pods_(static_cast<size_t>(std::max<int64_t>(1, config.cache_size))),
      namespaces_(static_cast<size_t>(std::max<int64_t>(1, config.cache_size))) {
  PluginMetrics& pm = ctx.metrics();
  const std::string lookups_help = "Tag lookups (once per run of events with one tag) by result.";
  const std::string errors_help = "Failed API requests by reason.";
  m_.hits = &pm.pluginCounter("lookups_total", lookups_help, {{"result", "hit"}});
  m_.misses = &pm.pluginCounter("lookups_total", lookups_help, {{"result", "miss"}});
  m_.stale = &pm.pluginCounter("lookups_total", lookups_help, {{"result", "stale"}});
  m_.unknown = &pm.pluginCounter("lookups_total", lookups_help, {{"result", "unavailable"}});
  m_.requests = &pm.pluginCounter("api_requests_total", "Requests sent to the API server or kubelet (watches included).");
  m_.errors_transport = &pm.pluginCounter("api_errors_total", errors_help, {{"reason", "transport"}});
  m_.errors_unauthorized = &pm.pluginCounter("api_errors_total", errors_help, {{"reason", "unauthorized"}});
  m_.errors_forbidden = &pm.pluginCounter("api_errors_total", errors_help, {{"reason", "forbidden"}});
  m_.errors_server = &pm.pluginCounter("api_errors_total", errors_help, {{"reason", "server"}});
  m_.errors_response = &pm.pluginCounter("api_errors_total", errors_help, {{"reason", "bad_response"}});
  m_.excluded = &pm.pluginCounter("excluded_records_total", "Records dropped because their pod has the exclude annotation.");
  m_.watch_restarts = &pm.pluginCounter("watch_restarts_total", "Pod watches started again after they ended or failed.");
  m_.relists = &pm.pluginCounter("relists_total", "Full lists of this node's pods (watch start, 410 Gone).");
  m_.pods_cached = &pm.gauge("kubernetes_metadata_cached_pods", "Pods in the cache.");
}

KubernetesMetadataFilter::~KubernetesMetadataFilter() { stop(); }

Result<std::unique_ptr<KubernetesMetadataFilter>> KubernetesMetadataFilter::create(
    const KubernetesMetadataConfig& config, PluginContext& ctx) {
  KubernetesMetadataConfig cfg = config;
  const std::string where = ctx.element().where.str() + ": ";
  if (cfg.api_version != "v1") return Status::invalidConfig(where + "apiVersion must be v1");
  if (cfg.de_dot && cfg.de_dot_separator.find('.') != std::string::npos) {
    return Status::invalidConfig(where + "Invalid de_dot_separator: cannot be or contain '.'");
  }
  if (cfg.cache_size <= 0) return Status::invalidConfig(where + "cache_size must be at least 1");
  if (cfg.open_timeout <= 0 || cfg.read_timeout <= 0) {
    return Status::invalidConfig(where + "open_timeout and read_timeout must be positive");
  }
  if (Status s = cfg.validateTls(kTlsAliases); !s) return Status::invalidConfig(where + s.message());
  if (!cfg.kubernetes_url) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host != nullptr && *host != '\0' && port != nullptr && *port != '\0') {
      std::string h = host;
      if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
      cfg.kubernetes_url = "https://" + h + ":" + port + "/api";
    }
  }
  if (!cfg.tls_ca_cert_path && fileExists(cfg.secret_dir + "/ca.crt")) cfg.tls_ca_cert_path = cfg.secret_dir + "/ca.crt";
  if (!cfg.bearer_token_file && fileExists(cfg.secret_dir + "/token")) cfg.bearer_token_file = cfg.secret_dir + "/token";
  if (!cfg.node_name) {
    for (const char* var : {"K8S_NODE_NAME", "NODE_NAME"}) {
      if (const char* v = std::getenv(var); v != nullptr && *v != '\0') {
        cfg.node_name = v;
        break;
      }
    }
  }

  std::unique_ptr<KubernetesMetadataFilter> f(new KubernetesMetadataFilter(cfg, ctx));
  auto translated = translateRubyRegex(uniqueGroupNames(cfg.tag_to_kubernetes_name_regexp));
  if (!translated) return translated.status().withPrefix(where + "tag_to_kubernetes_name_regexp: ");
  f->tag_re_ = std::make_unique<RE2>(*translated, RE2::Quiet);
  if (!f->tag_re_->ok()) {
    return Status::invalidConfig(where + "tag_to_kubernetes_name_regexp: " + f->tag_re_->error());
  }
  for (const auto& [name, index] : f->tag_re_->NamedCapturingGroups()) {
    std::string base = name.substr(0, name.find("__"));
    if (base == "namespace") f->ns_groups_.push_back(index);
    if (base == "pod_name") f->pod_groups_.push_back(index);
    if (base == "container_name") f->container_groups_.push_back(index);
    if (base == "docker_id") f->docker_groups_.push_back(index);
    if (base == "pod_uuid") f->uuid_groups_.push_back(index);
  }
  if (f->ns_groups_.empty() || f->pod_groups_.empty() || f->container_groups_.empty()) {
    return Status::invalidConfig(where + "tag_to_kubernetes_name_regexp needs the named groups namespace, pod_name and container_name");
  }
  f->group_count_ = f->tag_re_->NumberOfCapturingGroups();
  if (f->group_count_ >= kMaxTagGroups) {
    return Status::invalidConfig(where + "tag_to_kubernetes_name_regexp has " + std::to_string(f->group_count_) +
                                 " groups; at most " + std::to_string(kMaxTagGroups - 1) + " are supported");
  }

  for (const std::string& pattern : cfg.annotation_match) {
    auto re = compileRubyRegex(pattern);
    if (!re) return re.status().withPrefix(where + "annotation_match: ");
    f->parse_.annotation_match.push_back(std::move(*re));
  }
  f->parse_.de_dot = cfg.de_dot;
  f->parse_.de_dot_separator = cfg.de_dot_separator;
  f->parse_.ownerrefs = cfg.include_ownerrefs_metadata;
  f->parse_.exclude_annotation = cfg.exclude_annotation;
  f->build_.skip_pod_labels = cfg.skip_labels || cfg.skip_pod_labels;
  f->build_.skip_namespace_labels = cfg.skip_labels || cfg.skip_namespace_labels;
  f->build_.skip_container_metadata = cfg.skip_container_metadata;
  f->build_.skip_master_url = cfg.skip_master_url;
  f->build_.skip_namespace_metadata = cfg.skip_namespace_metadata;
  f->build_.allow_orphans = cfg.allow_orphans;
  f->build_.orphaned_namespace_name = cfg.orphaned_namespace_name;
  f->build_.orphaned_namespace_id = cfg.orphaned_namespace_id;
  f->build_.master_url = cfg.kubernetes_url.value_or("");
  f->ttl_ns_ = cfg.cache_ttl < 0 ? INT64_MAX / 4 : cfg.cache_ttl * kSecond;
  f->negative_ttl_ns_ = std::max<int64_t>(0, cfg.negative_cache_ttl) * kSecond;
  f->wait_ns_ = (cfg.open_timeout + cfg.read_timeout + 1) * kSecond;

  const net::TlsOptions tls = cfg.tlsOptions();
  auto apiOptions = [&](std::string base) {
    KubeApi::Options o;
    o.base_url = std::move(base);
    o.tls = tls;
    o.token_file = cfg.bearer_token_file;
    o.connect_timeout_ms = cfg.open_timeout * 1000;
    o.timeout_ms = cfg.read_timeout * 1000;
    return o;
  };
  if (cfg.kubernetes_url && !cfg.kubernetes_url->empty()) {
    // As kubeclient does: the URL may end in /api or stop before it.
    std::string base = *cfg.kubernetes_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (!base.ends_with("/api")) base += "/api";
    f->api_ = std::make_unique<KubeApi>(apiOptions(base));
  }
  if (cfg.use_kubelet) {
    std::string host = cfg.kubelet_host.find(':') != std::string::npos ? "[" + cfg.kubelet_host + "]" : cfg.kubelet_host;
    f->kubelet_ = std::make_unique<KubeApi>(apiOptions("https://" + host + ":" + std::to_string(cfg.kubelet_port)));
  }
  f->node_name_ = cfg.node_name.value_or("");
  return f;
}

Status KubernetesMetadataFilter::start() {
  if (kubelet_ && cfg_.tls_verify) {
    // A kubelet serves a self-signed certificate unless its serving certificates are
    // bootstrapped (serverTLSBootstrap): with verify_ssl every lookup would fail and events
    // would pass without metadata, so a certificate the CA cannot verify stops start-up.
    net::HttpResponse r;
    m_.requests->add(1);
    kubelet_->get("/healthz", r);  // any answer will do: the handshake is what is checked
    if (r.transportFailed() && (r.error.find("certificate") != std::string::npos || r.error.find("SSL") != std::string::npos)) {
      return Status::invalidConfig("use_kubelet: the kubelet's certificate cannot be verified (" + r.error +
                                   "); kubelets serve a self-signed certificate unless serverTLSBootstrap is on: "
                                   "give its CA in ca_file, or set verify_ssl false");
    }
  }
  if (!api_) {
    if (!kubelet_) log_.info("no kubernetes_url (and no KUBERNETES_SERVICE_HOST): adding the names the tag gives only");
    return Status::ok();
  }
  if (cfg_.watch && !kubelet_) {
    if (node_name_.empty()) {
      log_.warn("watch needs this node's name (node_name, or K8S_NODE_NAME / NODE_NAME from the downward API); "
                "without it pods are looked up one by one");
    } else {
      watcher_ = std::thread([this] { watchLoop(); });
      // The node's pods arrive in one list: wait for it (bounded) so that the first events do
      // not each cost a GET, on every node of the cluster starting at once.
      std::unique_lock lock(stop_mu_);
      stop_cv_.wait_for(lock, std::chrono::nanoseconds(wait_ns_),
                        [this] { return first_list_done_.load() || stopping_.load(); });
    }
  }
  return Status::ok();
}

void KubernetesMetadataFilter::stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_.store(true);
  }
  stop_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

bool KubernetesMetadataFilter::waitStop(double seconds) {
  const int64_t until = clock_->nowNs() + static_cast<int64_t>(seconds * 1e9);
  std::unique_lock lock(stop_mu_);
  while (!stopping_.load() && clock_->nowNs() < until) clock_->waitUntil(stop_cv_, lock, until);
  return !stopping_.load();
}

size_t KubernetesMetadataFilter::cachedPods() const {
  std::lock_guard lock(mu_);
  return pods_.size();
}

bool KubernetesMetadataFilter::matchTag(std::string_view tag, TagNames& out) const {
  re2::StringPiece groups[kMaxTagGroups];
  int n = group_count_ + 1;
  if (!tag_re_->Match(re2::StringPiece(tag.data(), tag.size()), 0, tag.size(), RE2::UNANCHORED, groups, n)) {
    return false;
  }
  out.ns = firstMatched(ns_groups_, groups);
  out.pod = firstMatched(pod_groups_, groups);
  out.container = firstMatched(container_groups_, groups);
  out.docker_id = firstMatched(docker_groups_, groups);
  out.pod_uuid = firstMatched(uuid_groups_, groups);
  return !out.ns.empty() && !out.pod.empty();
}

void KubernetesMetadataFilter::process(Batch& batch) {
  auto& events = batch.events();
  const size_t n = events.size();
  size_t excluded = 0;
  thread_local std::vector<uint8_t> drop;
  for (size_t i = 0; i < n;) {
    std::string_view tag = events[i].tag;
    size_t j = i + 1;
    while (j < n && events[j].tag == tag) ++j;
    std::shared_ptr<const Contribution> c = resolve(tag);
    if (c) {
      if (c->exclude) {
        if (excluded == 0) drop.assign(n, 0);
        std::fill(drop.begin() + static_cast<ptrdiff_t>(i), drop.begin() + static_cast<ptrdiff_t>(j), 1);
        excluded += j - i;
      } else {
        Arena& arena = batch.arena();
        for (size_t k = i; k < j; ++k) {
          Value& record = events[k].record;
          if (!c->docker.isNull()) record.setMember("docker", Value::copyOfTemplate(c->docker_json, arena), arena);
          record.setMember("kubernetes", Value::copyOfTemplate(c->kubernetes_json, arena), arena);
        }
        batch.retain(std::move(c));
      }
    }
    i = j;
  }
  if (excluded > 0) {
    const Event* base = events.data();
    batch.eraseIf([&](const Event& e) { return drop[static_cast<size_t>(&e - base)] != 0; });
    m_.excluded->add(excluded);
  }
  maybeLogStats();
}

void KubernetesMetadataFilter::maybeLogStats() {
  if (cfg_.stats_interval <= 0) return;
  int64_t now = clock_->nowNs();
  int64_t next = next_stats_ns_.load(std::memory_order_relaxed);
  if (now < next) return;
  if (!next_stats_ns_.compare_exchange_strong(next, now + cfg_.stats_interval * kSecond)) return;
  if (next == 0) return;  // the first call only sets the clock
  size_t pods, namespaces;
  {
    std::lock_guard lock(mu_);
    pods = pods_.size();
    namespaces = namespaces_.size();
  }
  log_.info("stats: pods cached " + std::to_string(pods) + ", namespaces cached " + std::to_string(namespaces) +
            ", lookups hit " + std::to_string(m_.hits->value()) + " miss " + std::to_string(m_.misses->value()) +
            " unavailable " + std::to_string(m_.unknown->value()) + ", API requests " +
            std::to_string(m_.requests->value()) + ", excluded records " + std::to_string(m_.excluded->value()));
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<KubernetesMetadataFilter>(
      PluginKind::Filter, "kubernetes_metadata",
      "Adds pod and namespace metadata (kubernetes.*, docker.container_id) to container log events, from the API server "
      "or the kubelet: cached (LRU + TTL, shared misses, negative entries), kept fresh by a watch on this node's pods; "
      "an unreachable API never stops events. Pods annotated sluice.io/exclude: \"true\" have their events dropped.",
      kParams, {});
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_kubernetes_metadata
