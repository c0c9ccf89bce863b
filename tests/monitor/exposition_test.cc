// SPDX-License-Identifier: Apache-2.0
// The exposition read back strictly (every line of the Prometheus text format 0.0.4 and of
// OpenMetrics 1.0), and the endpoints Fluentd users rely on: `<source> @type prometheus`,
// `prometheus_output_monitor` (fluentd_output_status_* names) and `monitor_agent`
// (/api/plugins.json) in a real sluice process.

#include <gtest/gtest.h>
#include <signal.h>

#include <simdjson.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "monitor/metrics.h"
#include "net/http_client.h"
#include "support/http_server.h"
#include "support/test_support.h"
#include "monitor/monitor_support.h"

namespace sluice {
namespace {

using testing::httpGet;
using testing::readFile;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;
using testing::writeFile;
using testing::localUrl;
using testing::loggedPort;

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value;
};

// Parses an exposition strictly; any deviation is a test failure naming the line. Returns the
// samples, and the families' types in `types`.
std::vector<Sample> parseStrictly(const std::string& text, bool openmetrics,
                                  std::map<std::string, std::string>* types_out = nullptr) {
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  std::vector<Sample> samples;
  std::map<std::string, std::string> types, helps;
  std::set<std::string> series;
  std::string current;  // the family whose samples may follow
  std::istringstream in(text);
  std::string line;
  bool eof = false;
  int n = 0;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  while (std::getline(in, line)) {
    ++n;
    std::string where = "line " + std::to_string(n) + ": " + line;
    EXPECT_FALSE(eof) << "text after # EOF: " << where;
    if (line == "# EOF") {
      EXPECT_TRUE(openmetrics) << where;
      eof = true;
      continue;
    }
    EXPECT_FALSE(line.empty()) << where;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      size_t sp = rest.find(' ');
      EXPECT_NE(sp, std::string::npos) << where;
      std::string name = rest.substr(0, sp);
      EXPECT_TRUE(std::regex_match(name, kName)) << where;
      std::string what = rest.substr(sp + 1);
      if (line[2] == 'H') {
        EXPECT_FALSE(helps.count(name)) << "second HELP: " << where;
        helps[name] = what;
        for (size_t i = 0; i < what.size(); ++i) {
          if (what[i] == '\\') {
            EXPECT_TRUE(i + 1 < what.size() && (what[i + 1] == '\\' || what[i + 1] == 'n' || (openmetrics && what[i + 1] == '"')))
                << "bad escape in HELP: " << where;
            ++i;
          } else if (openmetrics) {
            EXPECT_NE(what[i], '"') << "unescaped quote: " << where;
          }
        }
      } else {
        EXPECT_FALSE(types.count(name)) << "second TYPE: " << where;
        EXPECT_TRUE(what == "counter" || what == "gauge" || what == "histogram") << where;
        types[name] = what;
        current = name;
      }
      continue;
    }
    EXPECT_NE(line[0], '#') << "unknown comment: " << where;
    // name{labels} value
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    Sample s;
    s.name = line.substr(0, i);
    EXPECT_TRUE(std::regex_match(s.name, kName)) << where;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        EXPECT_NE(eq, std::string::npos) << where;
        if (eq == std::string::npos) return samples;
        std::string key = line.substr(i, eq - i);
        EXPECT_TRUE(std::regex_match(key, kLabelName)) << where;
        EXPECT_EQ(line[eq + 1], '"') << where;
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            ++j;
            EXPECT_TRUE(line[j] == '\\' || line[j] == '"' || line[j] == 'n') << "bad escape: " << where;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        EXPECT_LT(j, line.size()) << "unterminated label value: " << where;
        EXPECT_FALSE(s.labels.count(key)) << "label twice: " << where;
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      EXPECT_LT(i, line.size()) << where;
      ++i;
    }
    EXPECT_EQ(line[i], ' ') << where;
    std::string number = line.substr(i + 1);
    char* end = nullptr;
    s.value = std::strtod(number.c_str(), &end);
    EXPECT_TRUE(number == "+Inf" || (end && *end == 0 && !number.empty())) << "bad value: " << where;
    // The sample belongs to the family last typed.
    std::string family = current;
    const std::string& type = types[current];
    bool belongs = s.name == family;
    if (type == "histogram") {
      belongs = s.name == family + "_bucket" || s.name == family + "_sum" || s.name == family + "_count";
      if (s.name == family + "_bucket") {
        EXPECT_TRUE(s.labels.count("le")) << where;
      }
    }
    if (type == "counter" && openmetrics) belongs = s.name == family + "_total";
    EXPECT_TRUE(belongs) << "sample outside its family " << current << ": " << where;
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "|" + k + "=" + v;
    EXPECT_TRUE(series.insert(key).second) << "series twice: " << where;
    samples.push_back(std::move(s));
  }
  EXPECT_EQ(eof, openmetrics) << "# EOF ends OpenMetrics, and only it";
  // Histograms: buckets cumulative, +Inf equal to _count.
  std::map<std::string, std::vector<const Sample*>> buckets;
  for (const Sample& s : samples) {
    if (s.name.ends_with("_bucket")) {
      auto l = s.labels;
      l.erase("le");
      std::string k = s.name;
      for (const auto& [a, b] : l) k += "|" + a + "=" + b;
      buckets[k].push_back(&s);
    }
  }
  for (const auto& [k, list] : buckets) {
    for (size_t j = 1; j < list.size(); ++j) EXPECT_LE(list[j - 1]->value, list[j]->value) << k;
    EXPECT_EQ(list.back()->labels.at("le"), "+Inf") << k;
  }
  if (types_out) *types_out = types;
  return samples;
}

