// SPDX-License-Identifier: Apache-2.0
#include "engine/pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>

#include "core/json.h"
#include "core/time.h"

namespace sluice::engine {

// ---- plugin context ------------------------------------------------------------------------

// The agent whose body Pipeline::buildAgentBody is building on this thread (a reload builds on
// the engine's thread while the old pipeline runs): PluginContext::labelSink("").
thread_local Agent* t_building_agent = nullptr;

class ContextImpl : public PluginContext {
 public:
  ContextImpl(Pipeline& pipeline, Instance& instance, const config::Element& element)
      : pipeline_(pipeline), instance_(instance), element_(element) {}

  const config::Element& element() const override { return element_; }
  const std::string& id() const override { return instance_.id; }
  const SourceLogger& log() const override { return instance_.log; }
  PluginMetrics& metrics() override { return *instance_.metrics; }
  const std::string& hostname() const override { return pipeline_.hostname_; }

  Result<ParserPtr> createParser(const config::Element& section) override {
    Instance* child = nullptr;
    auto plugin = pipeline_.instantiate(PluginKind::Parser, section, "", &child);
    if (!plugin) return plugin.takeStatus();
    child->log = SourceLogger(child->log.source());
    return ParserPtr(static_cast<Parser*>(plugin->release()));
  }

  Result<EventSink*> createStore(const config::Element& section) override {
    auto stage = pipeline_.buildOutput(section);
    if (!stage) return stage.takeStatus();
    stores_.push_back((*stage)->instance()->id);
    return static_cast<EventSink*>(*stage);
  }

  Result<EventSink*> labelSink(std::string_view name) override {
    // "" is the root or <label> whose section holds the plugin: Fluentd's `router`, where
    // outputs that re-emit (rewrite_tag_filter, detect_exceptions) send their events.
    if (name.empty()) {
      if (t_building_agent == nullptr) {
        return Status::invalidConfig(element_.where.str() + ": this section cannot re-emit events");
      }
      instance_.routes_to.emplace_back(t_building_agent->name());
      return static_cast<EventSink*>(t_building_agent);
    }
    auto it = pipeline_.labels_.find(std::string(name));
    if (it == pipeline_.labels_.end()) {
      std::string known;
      for (const auto& l : pipeline_.label_order_) known += (known.empty() ? "" : ", ") + l;
      return Status::invalidConfig(element_.where.str() + ": label '" + std::string(name) +
                                   "' is not defined" +
                                   (known.empty() ? std::string(" (no <label> sections)")
                                                  : " (defined: " + known + ")"));
    }
    instance_.routes_to.emplace_back(name);
    return static_cast<EventSink*>(it->second.get());
  }

  std::vector<std::string> stores_;

 private:
  Pipeline& pipeline_;
  Instance& instance_;
  const config::Element& element_;
};

// ---- output stage --------------------------------------------------------------------------

OutputStage::OutputStage(Output* output, Instance* instance)
    : output_(output), instance_(instance), routing_(output->asSink()) {
  PluginMetrics& m = *instance->metrics;
  received_ = &m.counter("received_records_total", "Events handed to the output.");
  sent_ = &m.counter("sent_records_total", "Events the output delivered.");
  sent_bytes_ = &m.counter("sent_bytes_total", "Bytes written, before compression.");
  errors_ = &m.counter("errors_total", "Failed writes.", {{"error_type", "write"}, {"stage", "write"}});
  retries_ = &m.counter("retries_total", "Write retries.");
  write_duration_ = &m.histogram("write_duration_seconds", "Time spent in write().");
}

Status OutputStage::emit(Batch& batch) {
  if (batch.empty()) return Status::ok();
  received_->add(batch.size());
  if (tap_ != nullptr && tap_->active()) tap_->offer(instance_->id, matched_, batch, *redactors_);
  if (routing_ != nullptr) {
    Status s = routing_->emit(batch);
    if (s) sent_->add(batch.size());
    return s;
  }
  if (buffer_) return buffer_->append(batch);
  std::lock_guard<std::mutex> lock(mu_);
  scratch_.clear();
  output_->format(batch, scratch_);
  // Synchronous delivery with a short bounded retry; the buffer issue replaces this.
  constexpr int kAttempts = 3;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    auto start = std::chrono::steady_clock::now();
    WriteResult r = output_->write(ChunkView(scratch_.bytes, scratch_.ends, nullptr));
    write_duration_->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (r.kind == WriteResult::Kind::Ok) {
      sent_->add(batch.size());
      sent_bytes_->add(scratch_.bytes.size());
      return Status::ok();
    }
    errors_->add(1);
    if (r.kind == WriteResult::Kind::Fail || attempt + 1 == kAttempts) {
      instance_->log.error("Write failed; " + std::to_string(batch.size()) +
                           " events were lost. reason=\"" + r.reason + "\"");
      return Status::ioError(r.reason);
    }
    retries_->add(1);
    instance_->log.warn("Write failed, retrying. reason=\"" + r.reason + "\"");
    ::usleep(100000 << attempt);
  }
  return Status::ok();
}

// ---- agent -------------------------------------------------------------------------------

std::shared_ptr<const Agent::Route> Agent::routeFor(std::string_view tag) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = routes_.find(tag);
  if (it != routes_.end()) return it->second;
  auto route = std::make_shared<Route>();
  for (const Entry& e : entries_) {
    if (!e.pattern.matches(tag)) continue;
    if (e.is_filter) {
      route->filters.push_back(e.filter);
    } else {
      route->output = e.output;
      break;
    }
  }
  if (routes_.size() > 65536) routes_.clear();  // Bounded: tags may carry file paths.
  routes_.emplace(std::string(tag), route);
  return route;
}

