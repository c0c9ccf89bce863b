// SPDX-License-Identifier: Apache-2.0
// What the monitor server asks of a running pipeline, on the monitor's threads under the
// engine's pipeline lock: gauges read from the buffers at a scrape, Fluentd monitor_agent's
// /api/plugins.json, the /readyz checks, and the tap hook-up (set by the engine before start).
#include <algorithm>
#include <charconv>

#include "core/json.h"
#include "core/time.h"
#include "engine/pipeline.h"

namespace sluice::engine {

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
      const Labels l{{"plugin_id", id}, {"type", std::string(choiceName(kBufferTypes, b->config().type))}};
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
    if (fs.filter->redactsTaps()) redactors_.push_back(fs.filter);
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
    if (inst.kind == PluginKind::Parser || inst.kind == PluginKind::Formatter) continue;
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

}  // namespace sluice::engine