MetricsRegistry& exampleRegistry() {
  static MetricsRegistry r;
  static bool once = [] {
    r.counter("sluice_t_records_total", "Records \"in\" \\ out.\nSecond line.", {{"plugin_id", "a\"b\\c\nd"}, {"type", "x"}}).add(3);
    r.counter("sluice_t_records_total", "Records.", {{"plugin_id", "b"}, {"type", "x"}}).add(4);
    r.gauge("sluice_t_fill_ratio", "Fill.", {{"plugin_id", "b"}}).set(0.25);
    r.readCounter("process_cpu_seconds_total", "CPU.").set(1.5);
    Histogram& h = r.histogram("sluice_t_write_duration_seconds", "Latency.", {{"plugin_id", "b"}});
    h.observe(0.003);
    h.observe(0.2);
    h.observe(100);
    return true;
  }();
  (void)once;
  return r;
}

TEST(ExpositionTest, PrometheusTextReadsBackStrictly) {
  std::map<std::string, std::string> types;
  auto samples = parseStrictly(exampleRegistry().renderPrometheus(), false, &types);
  EXPECT_EQ(types["sluice_t_records_total"], "counter");
  EXPECT_EQ(types["process_cpu_seconds_total"], "counter");
  EXPECT_EQ(types["sluice_t_write_duration_seconds"], "histogram");
  bool escaped = false, ratio = false, inf = false;
  for (Sample& s : samples) {
    if (s.name == "sluice_t_records_total" && s.labels["plugin_id"] == "a\"b\\c\nd") escaped = s.value == 3;
    if (s.name == "sluice_t_fill_ratio") ratio = s.value == 0.25;
    if (s.name == "sluice_t_write_duration_seconds_bucket" && s.labels["le"] == "+Inf") inf = s.value == 3;
  }
  EXPECT_TRUE(escaped);
  EXPECT_TRUE(ratio);
  EXPECT_TRUE(inf);
}

