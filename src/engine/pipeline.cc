// SPDX-License-Identifier: Apache-2.0
// The Pipeline's lifecycle, run by the engine's thread: construction (then
// engine/pipeline_build.cc), start in order (outputs, buffers, filters, inputs) with undo on
// failure, stop, flush, --dry-run's state check, the output started alone for `sluice replay`,
// @ERROR and unmatched-tag handling (on the emitting input's thread) and the --graph text.
#include "engine/pipeline.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "core/json.h"
#include "core/time.h"

namespace sluice::engine {

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
