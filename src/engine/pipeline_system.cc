// SPDX-License-Identifier: Apache-2.0
// The <system> section (log level and format, root_dir, <log>, <monitor>) and Fluentd's
// monitoring <source>s (prometheus, prometheus_monitor, prometheus_output_monitor,
// monitor_agent), which configure monitor servers instead of inputs. Main thread, while a
// pipeline is built.
#include <cstdlib>

#include "engine/build_messages.h"
#include "engine/monitor_sources.h"
#include "engine/pipeline.h"

namespace sluice::engine {

namespace {

inline constexpr Choice<LogLevel> kLogLevels[] = {
    {"trace", LogLevel::Trace}, {"debug", LogLevel::Debug}, {"info", LogLevel::Info}, {"warn", LogLevel::Warn},
    {"error", LogLevel::Error}, {"fatal", LogLevel::Fatal}};
enum class LogFormat { Text, Json };
inline constexpr Choice<LogFormat> kLogFormats[] = {{"text", LogFormat::Text}, {"json", LogFormat::Json}};

struct SystemConfig {
  LogLevel log_level = LogLevel::Info;
  LogFormat log_format = LogFormat::Text;
  int64_t workers = 1;
  bool without_source = false;
  std::string root_dir;
};

const std::array<Param<SystemConfig>, 16>& systemParams() {
  using S = SystemConfig;
  static constexpr std::array<Param<S>, 16> kParams = {{
      {"log_level", enumMember<&S::log_level, kLogLevels>(), "info", "Level of sluice's own log."},
      {"log_format", enumMember<&S::log_format, kLogFormats>(), "text", "Format of sluice's own log (also `<log> format`)."},
      {"workers", &S::workers, "1", "Fluentd's worker count; sluice runs one process and warns when this is above 1."},
      {"without_source", &S::without_source, "false", "Start without inputs."},
      {"root_dir", &S::root_dir, "/var/lib/sluice", "Folder of state no plugin path names: the dead letters of memory buffers (`<root_dir>/dead-letter`)."},
      {"suppress_repeated_stacktrace", {}, nullptr, "sluice logs no stack traces.", {}, kIgnored},
      {"ignore_repeated_log_interval", {}, nullptr, "sluice always suppresses repeats for 10 s.", {}, kIgnored},
      {"ignore_same_log_interval", {}, nullptr, "sluice always suppresses repeats for 10 s.", {}, kIgnored},
      {"emit_error_log_interval", {}, nullptr, "sluice rate-limits error logs itself.", {}, kIgnored},
      {"process_name", {}, nullptr, "The process is named sluice.", {}, kIgnored},
      {"rpc_endpoint", {}, nullptr, "No RPC endpoint.", {}, kIgnored},
      {"enable_get_dump", {}, nullptr, "No RPC endpoint.", {}, kIgnored},
      {"log_event_verbose", {}, nullptr, "Not applicable.", {}, kIgnored},
      {"file_permission", {}, nullptr, "Files are created with the umask.", {}, kIgnored},
      {"dir_permission", {}, nullptr, "Directories are created with the umask.", {}, kIgnored},
      {"enable_input_metrics", {}, nullptr, "Metrics are always on.", {}, kIgnored},
  }};
  return kParams;
}

// <system><log>: Fluentd's place for the log format.
struct LogSectionConfig {
  std::optional<LogFormat> format;
};

const std::array<Param<LogSectionConfig>, 2>& logSectionParams() {
  using L = LogSectionConfig;
  static constexpr std::array<Param<L>, 2> kParams = {{
      {"format", enumMember<&L::format, kLogFormats>(), nullptr, "Format of sluice's own log (overrides log_format)."},
      {"time_format", {}, nullptr, "sluice writes times in ISO 8601.", {}, kIgnored},
  }};
  return kParams;
}

const std::array<Param<MonitorConfig>, 7>& monitorParams() {
  using M = MonitorConfig;
  static constexpr std::array<Param<M>, 7> kParams = {{
      {"enable", &M::enable, "true", "Serve /metrics, /healthz and /readyz (off in quick mode)."},
      {"bind", &M::bind, "127.0.0.1", "Address the monitor listens on; 0.0.0.0 in a pod that Prometheus scrapes."},
      {"port", &M::port, nullptr, "Port of the monitor: 24231 (Fluentd's prometheus plugin's), or $SLUICE_MONITOR_PORT when set; 0 picks a free one."},
      {"ready_max_buffer_fill", &M::ready_max_buffer_fill, "0", "/readyz answers 503 while a buffer holds more than this fraction of its total_limit_size (0: never)."},
      {"ready_max_failing_seconds", &M::ready_max_failing_seconds, "0", "/readyz answers 503 while an output's buffer holds a chunk whose writes have failed for longer than this many seconds (0: never)."},
      {"enable_tap", &M::enable_tap, "false", "GET /api/tap streams samples of the events passing a plugin (`sluice tap`), redacted as the pipeline's redact filters would."},
      {"enable_reload", &M::enable_reload, "false", "POST /api/config.reload reloads the configuration as SIGHUP does (off: anyone who can reach the port could)."},
  }};
  return kParams;
}

// A monitoring <source> (engine/monitor_sources.h). Fluentd's defaults: these plugins listen on
// every address.
struct MonitorSourceConfig {
  std::string bind;
  int64_t port = 0;
  std::string metrics_path;
};
using MS = MonitorSourceConfig;

constexpr std::string_view kSampledWhy = "sluice reads its figures at each request and emits no events.";

constexpr std::array<Param<MS>, 5> kPrometheusParams = {{
    {"bind", &MS::bind, "0.0.0.0", "Address the server listens on."},
    {"port", &MS::port, "24231", "Port of the server (0..65535; 0 picks a free one). The first prometheus source is the monitor itself unless `<system> <monitor>` sets a port; $SLUICE_MONITOR_PORT, when set, stands for a port not given here."},
    {"metrics_path", &MS::metrics_path, "/metrics", "Path of the Prometheus exposition (begins with /)."},
    {"aggregated_metrics_path", {}, nullptr, "sluice runs one process: /metrics already covers every worker.", {}, kIgnored},
    {"content_encoding", {}, nullptr, "The exposition is sent uncompressed.", {}, kIgnored},
}};
constexpr std::array<Param<MS>, 1> kPrometheusMonitorParams = {{
    {"interval", {}, nullptr, kSampledWhy, {}, kIgnored},
}};
constexpr std::array<Param<MS>, 2> kPrometheusOutputMonitorParams = {{
    {"interval", {}, nullptr, kSampledWhy, {}, kIgnored},
    {"gauge_all", {}, nullptr, kSampledWhy, {}, kIgnored},
}};
constexpr std::array<Param<MS>, 6> kMonitorAgentParams = {{
    {"bind", &MS::bind, "0.0.0.0", "Address the server listens on."},
    {"port", &MS::port, "24220", "Port of the server (0..65535; 0 picks a free one)."},
    {"tag", {}, nullptr, kSampledWhy, {}, kIgnored},
    {"emit_interval", {}, nullptr, kSampledWhy, {}, kIgnored},
    {"include_config", {}, nullptr, "/api/plugins.json always includes each plugin's config (secrets masked).", {}, kIgnored},
    {"include_retry", {}, nullptr, "/api/plugins.json always includes retry.", {}, kIgnored},
}};

constexpr std::string_view kLabelsWhy = "Ignored with a warning: sluice's series carry plugin_id and type labels only.";

// What a monitoring source does: a Prometheus server (the monitor itself when <monitor> sets
// no port), fluent-plugin-prometheus's status series added to /metrics, or another server
// (monitor_agent's).
enum class MonitorRole { Server, StatusSeries, ExtraServer };

// One monitoring source type: its role, its table and its descriptor (made from the table).
struct MonitorSource {
  MonitorRole role;
  std::span<const Param<MS>> params;
  PluginDescriptor descriptor;
};

PluginDescriptor monitorDescriptor(std::string_view name, std::string_view description,
                                   std::span<const Param<MS>> params, std::vector<SectionInfo> sections) {
  PluginDescriptor d;
  d.kind = PluginKind::Input;
  d.name = name;
  d.description = description;
  d.params = describeParams(params);
  d.sections = std::move(sections);
  d.standalone = false;
  return d;
}

const std::array<MonitorSource, 4>& monitorSources() {
  static const std::array<MonitorSource, 4> kSources = {{
      {MonitorRole::Server, kPrometheusParams,
       monitorDescriptor("prometheus",
                         "fluent-plugin-prometheus's server, served by sluice's monitor: the same registry (sluice's "
                         "series and fluent-plugin-prometheus's names) on its own bind, port and metrics_path. No input runs.",
                         kPrometheusParams, {{"ssl", "Ignored with a warning: the monitor serves plain HTTP.", {}},
                                             {"transport", "Ignored with a warning: the monitor serves plain HTTP.", {}}})},
      {MonitorRole::StatusSeries, kPrometheusMonitorParams,
       monitorDescriptor("prometheus_monitor",
                         "Adds fluent-plugin-prometheus's fluentd_status_* series to /metrics. No input runs.",
                         kPrometheusMonitorParams, {{"labels", kLabelsWhy, {}}})},
      {MonitorRole::StatusSeries, kPrometheusOutputMonitorParams,
       monitorDescriptor("prometheus_output_monitor",
                         "Adds fluent-plugin-prometheus's fluentd_output_status_* series to /metrics. No input runs.",
                         kPrometheusOutputMonitorParams, {{"labels", kLabelsWhy, {}}})},
      {MonitorRole::ExtraServer, kMonitorAgentParams,
       monitorDescriptor("monitor_agent",
                         "Fluentd's monitor_agent, served by sluice's monitor: a server on its bind and port with "
                         "/api/plugins.json (and every other monitor endpoint). No input runs.",
                         kMonitorAgentParams, {})},
  }};
  return kSources;
}

const MonitorSource* findSource(std::string_view type) {
  for (const MonitorSource& s : monitorSources()) {
    if (s.descriptor.name == type) return &s;
  }
  return nullptr;
}

}  // namespace

std::span<const PluginDescriptor* const> monitorSourceDescriptors() {
  static const std::array<const PluginDescriptor*, 4> kList = [] {
    std::array<const PluginDescriptor*, 4> out{};
    for (size_t i = 0; i < out.size(); ++i) out[i] = &monitorSources()[i].descriptor;
    return out;
  }();
  return kList;
}

const PluginDescriptor* findMonitorSource(std::string_view type) {
  const MonitorSource* s = findSource(type);
  return s == nullptr ? nullptr : &s->descriptor;
}

Status Pipeline::applySystem(const config::Element& system) {
  SystemConfig sc;
  Status s = bindParams(std::span<const Param<SystemConfig>>(systemParams()), system, sc);
  if (!s) return s;
  Status first;
  // Without log_level/log_format here, the level and format the command line set stay
  // (quick mode's warn, --log-format json).
  bool format_given = system.find("log_format") != nullptr;
  for (const config::Element& child : system.elements) {
    if (child.name == "log") {
      LogSectionConfig lc;
      s = bindParams(std::span<const Param<LogSectionConfig>>(logSectionParams()), child, lc);
      if (!s) return s;
      if (lc.format) {
        sc.log_format = *lc.format;
        format_given = true;
      }
    }
    if (child.name == "monitor") {
      monitor_port_given_ = child.find("port") != nullptr;
      s = bindParams(std::span<const Param<MonitorConfig>>(monitorParams()), child, monitor_);
      if (!s) return s;
      for (const config::Param& p : child.params) {
        if (!p.used) {
          std::vector<std::string_view> names;
          for (const auto& mp : monitorParams()) names.push_back(mp.name);
          std::string guess = closestMatch(p.key, names);
          std::string all;
          for (std::string_view n : names) all += (all.empty() ? "" : ", ") + std::string(n);
          warnOrFail(options_.strict, first,
                     p.where.str() + ": unknown parameter '" + p.key + "' in <monitor>" +
                         (guess.empty() ? " (it takes " + all + ")" : "; did you mean '" + guess + "'?"));
        }
      }
    }
  }
  if (system.find("log_level") != nullptr) Logger::global().setLevel(sc.log_level);
  if (format_given) Logger::global().setJson(sc.log_format == LogFormat::Json);
  root_dir_ = sc.root_dir;
  without_source_ = sc.without_source;
  if (sc.workers > 1) {
    Logger::global().log(LogLevel::Warn, "[config]",
                         system.where.str() + ": workers " + std::to_string(sc.workers) +
                             ": sluice runs one process with a thread per input; the setting "
                             "is ignored");
  }
  for (const config::Param& p : system.params) {
    if (!p.used) {
      std::vector<std::string_view> names;
      for (const auto& sp : systemParams()) names.push_back(sp.name);
      std::string guess = closestMatch(p.key, names);
      warnOrFail(options_.strict, first,
                 p.where.str() + ": unknown parameter '" + p.key + "' in <system>" +
                     (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
    }
  }
  return first;
}

Status Pipeline::addMonitorSource(const config::Element& e, const std::string& type) {
  const MonitorSource* source = findSource(type);
  if (source == nullptr) return Status::internal("no monitoring source " + type);
  MonitorSourceConfig sc;
  Status first = bindParams(source->params, e, sc);
  if (!first) return first;
  if (sc.port < 0 || sc.port > 65535) {
    return Status::invalidConfig(e.find("port")->where.str() + ": port '" + std::to_string(sc.port) +
                                 "' is not a TCP port (0..65535)");
  }
  if (!sc.metrics_path.empty() && sc.metrics_path[0] != '/') {
    return Status::invalidConfig(e.find("metrics_path")->where.str() + ": metrics_path must begin with /");
  }
  MonitorConfig m = monitor_;
  m.enable = true;
  m.bind = sc.bind;
  m.port = sc.port;
  m.metrics_path = sc.metrics_path.empty() ? "/metrics" : sc.metrics_path;
  m.name = "<source> @type " + type;
  first = checkUnused(source->descriptor, e);
  for (const config::Element& sub : e.elements) {
    Logger::global().log(LogLevel::Warn, "[config]",
                         sub.where.str() + ": <" + sub.name + "> in <source> @type " + type +
                             " is ignored (sluice's series carry plugin_id and type labels; the monitor serves plain HTTP)");
  }
  if (!first) return first;
  if (source->role == MonitorRole::StatusSeries) {
    fluentd_output_status_ = true;
    return Status::ok();
  }
  // The first prometheus source is the monitor when <monitor> does not set a port itself (both
  // default to 24231), so a Fluentd config does not ask for the same port twice.
  if (source->role == MonitorRole::Server && !monitor_port_given_ && monitor_.name == "Monitor") {
    m.enable_reload = monitor_.enable_reload;
    m.enable_tap = monitor_.enable_tap;
    m.ready_max_failing_seconds = monitor_.ready_max_failing_seconds;
    m.ready_max_buffer_fill = monitor_.ready_max_buffer_fill;
    if (const char* env = std::getenv("SLUICE_MONITOR_PORT"); env && *env && e.find("port") == nullptr) {
      m.port = std::strtoll(env, nullptr, 10);
    }
    monitor_ = m;
    return Status::ok();
  }
  for (const MonitorConfig& other : extra_monitors_) {
    if (other.port != 0 && other.port == m.port) {
      return Status::invalidConfig(e.where.str() + ": port " + std::to_string(m.port) + " is already " +
                                   other.name + "'s");
    }
  }
  if (monitor_.enable && m.port != 0 && m.port == monitor_.port) {
    return Status::invalidConfig(e.where.str() + ": port " + std::to_string(m.port) +
                                 " is already the monitor's (<system> <monitor> port)");
  }
  m.enable_reload = monitor_.enable_reload;
  m.enable_tap = monitor_.enable_tap;
  extra_monitors_.push_back(m);
  return Status::ok();
}

}  // namespace sluice::engine