TEST(ExpositionTest, OpenMetricsReadsBackStrictly) {
  std::map<std::string, std::string> types;
  std::string text = exampleRegistry().renderOpenMetrics();
  auto samples = parseStrictly(text, true, &types);
  EXPECT_EQ(types["sluice_t_records"], "counter") << text;
  EXPECT_EQ(types["process_cpu_seconds"], "counter") << text;
  EXPECT_FALSE(types.count("sluice_t_records_total")) << text;
  EXPECT_NE(text.find("Records \\\"in\\\" \\\\ out.\\nSecond line."), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
  EXPECT_GE(samples.size(), 15u);
}

net::HttpResponse getWithAccept(net::HttpClient& client, const std::string& u, const std::string& accept) {
  net::HttpRequest req;
  req.url = u;
  req.headers.push_back("Accept: " + accept);
  net::HttpResponse r;
  client.send(req, r);
  return r;
}

// Fluentd's monitoring sources in a running sluice: a tail into a file output through a
// buffer that holds its chunks (flush_interval 1h) and an elasticsearch output with a password.
TEST(FluentdMonitorSourcesTest, PrometheusAndMonitorAgentServeWhatFluentdsDo) {
  TempDir dir;
  std::string lines;
  for (int i = 0; i < 120; ++i) lines += "line " + std::to_string(i) + "\n";
  writeFile(dir.file("lines.log"), lines);
  writeFile(dir.file("c.conf"),
            "<source>\n  @type prometheus\n  bind 127.0.0.1\n  port 0\n  metrics_path /prom\n</source>\n"
            "<source>\n  @type prometheus_output_monitor\n  interval 5\n</source>\n"
            "<source>\n  @type monitor_agent\n  bind 127.0.0.1\n  port 0\n</source>\n"
            "<source>\n  @type tail\n  @id in_lines\n  path " + dir.file("lines.log") + "\n  pos_file " +
            dir.file("lines.pos") + "\n  read_from_head true\n  tag lines\n  <parse>\n    @type none\n  </parse>\n</source>\n"
            "<match lines>\n  @type copy\n  <store>\n    @type file\n    @id out_held\n    path " + dir.file("out") +
            "\n    <buffer>\n      @type memory\n      flush_interval 3600\n    </buffer>\n  </store>\n"
            "  <store>\n    @type elasticsearch\n    @id out_es\n    host 127.0.0.1\n    port 9\n"
            "    user elastic\n    password s3cr3t-value\n    verify_es_version_at_startup false\n"
            "    <buffer>\n      flush_interval 3600\n    </buffer>\n  </store>\n</match>\n");
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("o"));
  const std::string err = dir.file("o.err");
  int prom = 0, agent = 0;
  ASSERT_TRUE(waitFor([&] {
    prom = loggedPort(err, "<source> @type prometheus");
    agent = loggedPort(err, "<source> @type monitor_agent");
    return prom > 0 && agent > 0;
  })) << readFile(err);
  net::HttpClient client;
  // The prometheus source moved /metrics to its metrics_path.
  EXPECT_EQ(httpGet(client, localUrl(prom, "/metrics")).status, 404);
  std::string body;
  ASSERT_TRUE(waitFor([&] {
    body = httpGet(client, localUrl(prom, "/prom")).body;
    return body.find("fluentd_output_status_buffer_total_bytes{plugin_id=\"out_held\",plugin_category=\"output\",type=\"file\"} 0\n") ==
               std::string::npos &&
           body.find("sluice_input_received_records_total{plugin_id=\"in_lines\",type=\"tail\"} 120\n") != std::string::npos;
  })) << body;
  std::map<std::string, std::string> types;
  auto samples = parseStrictly(body, false, &types);
  std::map<std::string, double> by;
  for (const Sample& s : samples) {
    std::string k = s.name;
    if (s.labels.count("plugin_id")) k += "/" + s.labels.at("plugin_id");
    by[k] = s.value;
  }
  EXPECT_EQ(by["fluentd_output_status_emit_records/out_held"], 120);
  EXPECT_GT(by["fluentd_output_status_buffer_total_bytes/out_held"], 0);
  EXPECT_GT(by["fluentd_output_status_buffer_stage_byte_size/out_held"], 0);
  EXPECT_EQ(by["fluentd_output_status_buffer_queue_length/out_held"], 0);
  EXPECT_GT(by["fluentd_output_status_buffer_available_space_ratio/out_held"], 0);
  EXPECT_LT(by["fluentd_output_status_buffer_available_space_ratio/out_held"], 100);
  EXPECT_GT(by["sluice_buffer_fill_ratio/out_held"], 0);
  EXPECT_GT(by["sluice_buffer_staged_chunks/out_held"], 0);
  EXPECT_GE(by["sluice_buffer_oldest_chunk_age_seconds/out_held"], 0);
  EXPECT_GT(by["process_resident_memory_bytes"], 1e6);
  EXPECT_GT(by["process_open_fds"], 3);
  EXPECT_GT(by["process_start_time_seconds"], 1.6e9);
  EXPECT_EQ(types["process_cpu_seconds_total"], "counter");
  EXPECT_EQ(by["sluice_build_info"], 1);

  // OpenMetrics when asked for, as Prometheus does.
  auto om = getWithAccept(client, localUrl(prom, "/prom"),
                          "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                          "text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  EXPECT_EQ(om.content_type.rfind("application/openmetrics-text; version=1.0.0", 0), 0u) << om.content_type;
  parseStrictly(om.body, true);

  // monitor_agent's JSON.
  auto r = httpGet(client, localUrl(agent, "/api/plugins.json"));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("s3cr3t-value"), std::string::npos) << r.body;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.body).get(doc), simdjson::SUCCESS) << r.body;
  std::map<std::string, simdjson::dom::object> plugins;
  for (simdjson::dom::object o : doc["plugins"].get_array()) plugins[std::string(o["plugin_id"].get_string().value())] = o;
  ASSERT_TRUE(plugins.count("in_lines")) << r.body;
  ASSERT_TRUE(plugins.count("out_held")) << r.body;
  ASSERT_TRUE(plugins.count("out_es")) << r.body;
  EXPECT_EQ(std::string_view(plugins["in_lines"]["plugin_category"].get_string().value()), "input");
  EXPECT_EQ(std::string_view(plugins["in_lines"]["type"].get_string().value()), "tail");
  EXPECT_FALSE(plugins["in_lines"]["output_plugin"].get_bool().value());
  EXPECT_EQ(plugins["in_lines"]["emit_records"].get_double().value(), 120);
  auto held = plugins["out_held"];
  EXPECT_TRUE(held["output_plugin"].get_bool().value());
  EXPECT_EQ(held["buffer_queue_length"].get_double().value(), 0);
  EXPECT_GT(held["buffer_total_queued_size"].get_double().value(), 0);
  EXPECT_EQ(held["retry_count"].get_double().value(), 0);
  EXPECT_EQ(held["retry"].get_object().size(), 0u);
  EXPECT_EQ(std::string_view(plugins["out_es"]["config"]["password"].get_string().value()), "xxxxxx");
  EXPECT_EQ(std::string_view(plugins["out_es"]["config"]["user"].get_string().value()), "elastic");
  p.signal(SIGKILL);
}

}  // namespace
}  // namespace sluice