Status Agent::emitRun(Batch& batch, std::string_view tag) {
  const std::shared_ptr<const Route> route = routeFor(tag);
  for (FilterStage* fs : route->filters) {
    size_t before = batch.size();
    fs->filter->process(batch);
    size_t after = batch.size();
    fs->received->add(before);
    fs->sent->add(after);
    if (before > after) fs->discarded->add(before - after - std::min(before - after, batch.errors().size()));
    if (!batch.errors().empty()) pipeline_.emitErrors(batch, fs->instance->id);
    if (TapHub* tap = pipeline_.tap(); tap != nullptr && tap->active()) {
      tap->offer(fs->instance->id, false, batch, pipeline_.redactors());
    }
    if (batch.empty()) return Status::ok();
  }
  if (route->output != nullptr) return route->output->emit(batch);
  pipeline_.countUnmatched(tag, batch.size());
  return Status::ok();
}

Status Agent::emit(Batch& batch) {
  auto& events = batch.events();
  if (events.empty()) return Status::ok();
  std::string_view tag = events[0].tag;
  bool same = true;
  for (const Event& e : events) {
    if (e.tag.data() != tag.data() && e.tag != tag) {
      same = false;
      break;
    }
  }
  if (same) return emitRun(batch, tag);
  // Mixed tags: route each run of equal tags separately, keeping order within a tag.
  Status result;
  size_t i = 0;
  while (i < events.size()) {
    size_t j = i + 1;
    while (j < events.size() && events[j].tag == events[i].tag) ++j;
    Batch run;
    run.setAck(batch.ack());
    run.events().assign(events.begin() + i, events.begin() + j);
    Status s = emitRun(run, events[i].tag);
    if (!s && result) result = s;
    i = j;
  }
  return result;
}

// ---- pipeline ------------------------------------------------------------------------------

thread_local bool Pipeline::in_error_label_ = false;

Pipeline::Pipeline(const Registry& registry, MetricsRegistry& metrics, const BuildOptions& options)
    : registry_(registry), metrics_(metrics), options_(options) {
  // The default port, for hosts (and test suites) that run several sluice at once.
  if (const char* port = std::getenv("SLUICE_MONITOR_PORT"); port != nullptr && *port != 0) {
    monitor_.port = std::strtoll(port, nullptr, 10);
  }
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) hostname_ = host;
  Labels l{{"plugin_id", "router"}, {"type", "router"}};
  unmatched_ = &metrics_.counter("sluice_router_unmatched_records_total",
                                 "Events that matched no <match> and were discarded.", l);
  error_events_ = &metrics_.counter("sluice_router_error_records_total",
                                    "Events routed to @ERROR (or logged without one).", l);
}

Pipeline::~Pipeline() = default;

Result<std::unique_ptr<Pipeline>> Pipeline::build(const config::Element& root,
                                                  const Registry& registry,
                                                  MetricsRegistry& metrics,
                                                  const BuildOptions& options) {
  std::unique_ptr<Pipeline> p(new Pipeline(registry, metrics, options));
  Status s = p->buildAll(root);
  if (!s) return s;
  return p;
}

