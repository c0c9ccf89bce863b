// SPDX-License-Identifier: Apache-2.0
#include "monitor/metrics.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>
#include <fstream>
#include <sstream>

#include "core/format.h"

namespace sluice {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(v * 1e6), std::memory_order_relaxed);
}

double Histogram::sum() const { return sum_micros_.load(std::memory_order_relaxed) / 1e6; }

MetricsRegistry::Entry* MetricsRegistry::findLocked(std::string_view name, const Labels& labels) {
  for (Entry& e : entries_) {
    if (e.name == name && e.labels == labels) return &e;
  }
  return nullptr;
}

Counter& MetricsRegistry::counter(std::string name, std::string help, Labels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = findLocked(name, labels); e && e->counter) return *e->counter;
  entries_.push_back(Entry{std::move(name), std::move(help), std::move(labels), Type::Counter,
                           std::make_unique<Counter>(), nullptr, nullptr});
  return *entries_.back().counter;
}

Gauge& MetricsRegistry::gauge(std::string name, std::string help, Labels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = findLocked(name, labels); e && e->gauge) return *e->gauge;
  entries_.push_back(Entry{std::move(name), std::move(help), std::move(labels), Type::Gauge,
                           nullptr, std::make_unique<Gauge>(), nullptr});
  return *entries_.back().gauge;
}

Gauge& MetricsRegistry::readCounter(std::string name, std::string help, Labels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = findLocked(name, labels); e && e->gauge) return *e->gauge;
  entries_.push_back(Entry{std::move(name), std::move(help), std::move(labels), Type::Counter,
                           nullptr, std::make_unique<Gauge>(), nullptr});
  return *entries_.back().gauge;
}

Histogram& MetricsRegistry::histogram(std::string name, std::string help, Labels labels) {
  std::lock_guard<std::mutex> lock(mu_);
  if (Entry* e = findLocked(name, labels); e && e->histogram) return *e->histogram;
  entries_.push_back(Entry{std::move(name), std::move(help), std::move(labels), Type::Histogram,
                           nullptr, nullptr,
                           std::make_unique<Histogram>(std::vector<double>{
                               0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60})});
  return *entries_.back().histogram;
}

namespace {

std::string renderLabels(const Labels& labels, const std::string& extra = "") {
  if (labels.empty() && extra.empty()) return "";
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    out += k + "=\"";
    appendLabelValue(out, v);
    out += '"';
  }
  if (!extra.empty()) {
    if (!first) out += ',';
    out += extra;
  }
  return out + "}";
}

// HELP text escapes backslash and line feed (the text format's rule; quotes stay as they are,
// except in OpenMetrics, which escapes them too).
std::string escapeHelp(const std::string& help, bool openmetrics = false) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && openmetrics) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// The shortest text that reads back as `v`: le="0.005", not le="0.0050000000000000001" (a
// bucket's le is a label, so it must also match what other exporters write).
std::string number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

}  // namespace

std::string MetricsRegistry::renderPrometheus() const { return render(false); }

std::string MetricsRegistry::renderOpenMetrics() const { return render(true) + "# EOF\n"; }

std::string MetricsRegistry::render(bool openmetrics) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::vector<const Entry*>> by_name;
  for (const Entry& e : entries_) by_name[e.name].push_back(&e);
  std::string out;
  for (const auto& [name, list] : by_name) {
    const Entry& first = *list.front();
    const char* type = first.type == Type::Counter ? "counter"
                       : first.type == Type::Gauge ? "gauge" : "histogram";
    // OpenMetrics names a counter's family without the _total its samples carry.
    std::string family = name;
    std::string sample = name;
    if (openmetrics && first.type == Type::Counter) {
      if (family.ends_with("_total")) {
        family.resize(family.size() - 6);
      } else {
        sample += "_total";
      }
    }
    out += "# HELP " + family + " " + escapeHelp(first.help, openmetrics) + "\n# TYPE " + family + " " + type + "\n";
    for (const Entry* e : list) {
      if (e->counter) {
        out += sample + renderLabels(e->labels) + " " + std::to_string(e->counter->value()) + "\n";
      } else if (e->gauge) {
        out += sample + renderLabels(e->labels) + " " + number(e->gauge->value()) + "\n";
      } else if (e->histogram) {
        const Histogram& h = *e->histogram;
        uint64_t cumulative = 0;
        for (size_t i = 0; i < h.bounds().size(); ++i) {
          cumulative += h.bucketCount(i);
          out += name + "_bucket" + renderLabels(e->labels, "le=\"" + number(h.bounds()[i]) + "\"") +
                 " " + std::to_string(cumulative) + "\n";
        }
        cumulative += h.bucketCount(h.bounds().size());
        out += name + "_bucket" + renderLabels(e->labels, "le=\"+Inf\"") + " " +
               std::to_string(cumulative) + "\n";
        out += name + "_sum" + renderLabels(e->labels) + " " + number(h.sum()) + "\n";
        out += name + "_count" + renderLabels(e->labels) + " " + std::to_string(h.count()) + "\n";
      }
    }
  }
  return out;
}

