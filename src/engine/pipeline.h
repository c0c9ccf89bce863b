// SPDX-License-Identifier: Apache-2.0
#pragma once

// The assembled configuration (Pipeline): every plugin instance with its stages, the root agent
// and the labels. Built on the main (engine) thread; routing runs on the inputs' threads. The
// code is split along its seams: engine/pipeline.cc (lifecycle), pipeline_build.cc (building),
// pipeline_system.cc (<system>, monitoring sources), pipeline_monitor.cc (what the monitor
// reads), context.{h,cc} (the plugins' context), output_stage.{h,cc}, router.{h,cc}.

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "buffer/buffer.h"
#include "buffer/buffer_config.h"
#include "config/element.h"
#include "core/descriptor.h"
#include "core/filter.h"
#include "core/input.h"
#include "core/output.h"
#include "core/parser.h"
#include "engine/instance.h"
#include "engine/output_stage.h"
#include "engine/registry.h"
#include "engine/router.h"
#include "monitor/metrics.h"
#include "monitor/monitor_server.h"
#include "monitor/tap.h"

namespace sluice::engine {

struct BuildOptions {
  bool strict = false;  // unknown parameters are errors, not warnings
};

// The assembled configuration: every plugin instance, the root agent and the labels.
// Built once; routing is thread-safe.
class Pipeline {
 public:
  static Result<std::unique_ptr<Pipeline>> build(const config::Element& root,
                                                 const Registry& registry,
                                                 MetricsRegistry& metrics,
                                                 const BuildOptions& options);
  ~Pipeline();

  // Outputs, then filters, then inputs. When one fails, what had started is stopped again
  // (a reload then starts the previous configuration on the same buffer folders).
  Status start();
  // Filters then outputs (inputs are stopped by the engine first).
  void stopFiltersAndOutputs();
  // Seals and sends every buffer's chunks now (SIGUSR1; at a stop, only the buffers with
  // flush_at_shutdown; `last`: no start follows, see Buffer::flushForShutdown). Any thread.
  void flushBuffers(bool stopping = false, bool last = false);
  // Checks that the state the pipeline keeps can be written (buffer paths, dead letters) — what
  // start() would find, for --dry-run. Creates nothing: a missing folder passes when the
  // nearest existing one above it is writable.
  Status checkState() const;

  std::vector<InputStage*> inputs() const;
  // The output (and its <secondary>) with this @id started alone, for `sluice replay`.
  Result<Output*> startOutputForReplay(const std::string& id);
  std::string graph() const;
  // The configuration the pipeline was built from (<worker> sections flattened), for a reload
  // that must start it again.
  const config::Element& config() const { return *owned_root_; }
  MetricsRegistry& metrics() { return metrics_; }
  // `<system> <monitor>`, for the engine that runs the monitor server.
  const MonitorConfig& monitorConfig() const { return monitor_; }
  // The first output whose buffer holds more than `max_fill` of its total_limit_size, as
  // "buffer of output ID is N% full", or "". For the monitor's /readyz (its thread, per
  // request: takes each buffer's lock once).
  std::string overfullBuffer(double max_fill) const;
  // The first output whose buffer holds a chunk whose writes have failed for longer than
  // `max_seconds`, as "output ID has failed to write for N s", or "". For /readyz.
  std::string failingOutput(double max_seconds) const;
  // Extra monitor servers the config asks for with Fluentd's `<source> @type monitor_agent`
  // (or `@type prometheus` on another port than <monitor>'s); each serves every endpoint.
  const std::vector<MonitorConfig>& extraMonitors() const { return extra_monitors_; }
  // At a scrape (the monitor's thread, under the engine's pipeline lock): sets the gauges read
  // from state (buffer chunks, bytes, fill, oldest chunk age, retry state) and, when the config
  // has `@type prometheus_output_monitor` or `prometheus_monitor`, fluent-plugin-prometheus's
  // fluentd_output_status_* / fluentd_status_* series.
  void collectGauges();
  // GET /api/plugins.json: Fluentd monitor_agent's answer, {"plugins":[...]} with plugin_id,
  // plugin_category, type, config (secrets masked), output_plugin and, for outputs with a
  // buffer, buffer_queue_length, buffer_total_queued_size, retry_count, retry, ... (the monitor's
  // thread, under the engine's pipeline lock).
  std::string pluginsJson();
  // Lets `sluice tap` see the events passing each plugin (<monitor> enable_tap). Called by the
  // engine before start().
  void setTap(TapHub* tap);
  TapHub* tap() const { return tap_; }
  const std::vector<Filter*>& redactors() const { return redactors_; }

  // Events a filter rejected go to @ERROR, or are logged when there is no such label.
  void emitErrors(Batch& batch, const std::string& filter_id);
  void countUnmatched(std::string_view tag, size_t n);

 private:
  friend class ContextImpl;
  Pipeline(const Registry& registry, MetricsRegistry& metrics, const BuildOptions& options);

  Status buildAll(const config::Element& root);
  Status buildAgentBody(Agent& agent, const config::Element& section);
  Result<PluginPtr> instantiate(PluginKind kind, const config::Element& element,
                                const std::string& default_type, Instance** out_instance,
                                const FormatterDefaults* formatter_defaults = nullptr);
  Result<OutputStage*> buildOutput(const config::Element& element);
  Status checkUnused(const PluginDescriptor& d, const config::Element& element);
  Status applySystem(const config::Element& system);
  // `<source>` of Fluentd's monitoring plugins (prometheus, prometheus_monitor,
  // prometheus_output_monitor, monitor_agent): configure the monitor instead of an input.
  Status addMonitorSource(const config::Element& source, const std::string& type);
  void graphAgent(std::string& out, const Agent& agent) const;

  const Registry& registry_;
  MetricsRegistry& metrics_;
  BuildOptions options_;
  std::string hostname_;
  std::string root_dir_ = "/var/lib/sluice";  // <system> root_dir
  bool without_source_ = false;                // <system> without_source
  MonitorConfig monitor_;                      // <system> <monitor>
  bool monitor_port_given_ = false;            // <monitor> port was set (not the default)
  std::vector<MonitorConfig> extra_monitors_;  // monitor_agent, a second prometheus
  bool fluentd_output_status_ = false;         // serve fluentd_output_status_* too
  TapHub* tap_ = nullptr;
  std::vector<Filter*> redactors_;  // the redact filters, which tapped copies go through

  std::deque<Instance> instances_;
  std::vector<PluginPtr> plugins_;  // start order: outputs, filters, inputs (sorted at start)
  std::deque<FilterStage> filter_stages_;
  std::deque<std::unique_ptr<OutputStage>> output_stages_;
  std::deque<InputStage> input_stages_;
  std::unique_ptr<Agent> root_;
  std::unordered_map<std::string, std::unique_ptr<Agent>> labels_;
  std::vector<std::string> label_order_;
  std::unordered_map<std::string, int> type_counts_;

  std::unique_ptr<config::Element> owned_root_;
  std::deque<config::Element> synthetic_sections_;  // the empty <format> of outputs without one
  std::mutex unmatched_mu_;
  std::unordered_set<std::string> unmatched_warned_;  // guarded by unmatched_mu_
  Counter* unmatched_ = nullptr;
  Counter* error_events_ = nullptr;
  bool started_ = false;
  static thread_local bool in_error_label_;
};

}  // namespace sluice::engine