namespace {

std::string header(const config::Element& e) {
  return "<" + e.name + (e.arg.empty() ? "" : " " + e.arg) + ">";
}

void warnOrFail(bool strict, Status& first_error, const std::string& message) {
  if (strict) {
    if (first_error) first_error = Status::invalidConfig(message);
    return;
  }
  Logger::global().log(LogLevel::Warn, "[config]", message);
}

struct SystemConfig {
  std::string log_level;
  std::string log_format;
  int64_t workers = 1;
  bool without_source = false;
  std::string root_dir;
};

const std::array<Param<SystemConfig>, 16>& systemParams() {
  using S = SystemConfig;
  static constexpr std::array<Param<S>, 16> kParams = {{
      {"log_level", &S::log_level, "info", "Level of sluice's own log.", "trace|debug|info|warn|error|fatal"},
      {"log_format", &S::log_format, "text", "Format of sluice's own log (also `<log> format`).", "text|json"},
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

}  // namespace

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
      if (auto f = child.get("format")) {
        sc.log_format = *f;
        format_given = true;
      }
      child.get("time_format");
    }
    if (child.name == "monitor") {
      monitor_port_given_ = child.find("port") != nullptr;
      s = bindParams(std::span<const Param<MonitorConfig>>(monitorParams()), child, monitor_);
      if (!s) return s;
      for (const config::Param& p : child.params) {
        if (!p.used) {
          warnOrFail(options_.strict, first,
                     p.where.str() + ": unknown parameter '" + p.key +
                         "' in <monitor> (it takes enable, bind, port, ready_max_buffer_fill, ready_max_failing_seconds, enable_reload, enable_tap)");
        }
      }
    }
  }
  if (auto level = parseLogLevel(sc.log_level); level && system.find("log_level") != nullptr) {
    Logger::global().setLevel(*level);
  }
  if (sc.log_format != "text" && sc.log_format != "json") {
    return Status::invalidConfig(system.where.str() + ": <log> format must be text or json");
  }
  if (format_given) Logger::global().setJson(sc.log_format == "json");
  root_dir_ = sc.root_dir;
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

Result<PluginPtr> Pipeline::instantiate(PluginKind kind, const config::Element& element,
                                        const std::string& default_type,
                                        Instance** out_instance) {
  std::string type = element.get("@type").value_or(default_type);
  if (type.empty()) {
    return Status::invalidConfig(element.where.str() + ": " + header(element) +
                                 " has no @type (the " + std::string(pluginKindName(kind)) +
                                 " plugin to use)");
  }
  const PluginDescriptor* d = registry_.find(kind, type);
  if (d == nullptr) {
    return Status::invalidConfig(element.where.str() + ": " + header(element) + ": " +
                                 registry_.unknownTypeMessage(kind, type));
  }
  std::string id = element.get("@id").value_or("");
  if (id.empty()) {
    id = std::string(d->name) + "." + std::to_string(type_counts_[std::string(d->name)]++);
  } else {
    for (const Instance& other : instances_) {
      if (other.id == id) {
        return Status::invalidConfig(element.where.str() + ": duplicate @id '" + id + "'");
      }
    }
  }
  element.get("@log_level");
  instances_.push_back(Instance{kind, std::string(d->name), id, &element,
                                SourceLogger("[" + std::string(pluginKindShortName(kind)) + ":" +
                                             std::string(d->name) + ":" + id + "]"),
                                std::make_unique<PluginMetrics>(metrics_, std::string(pluginKindName(kind)),
                                                                std::string(d->name), id)});
  Instance& inst = instances_.back();
  if (out_instance) *out_instance = &inst;
  ContextImpl ctx(*this, inst, element);
  auto plugin = d->create(ctx);
  if (!plugin) {
    const std::string& m = plugin.status().message();
    const std::string& file = element.where.file ? *element.where.file : std::string();
    if (!file.empty() && m.starts_with(file)) return plugin.takeStatus();
    return plugin.status().withPrefix(element.where.str() + ": " + header(element) + " (@type " +
                                      type + "): ");
  }
  Status s = checkUnused(*d, element);
  if (!s) return s;
  return plugin;
}

Status Pipeline::checkUnused(const PluginDescriptor& d, const config::Element& element) {
  Status first;
  auto checkParams = [&](const config::Element& section, const std::vector<ParamInfo>& params) {
    std::vector<std::string_view> names;
    for (const ParamInfo& p : params) {
      names.push_back(p.name);
      if (!p.alias.empty()) names.push_back(p.alias);
    }
    for (const config::Param& p : section.params) {
      if (p.used || p.key == "@type" || p.key == "@id" || p.key == "@log_level" ||
          (p.key == "@label" && section.name == "source")) {
        continue;
      }
      if (std::find(names.begin(), names.end(), p.key) != names.end()) continue;
      std::string guess = closestMatch(p.key, names);
      warnOrFail(options_.strict, first,
                 p.where.str() + ": unknown parameter '" + p.key + "' in " + header(section) +
                     " (@type " + std::string(d.name) + ")" +
                     (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    }
  };
  checkParams(element, d.params);
  for (const config::Element& sub : element.elements) {
    auto it = std::find_if(d.sections.begin(), d.sections.end(),
                           [&](const SectionInfo& s) { return s.name == sub.name; });
    if (it != d.sections.end()) {
      if (!it->params.empty()) checkParams(sub, it->params);
      continue;
    }
    if (d.kind == PluginKind::Output && (sub.name == "buffer" || sub.name == "secondary")) continue;
    std::vector<std::string_view> names;
    for (const SectionInfo& s : d.sections) names.push_back(s.name);
    std::string guess = closestMatch(sub.name, names);
    warnOrFail(options_.strict, first,
               sub.where.str() + ": unknown section <" + sub.name + "> in " + header(element) +
                   " (@type " + std::string(d.name) + ")" +
                   (guess.empty() ? "" : "; did you mean <" + guess + ">?"));
  }
  return first;
}

Result<OutputStage*> Pipeline::buildOutput(const config::Element& element) {
  Instance* inst = nullptr;
  auto plugin = instantiate(PluginKind::Output, element, "", &inst);
  if (!plugin) return plugin.takeStatus();
  Output* output = static_cast<Output*>(plugin->get());
  std::unique_ptr<buffer::Buffer> buf;
  Output* secondary = nullptr;
  for (const config::Element& sub : element.elements) {
    if (sub.name == "secondary") {
      if (output->asSink() != nullptr) {
        return Status::invalidConfig(sub.where.str() + ": <secondary> needs an output that sends, not a routing one");
      }
      Instance* sec_inst = nullptr;
      auto sec = instantiate(PluginKind::Output, sub, "", &sec_inst);
      if (!sec) return sec.takeStatus();
      secondary = static_cast<Output*>(sec->get());
      plugins_.push_back(std::move(*sec));
    }
  }
  for (const config::Element& sub : element.elements) {
    if (sub.name != "buffer") continue;
    BufferConfig bc;
    Status s = bindParams(std::span<const Param<BufferConfig>>(bufferParams()), sub, bc);
    if (!s) return s;
    Status unused;
    for (const config::Param& p : sub.params) {
      if (p.used) continue;
      std::vector<std::string_view> names;
      for (const auto& bp : bufferParams()) names.push_back(bp.name);
      std::string guess = closestMatch(p.key, names);
      warnOrFail(options_.strict, unused,
                 p.where.str() + ": unknown parameter '" + p.key + "' in <buffer>" +
                     (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    }
    if (!unused) return unused;
    if (output->asSink() != nullptr) {
      inst->log.warn(sub.where.str() + ": <buffer> has no effect on @type " + inst->type + " (it routes events)");
      continue;
    }
    auto keys = buffer::parseChunkKeys(sub.arg, bc);
    if (!keys) return keys.status().withPrefix(sub.where.str() + ": ");
    if (bc.type == "file" && !bc.path) {
      return Status::invalidConfig(sub.where.str() + ": <buffer> @type file needs a path");
    }
    buffer::Buffer::Options opts;
    opts.config = bc;
    opts.keys = std::move(*keys);
    opts.output_id = inst->id;
    // Events that fail for good always have a place `sluice replay` can take them from.
    opts.dead_letter_dir = bc.dead_letter_path.value_or(bc.type == "file" ? *bc.path + "/dead-letter"
                                                                         : root_dir_ + "/dead-letter");
    opts.sync = bc.fsync == "append" ? buffer::SyncPolicy::Append
                : bc.fsync == "none" ? buffer::SyncPolicy::None : buffer::SyncPolicy::Seal;
    buf = std::make_unique<buffer::Buffer>(std::move(opts), *output, secondary, *inst->metrics, inst->log);
  }
  if (secondary != nullptr && !buf) {
    inst->log.warn(element.where.str() + ": <secondary> is used only with a <buffer>");
  }
  output_stages_.push_back(std::make_unique<OutputStage>(output, inst));
  output_stages_.back()->setBuffer(std::move(buf), secondary);
  plugins_.push_back(std::move(*plugin));
  return output_stages_.back().get();
}

Status Pipeline::buildAgentBody(Agent& agent, const config::Element& section) {
  struct Building {
    explicit Building(Agent* a) { t_building_agent = a; }
    ~Building() { t_building_agent = nullptr; }
  } building(&agent);
  for (const config::Element& e : section.elements) {
    if (e.name == "filter") {
      auto pattern = TagPattern::compile(e.arg);
      if (!pattern) return pattern.status().withPrefix(e.where.str() + ": ");
      Instance* inst = nullptr;
      auto plugin = instantiate(PluginKind::Filter, e, "", &inst);
      if (!plugin) return plugin.takeStatus();
      PluginMetrics& m = *inst->metrics;
      filter_stages_.push_back(FilterStage{
          static_cast<Filter*>(plugin->get()), inst,
          &m.counter("received_records_total", "Events into the filter."),
          &m.counter("sent_records_total", "Events out of the filter."),
          &m.counter("discarded_records_total", "Events the filter dropped.", {{"intentional", "true"}})});
      plugins_.push_back(std::move(*plugin));
      agent.add(Agent::Entry{true, std::move(*pattern), &filter_stages_.back(), nullptr});
    } else if (e.name == "match") {
      auto pattern = TagPattern::compile(e.arg);
      if (!pattern) return pattern.status().withPrefix(e.where.str() + ": ");
      auto stage = buildOutput(e);
      if (!stage) return stage.takeStatus();
      (*stage)->setMatched();
      agent.add(Agent::Entry{false, std::move(*pattern), nullptr, *stage});
    } else if (e.name == "source" || e.name == "label" || e.name == "system" || e.name == "worker") {
      if (&agent != root_.get()) {
        return Status::invalidConfig(e.where.str() + ": <" + e.name + "> is not allowed inside <label>");
      }
    } else {
      return Status::invalidConfig(e.where.str() + ": unknown directive <" + e.name +
                                   "> (expected <source>, <filter>, <match>, <label>, <system> "
                                   "or <worker>)");
    }
  }
  return Status::ok();
}

Status Pipeline::buildAll(const config::Element& original_root) {
  // <worker N> sections: sluice is one process, so their directives load as top-level ones.
  config::Element root = original_root;
  {
    std::vector<config::Element> flat;
    for (config::Element& e : root.elements) {
      if (e.name == "worker") {
        Logger::global().log(LogLevel::Warn, "[config]",
                             e.where.str() + ": <worker " + e.arg +
                                 ">: sluice runs one process; the section's directives are "
                                 "loaded as top-level ones");
        for (config::Element& inner : e.elements) flat.push_back(std::move(inner));
      } else {
        flat.push_back(std::move(e));
      }
    }
    root.elements = std::move(flat);
  }
  // Keep the flattened tree alive: plugins' elements point into it.
  owned_root_ = std::make_unique<config::Element>(std::move(root));
  const config::Element& top = *owned_root_;
  Status first;
  for (const config::Param& p : top.params) {
    warnOrFail(options_.strict, first,
               p.where.str() + ": unknown top-level parameter '" + p.key + "'");
  }
  if (!first) return first;
  bool without_source = false;
  for (const config::Element& e : top.elements) {
    if (e.name == "system") {
      Status s = applySystem(e);
      if (!s) return s;
      if (auto ws = e.find("without_source")) without_source = ws->value != "false";
    }
  }
  root_ = std::make_unique<Agent>(*this, "root");
  for (const config::Element& e : top.elements) {
    if (e.name != "label") continue;
    if (e.arg.empty()) return Status::invalidConfig(e.where.str() + ": <label> needs a name, like <label @NAME>");
    if (labels_.count(e.arg)) return Status::invalidConfig(e.where.str() + ": label " + e.arg + " is defined twice");
    labels_.emplace(e.arg, std::make_unique<Agent>(*this, e.arg));
    label_order_.push_back(e.arg);
  }
  Status s = buildAgentBody(*root_, top);
  if (!s) return s;
  for (const config::Element& e : top.elements) {
    if (e.name != "label") continue;
    s = buildAgentBody(*labels_.at(e.arg), e);
    if (!s) return s;
  }
  for (const config::Element& e : top.elements) {
    if (e.name != "source" || without_source) continue;
    if (const config::Param* t = e.find("@type");
        t && (t->value == "prometheus" || t->value == "prometheus_monitor" ||
              t->value == "prometheus_output_monitor" || t->value == "monitor_agent")) {
      Status ms = addMonitorSource(e, t->value);
      if (!ms) return ms;
      continue;
    }
    Agent* target = root_.get();
    if (auto label = e.get("@label")) {
      auto it = labels_.find(*label);
      if (it == labels_.end()) {
        return Status::invalidConfig(e.where.str() + ": @label " + *label + " is not defined");
      }
      target = it->second.get();
    }
    Instance* inst = nullptr;
    auto plugin = instantiate(PluginKind::Input, e, "", &inst);
    if (!plugin) return plugin.takeStatus();
    input_stages_.push_back(InputStage{});
    InputStage& stage = input_stages_.back();
    stage.input = static_cast<Input*>(plugin->get());
    stage.instance = inst;
    stage.target = target;
    stage.received = &inst->metrics->counter("received_records_total", "Events read by the input.");
    plugins_.push_back(std::move(*plugin));
  }
  return Status::ok();
}

Status Pipeline::addMonitorSource(const config::Element& e, const std::string& type) {
  // Fluentd's defaults: these plugins listen on every address.
  MonitorConfig m = monitor_;
  m.enable = true;
  m.bind = "0.0.0.0";
  m.port = type == "monitor_agent" ? 24220 : 24231;
  m.metrics_path = "/metrics";
  m.name = "<source> @type " + type;
  Status first;
  for (const config::Param& p : e.params) {
    if (p.key == "bind") {
      m.bind = p.value;
    } else if (p.key == "port") {
      auto v = config::parseInteger(p.value);
      if (!v || *v < 0 || *v > 65535) {
        return Status::invalidConfig(p.where.str() + ": port '" + p.value + "' is not a TCP port (0..65535)");
      }
      m.port = *v;
    } else if (p.key == "metrics_path" && type == "prometheus") {
      if (p.value.empty() || p.value[0] != '/') {
        return Status::invalidConfig(p.where.str() + ": metrics_path must begin with /");
      }
      m.metrics_path = p.value;
    } else if (p.key == "@type" || p.key == "@id" || p.key == "@label" || p.key == "@log_level" ||
               p.key == "interval" || p.key == "emit_interval" || p.key == "tag" ||
               p.key == "include_config" || p.key == "include_retry" || p.key == "aggregated_metrics_path" ||
               p.key == "gauge_all" || p.key == "retry_label" || p.key == "content_encoding" ||
               p.key == "keepalive_timeout") {
      // Fluentd's knobs for how often it samples, or what it emits as events: sluice reads its
      // figures at each request and emits no events.
    } else {
      warnOrFail(options_.strict, first,
                 p.where.str() + ": unknown parameter '" + p.key + "' in <source> @type " + type);
    }
    p.used = true;
  }
  for (const config::Element& sub : e.elements) {
    Logger::global().log(LogLevel::Warn, "[config]",
                         sub.where.str() + ": <" + sub.name + "> in <source> @type " + type +
                             " is ignored (sluice's series carry plugin_id and type labels only)");
  }
  if (!first) return first;
  if (type == "prometheus_monitor" || type == "prometheus_output_monitor") {
    fluentd_output_status_ = true;
    return Status::ok();
  }
  // The first prometheus source is the monitor when <monitor> does not set a port itself (both
  // default to 24231), so a Fluentd config does not ask for the same port twice.
  if (type == "prometheus" && !monitor_port_given_ && monitor_.name == "Monitor") {
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

namespace {

// "2026-01-02T03:04:05+00:00", as Fluentd's monitor_agent writes times.
std::string isoTime(int64_t ns) {
  std::string out;
  formatTime(out, ns, "%Y-%m-%dT%H:%M:%S%:z", true);
  return out;
}

void jsonField(std::string& out, std::string_view key, double v) {
  out += ",";
  appendJsonString(out, key);
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  out += ":";
  out.append(buf, ec == std::errc() ? end : buf);
}

}  // namespace

void Pipeline::collectGauges() {
  for (const auto& stage : output_stages_) {
    buffer::Buffer* b = stage->buffer();
    const std::string& id = stage->instance()->id;
    const std::string& out_type = stage->instance()->type;
    const Labels plugin{{"plugin_id", id}, {"type", out_type}};
    buffer::Buffer::Stats st;
    if (b != nullptr) {
      st = b->stats();
      const Labels l{{"plugin_id", id}, {"type", b->config().type}};
      metrics_.gauge("sluice_buffer_staged_chunks", "Chunks being filled.", l).set(double(st.staged_chunks));
      metrics_.gauge("sluice_buffer_staged_bytes", "Bytes of event data in chunks being filled.", l).set(double(st.staged_bytes));
      metrics_.gauge("sluice_buffer_queued_bytes", "Bytes of event data in sealed chunks waiting to be sent.", l)
          .set(double(st.queued_bytes));
      metrics_.gauge("sluice_buffer_total_limit_bytes", "The buffer's total_limit_size.", l).set(double(b->totalLimitBytes()));
      metrics_.gauge("sluice_buffer_fill_ratio", "Bytes held over total_limit_size (0..1).", l)
          .set(b->totalLimitBytes() ? double(st.stored_bytes) / double(b->totalLimitBytes()) : 0.0);
      metrics_.gauge("sluice_buffer_oldest_chunk_age_seconds", "Age of the oldest chunk held (0: empty).", l)
          .set(st.oldest_created_ns ? double(nowNs() - st.oldest_created_ns) / 1e9 : 0.0);
      metrics_.gauge("sluice_buffer_retry_steps", "Failed writes so far of the queued chunk that failed most (0: none failing).", l)
          .set(double(st.retry_steps));
    }
    if (!fluentd_output_status_ || stage->output()->asSink() != nullptr) continue;
    // fluent-plugin-prometheus's names (all gauges there), for dashboards built on them.
    const Labels f{{"plugin_id", id}, {"plugin_category", "output"}, {"type", out_type}};
    auto g = [&](const char* name, const char* help, double v) { metrics_.gauge(name, help, f).set(v); };
    auto sum = [&](const char* name) { return metrics_.sum(name, {{"plugin_id", id}}); };
    g("fluentd_output_status_buffer_queue_length", "Queued chunks (sluice_buffer_queued_chunks).", double(st.queued_chunks));
    g("fluentd_output_status_buffer_total_bytes", "Bytes held (sluice_buffer_stored_bytes).", double(st.stored_bytes));
    g("fluentd_output_status_buffer_stage_length", "Staged chunks (sluice_buffer_staged_chunks).", double(st.staged_chunks));
    g("fluentd_output_status_buffer_stage_byte_size", "Staged bytes (sluice_buffer_staged_bytes).", double(st.staged_bytes));
    g("fluentd_output_status_buffer_queue_byte_size", "Queued bytes (sluice_buffer_queued_bytes).", double(st.queued_bytes));
    g("fluentd_output_status_buffer_available_space_ratio", "Free share of total_limit_size, in percent.",
      b && b->totalLimitBytes() ? 100.0 * (1.0 - double(st.stored_bytes) / double(b->totalLimitBytes())) : 100.0);
    g("fluentd_output_status_retry_count", "Write retries (sluice_output_retries_total).", sum("sluice_output_retries_total"));
    g("fluentd_output_status_num_errors", "Failed writes (sluice_output_errors_total).", sum("sluice_output_errors_total"));
    g("fluentd_output_status_rollback_count", "Failed writes (sluice_output_errors_total).", sum("sluice_output_errors_total"));
    g("fluentd_output_status_emit_records", "Events handed to the output (sluice_output_received_records_total).",
      sum("sluice_output_received_records_total"));
    g("fluentd_output_status_write_count", "Writes (sluice_output_write_duration_seconds_count).",
      sum("sluice_output_write_duration_seconds"));
    g("fluentd_output_status_retry_wait", "Seconds until the next retry of the chunk that failed most (0: none).",
      st.next_retry_ns ? std::max(0.0, double(st.next_retry_ns - nowNs()) / 1e9) : 0.0);
    g("fluentd_status_buffer_queue_length", "Queued chunks (prometheus_monitor's name).", double(st.queued_chunks));
    g("fluentd_status_buffer_total_bytes", "Bytes held (prometheus_monitor's name).", double(st.stored_bytes));
    g("fluentd_status_retry_count", "Write retries (prometheus_monitor's name).", sum("sluice_output_retries_total"));
  }
}

void Pipeline::setTap(TapHub* tap) {
  tap_ = tap;
  redactors_.clear();
  for (FilterStage& fs : filter_stages_) {
    if (fs.instance->type == "redact") redactors_.push_back(fs.filter);
  }
  for (InputStage& in : input_stages_) {
    in.tap = tap;
    in.redactors = &redactors_;
  }
  for (auto& os : output_stages_) os->setTap(tap, &redactors_);
}

std::string Pipeline::pluginsJson() {
  std::string out = "{\"plugins\":[";
  bool first = true;
  for (const Instance& inst : instances_) {
    if (inst.kind == PluginKind::Parser) continue;
    const char* category = inst.kind == PluginKind::Input ? "input" : inst.kind == PluginKind::Filter ? "filter" : "output";
    if (!first) out += ",";
    first = false;
    out += "{\"plugin_id\":";
    appendJsonString(out, inst.id);
    out += ",\"plugin_category\":\"" + std::string(category) + "\",\"type\":";
    appendJsonString(out, inst.type);
    // The section's own parameters; secrets (as the plugin declares them) are masked.
    out += ",\"config\":{";
    const PluginDescriptor* d = registry_.find(inst.kind, inst.type);
    bool first_param = true;
    for (const config::Param& p : inst.element->params) {
      bool secret = p.key.find("password") != std::string::npos;
      if (d != nullptr) {
        for (const ParamInfo& info : d->params) {
          if ((info.name == p.key || info.alias == p.key) && (info.flags & kSecret)) secret = true;
        }
      }
      if (!first_param) out += ",";
      first_param = false;
      appendJsonString(out, p.key);
      out += ":";
      appendJsonString(out, secret ? std::string("xxxxxx") : p.value);
    }
    out += "}";
    const OutputStage* stage = nullptr;
    for (const auto& st : output_stages_) {
      if (st->instance() == &inst) stage = st.get();
    }
    out += std::string(",\"output_plugin\":") + (inst.kind == PluginKind::Output ? "true" : "false");
    const Labels id{{"plugin_id", inst.id}};
    if (inst.kind == PluginKind::Input) {
      jsonField(out, "emit_records", metrics_.sum("sluice_input_received_records_total", id));
    } else if (inst.kind == PluginKind::Filter) {
      jsonField(out, "emit_records", metrics_.sum("sluice_filter_sent_records_total", id));
    } else {
      jsonField(out, "emit_records", metrics_.sum("sluice_output_received_records_total", id));
      jsonField(out, "write_count", metrics_.sum("sluice_output_write_duration_seconds", id));
      jsonField(out, "rollback_count", metrics_.sum("sluice_output_errors_total", id));
      jsonField(out, "num_errors", metrics_.sum("sluice_output_errors_total", id));
      jsonField(out, "retry_count", metrics_.sum("sluice_output_retries_total", id));
    }
    if (stage != nullptr && stage->buffer() != nullptr) {
      buffer::Buffer* b = stage->buffer();
      buffer::Buffer::Stats st = b->stats();
      jsonField(out, "buffer_queue_length", double(st.queued_chunks));
      jsonField(out, "buffer_total_queued_size", double(st.stored_bytes));
      jsonField(out, "buffer_stage_length", double(st.staged_chunks));
      jsonField(out, "buffer_stage_byte_size", double(st.staged_bytes));
      jsonField(out, "buffer_queue_byte_size", double(st.queued_bytes));
      jsonField(out, "buffer_available_buffer_space_ratios",
                b->totalLimitBytes() ? 100.0 * (1.0 - double(st.stored_bytes) / double(b->totalLimitBytes())) : 100.0);
      out += ",\"buffer_timekeys\":[]";
      out += ",\"retry\":{";
      if (st.retry_steps > 0) {
        out += "\"start\":\"" + isoTime(st.first_failure_ns) + "\",\"steps\":" + std::to_string(st.retry_steps) +
               ",\"next_time\":\"" + isoTime(st.next_retry_ns) + "\"";
      }
      out += "}";
    }
    out += "}";
  }
  return out + "]}\n";
}

std::string Pipeline::failingOutput(double max_seconds) const {
  const int64_t now = nowNs();
  for (const auto& stage : output_stages_) {
    buffer::Buffer* b = stage->buffer();
    if (b == nullptr) continue;
    buffer::Buffer::Stats st = b->stats();
    if (st.retry_steps == 0 || st.first_failure_ns == 0) continue;
    double failing = double(now - st.first_failure_ns) / 1e9;
    if (failing > max_seconds) {
      return "output " + stage->instance()->id + " has failed to write for " + std::to_string(int64_t(failing)) +
             " s (" + std::to_string(st.retry_steps) + " attempts)";
    }
  }
  return "";
}

std::string Pipeline::overfullBuffer(double max_fill) const {
  for (const auto& stage : output_stages_) {
    buffer::Buffer* b = stage->buffer();
    if (b == nullptr || b->totalLimitBytes() == 0) continue;
    double fill = double(b->storedBytes()) / double(b->totalLimitBytes());
    if (fill > max_fill) {
      return "buffer of output " + stage->instance()->id + " is " +
             std::to_string(int(fill * 100)) + "% full";
    }
  }
  return "";
}

Status Pipeline::start() {
  // Outputs first, then filters, then inputs: nothing emits into an unstarted plugin.
  std::vector<std::pair<int, Plugin*>> order;
  for (size_t i = 0; i < plugins_.size(); ++i) {
    order.emplace_back(0, plugins_[i].get());
  }
  auto rank = [&](Plugin* p) {
    for (const auto& st : output_stages_) {
      if (st->output() == p || st->secondary() == p) return 0;
    }
    for (const auto& fs : filter_stages_) if (fs.filter == p) return 1;
    return 2;
  };
  for (auto& [r, p] : order) r = rank(p);
  std::stable_sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.first < b.first; });
  bool buffers_started = false;
  std::vector<std::pair<int, Plugin*>> started;
  std::vector<buffer::Buffer*> started_buffers;
  // Inputs and filters, then the buffers (their flush threads write to the outputs), then the
  // outputs.
  auto undo = [&](Status s) {
    for (auto it = started.rbegin(); it != started.rend(); ++it) {
      if (it->first == 0) {
        for (buffer::Buffer* b : started_buffers) b->stop();
        started_buffers.clear();
      }
      it->second->stop();
    }
    for (buffer::Buffer* b : started_buffers) b->stop();
    return s;
  };
  auto startBuffers = [&]() -> Status {
    // Outputs and their <secondary> are up: the buffers may recover chunks and send.
    for (const auto& st : output_stages_) {
      if (!st->buffer()) continue;
      Status s = st->buffer()->start();
      if (!s) return s.withPrefix(st->instance()->log.source() + " ");
      started_buffers.push_back(st->buffer());
    }
    buffers_started = true;
    return Status::ok();
  };
  for (auto& [r, p] : order) {
    if (r > 0 && !buffers_started) {
      if (Status s = startBuffers(); !s) return undo(s);
    }
    Status s = p->start();
    if (!s) return undo(s);
    started.emplace_back(r, p);
  }
  if (!buffers_started) {
    if (Status s = startBuffers(); !s) return undo(s);
  }
  started_ = true;
  return Status::ok();
}

void Pipeline::stopFiltersAndOutputs() {
  if (!started_) return;
  for (auto& fs : filter_stages_) fs.filter->stop();
  for (auto& os : output_stages_) {
    if (os->buffer()) os->buffer()->stop();
    os->output()->stop();
    if (os->secondary()) os->secondary()->stop();
  }
  started_ = false;
}

void Pipeline::flushBuffers(bool stopping, bool last) {
  for (auto& os : output_stages_) {
    if (!os->buffer()) continue;
    if (stopping) {
      os->buffer()->flushForShutdown(last);
    } else {
      os->buffer()->flushNow();
    }
  }
}

Status Pipeline::checkState() const {
  for (const auto& os : output_stages_) {
    if (!os->buffer()) continue;
    Status s = os->buffer()->checkState();
    if (!s) return s.withPrefix(os->instance()->log.source() + " ");
  }
  for (const auto& p : plugins_) {
    Status s = p->checkState();
    if (!s) return s;
  }
  return Status::ok();
}

Result<Output*> Pipeline::startOutputForReplay(const std::string& id) {
  for (const auto& st : output_stages_) {
    if (st->instance()->id != id) continue;
    if (st->output()->asSink() != nullptr) return Status::invalidConfig("output " + id + " routes events; nothing to replay into");
    Status s = st->output()->start();
    if (!s) return s;
    return st->output();
  }
  std::string known;
  for (const auto& st : output_stages_) known += (known.empty() ? "" : ", ") + st->instance()->id;
  return Status::notFound("no output with @id " + id + " in the configuration (outputs: " + known + ")");
}

std::vector<InputStage*> Pipeline::inputs() const {
  std::vector<InputStage*> out;
  for (const InputStage& s : input_stages_) out.push_back(const_cast<InputStage*>(&s));
  return out;
}

void Pipeline::emitErrors(Batch& batch, const std::string& filter_id) {
  auto& errors = batch.errors();
  error_events_->add(errors.size());
  auto it = labels_.find("@ERROR");
  if (it != labels_.end() && !in_error_label_) {
    Batch error_batch;
    error_batch.setAck(batch.ack());
    for (const ErrorEvent& e : errors) error_batch.events().push_back(e.event);
    errors.clear();
    in_error_label_ = true;
    Status s = it->second->emit(error_batch);
    in_error_label_ = false;
    (void)s;
    return;
  }
  for (const ErrorEvent& e : errors) {
    std::string line = "Dump an error event: error=\"" + std::string(e.reason) + "\" tag=\"" +
                       std::string(e.event.tag) + "\" time=";
    formatTime(line, e.event.time_ns, "%Y-%m-%dT%H:%M:%S.%N%:z", true);
    line += " record=";
    std::string record = toJson(e.event.record);
    if (record.size() > 512) record = record.substr(0, 512) + "...";
    line += record;
    Logger::global().log(LogLevel::Warn, "[filter:" + filter_id + "]", line);
  }
  errors.clear();
}

void Pipeline::countUnmatched(std::string_view tag, size_t n) {
  unmatched_->add(n);
  std::lock_guard<std::mutex> lock(unmatched_mu_);
  if (unmatched_warned_.size() < 1024 && unmatched_warned_.insert(std::string(tag)).second) {
    Logger::global().log(LogLevel::Warn, "[router]",
                         "No <match> matches tag=\"" + std::string(tag) +
                             "\"; its events are discarded and counted in "
                             "sluice_router_unmatched_records_total");
  }
}

void Pipeline::graphAgent(std::string& out, const Agent& agent) const {
  for (const Agent::Entry& e : agent.entries()) {
    const Instance* inst = e.is_filter ? e.filter->instance : e.output->instance();
    std::string pat = e.pattern.text().empty() ? "**" : e.pattern.text();
    out += "  " + std::string(e.is_filter ? "<filter " : "<match ") + pat + ">  " +
           inst->log.source() + "\n";
    for (const Instance& child : instances_) {
      if (child.element == inst->element) continue;
      for (const config::Element& sub : inst->element->elements) {
        if (&sub == child.element) {
          out += "      <" + sub.name + ">  " + child.log.source() + "\n";
        }
      }
    }
    for (const std::string& label : inst->routes_to) out += "      -> " + label + "\n";
  }
  if (agent.entries().empty()) out += "  (empty)\n";
}

std::string Pipeline::graph() const {
  std::string out = "sources:\n";
  for (const InputStage& s : input_stages_) {
    const config::Param* tag = s.instance->element->find("tag");
    out += "  " + s.instance->log.source() + "  tag=" + (tag ? tag->value : std::string("(none)")) +
           "  -> " + (s.target == root_.get() ? std::string("root") : s.target->name()) + "\n";
    for (const Instance& child : instances_) {
      for (const config::Element& sub : s.instance->element->elements) {
        if (&sub == child.element) out += "      <" + sub.name + ">  " + child.log.source() + "\n";
      }
    }
  }
  if (input_stages_.empty()) out += "  (none)\n";
  out += "root:\n";
  graphAgent(out, *root_);
  for (const std::string& name : label_order_) {
    out += "label " + name + ":\n";
    graphAgent(out, *labels_.at(name));
  }
  return out;
}

}  // namespace sluice::engine