std::vector<std::string> MetricsRegistry::describe() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const Entry& e : entries_) {
    const char* type = e.type == Type::Counter ? "counter" : e.type == Type::Gauge ? "gauge" : "histogram";
    out.push_back(e.name + renderLabels(e.labels) + "  " + type + "  " + e.help);
  }
  std::sort(out.begin(), out.end());
  return out;
}

double MetricsRegistry::sum(std::string_view name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  double total = 0;
  for (const Entry& e : entries_) {
    if (e.name != name) continue;
    bool match = true;
    for (const auto& l : labels) {
      if (std::find(e.labels.begin(), e.labels.end(), l) == e.labels.end()) match = false;
    }
    if (!match) continue;
    if (e.counter) total += double(e.counter->value());
    if (e.gauge) total += double(e.gauge->value());
    if (e.histogram) total += double(e.histogram->count());
  }
  return total;
}

Labels PluginMetrics::labels(Labels extra) const {
  Labels l{{"plugin_id", id_}, {"type", type_}};
  for (auto& e : extra) l.push_back(std::move(e));
  return l;
}

Counter& PluginMetrics::counter(std::string_view tail, std::string help, Labels extra) {
  return registry_->counter("sluice_" + kind_ + "_" + std::string(tail), std::move(help),
                            labels(std::move(extra)));
}

Counter& PluginMetrics::pluginCounter(std::string_view tail, std::string help, Labels extra) {
  return registry_->counter("sluice_" + kind_ + "_" + type_ + "_" + std::string(tail),
                            std::move(help), labels(std::move(extra)));
}

Gauge& PluginMetrics::gauge(std::string_view tail, std::string help, Labels extra) {
  return registry_->gauge("sluice_" + kind_ + "_" + std::string(tail), std::move(help),
                          labels(std::move(extra)));
}

Histogram& PluginMetrics::histogram(std::string_view tail, std::string help, Labels extra) {
  return registry_->histogram("sluice_" + kind_ + "_" + std::string(tail), std::move(help),
                              labels(std::move(extra)));
}

}  // namespace sluice

namespace sluice {

void collectProcessMetrics(MetricsRegistry& r) {
  static const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  // /proc/self/stat: the fields after the command's closing parenthesis; utime and stime are
  // the 14th and 15th of the line, starttime the 22nd, vsize the 23rd, rss the 24th.
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  if (paren != std::string::npos) {
    std::istringstream in(line.substr(paren + 2));
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    // f[0] is field 3 (state).
    if (f.size() > 21) {
      double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      r.readCounter("process_cpu_seconds_total", "User and system CPU time spent, in seconds.").set(cpu);
      r.gauge("process_virtual_memory_bytes", "Virtual memory size, in bytes.").set(std::stod(f[20]));
      r.gauge("process_resident_memory_bytes", "Resident memory size, in bytes.").set(std::stod(f[21]) * page);
      static const double start = [&] {
        std::ifstream s("/proc/stat");
        for (std::string l; std::getline(s, l);) {
          if (l.rfind("btime ", 0) == 0) return std::stod(l.substr(6)) + std::stod(f[19]) / ticks;
        }
        return 0.0;
      }();
      r.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.").set(start);
    }
  }
  size_t fds = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++fds;
    }
    ::closedir(d);
    if (fds) --fds;  // the descriptor opendir used
  }
  r.gauge("process_open_fds", "Open file descriptors.").set(static_cast<double>(fds));
  struct rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    r.gauge("process_max_fds", "The open-file limit (RLIMIT_NOFILE soft limit).").set(static_cast<double>(lim.rlim_cur));
  }
}

}  // namespace sluice
