// SPDX-License-Identifier: Apache-2.0
// The monitor server (/metrics, /healthz, /readyz): in-process against a registry, in a real
// sluice process scraped over HTTP, and scraped by the real Prometheus (Debian's `prometheus`
// package, installed by scripts/setup.sh) whose HTTP API is then queried for the series.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "monitor/monitor_server.h"
#include "monitor/monitor_support.h"
#include "support/http_server.h"
#include "support/test_support.h"

namespace sluice {
namespace {

using testing::httpGet;
using testing::readFile;
using testing::runSluice;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;
using testing::writeFile;

std::string url(int port, std::string_view path) { return testing::localUrl(port, path); }

TEST(MonitorServerTest, ServesTheRegistryAndReadiness) {
  MetricsRegistry registry;
  registry.counter("sluice_test_records_total", "Records.", {{"plugin_id", "a\"b\\c\nd"}}).add(7);
  Histogram& h = registry.histogram("sluice_test_seconds", "Latency.", {{"plugin_id", "x"}});
  h.observe(0.002);
  h.observe(2);
  MonitorServer server(MonitorConfig{.enable = true, .bind = "127.0.0.1", .port = 0}, registry);
  ASSERT_TRUE(server.start());
  ASSERT_GT(server.port(), 0);
  net::HttpClient client;

  auto health = httpGet(client, url(server.port(), "/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(httpGet(client, url(server.port(), "/readyz")).status, 503);
  server.setReady(true);
  EXPECT_EQ(httpGet(client, url(server.port(), "/readyz")).status, 200);
  server.setReady(false);
  EXPECT_EQ(httpGet(client, url(server.port(), "/readyz")).status, 503);
  EXPECT_EQ(httpGet(client, url(server.port(), "/nothing")).status, 404);

  auto m = httpGet(client, url(server.port(), "/metrics"));
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type.rfind("text/plain; version=0.0.4", 0), 0u) << m.content_type;
  const std::string& b = m.body;
  EXPECT_NE(b.find("# HELP sluice_test_records_total Records.\n# TYPE sluice_test_records_total counter\n"),
            std::string::npos) << b;
  EXPECT_NE(b.find("sluice_test_records_total{plugin_id=\"a\\\"b\\\\c\\nd\"} 7\n"), std::string::npos) << b;
  EXPECT_NE(b.find("# TYPE sluice_test_seconds histogram\n"), std::string::npos) << b;
  EXPECT_NE(b.find("sluice_test_seconds_bucket{plugin_id=\"x\",le=\"0.001\"} 0\n"), std::string::npos) << b;
  EXPECT_NE(b.find("sluice_test_seconds_bucket{plugin_id=\"x\",le=\"0.005\"} 1\n"), std::string::npos) << b;
  EXPECT_NE(b.find("sluice_test_seconds_bucket{plugin_id=\"x\",le=\"+Inf\"} 2\n"), std::string::npos) << b;
  EXPECT_NE(b.find("sluice_test_seconds_sum{plugin_id=\"x\"} 2.002\n"), std::string::npos) << b;
  EXPECT_NE(b.find("sluice_test_seconds_count{plugin_id=\"x\"} 2\n"), std::string::npos) << b;
  server.stop();
  EXPECT_TRUE(httpGet(client, url(server.port(), "/healthz")).transportFailed());
}

TEST(MonitorServerTest, HelpTextIsEscaped) {
  MetricsRegistry registry;
  registry.gauge("sluice_test_gauge", "Two\nlines \\ here.").set(-3);
  std::string text = registry.renderPrometheus();
  EXPECT_NE(text.find("# HELP sluice_test_gauge Two\\nlines \\\\ here.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsluice_test_gauge -3\n"), std::string::npos) << text;
}

// A config that tails `lines.log` from its head into null.
std::string tailSources(const TempDir& dir) {
  return "<source>\n  @type tail\n  @id in_lines\n  path " + dir.file("lines.log") +
         "\n  pos_file " + dir.file("lines.pos") +
         "\n  read_from_head true\n  tag lines\n  <parse>\n    @type none\n  </parse>\n</source>\n"
         "<match **>\n  @type null\n  @id out_null\n</match>\n";
}

// The same, with the monitor on `port`.
std::string tailConfig(const TempDir& dir, int port) {
  return "<system>\n  <monitor>\n    port " + std::to_string(port) + "\n  </monitor>\n</system>\n" +
         tailSources(dir);
}

std::string numberedLines(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "line " + std::to_string(i) + "\n";
  return out;
}

// The port sluice logged it listens on (the tests ask for port 0), or 0 before it has.
int loggedMonitorPort(const std::string& err_path) { return testing::loggedPort(err_path); }

constexpr const char* kReceived =
    "sluice_input_received_records_total{plugin_id=\"in_lines\",type=\"tail\"} ";

// The config has no <monitor>: README says that with a config file sluice serves the monitor,
// `<monitor>` only changes it (the test suite's $SLUICE_MONITOR_PORT=0 moves it off 24231).
TEST(MonitorProcessTest, ScrapesARunningSluice) {
  TempDir dir;
  writeFile(dir.file("lines.log"), numberedLines(250));
  writeFile(dir.file("c.conf"), tailSources(dir));
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("stdout"));
  int port = 0;
  ASSERT_TRUE(waitFor([&] { return (port = loggedMonitorPort(dir.file("stdout.err"))) > 0; }))
      << readFile(dir.file("stdout.err"));
  net::HttpClient client;
  EXPECT_EQ(httpGet(client, url(port, "/healthz")).status, 200);
  ASSERT_TRUE(waitFor([&] { return httpGet(client, url(port, "/readyz")).status == 200; }));
  std::string body;
  ASSERT_TRUE(waitFor([&] {
    body = httpGet(client, url(port, "/metrics")).body;
    return body.find(std::string(kReceived) + "250\n") != std::string::npos;
  })) << body;
  EXPECT_NE(body.find("# TYPE sluice_input_received_records_total counter\n"), std::string::npos);
  EXPECT_NE(body.find("plugin_id=\"out_null\""), std::string::npos) << body;

  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << readFile(dir.file("stdout.err"));
  EXPECT_TRUE(httpGet(client, url(port, "/healthz")).transportFailed());
}

TEST(MonitorProcessTest, APortInUseIsAStartUpError) {
  testing::HttpServer taken;
  ASSERT_TRUE(taken.start());
  TempDir dir;
  writeFile(dir.file("lines.log"), "one\n");
  writeFile(dir.file("c.conf"), tailConfig(dir, taken.port()));
  auto r = runSluice({"-c", dir.file("c.conf")}, "", std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("cannot listen on 127.0.0.1:" + std::to_string(taken.port())),
            std::string::npos) << r.err;
}

TEST(MonitorProcessTest, QuickModeServesNoMonitor) {
  auto r = runSluice({"--log-level", "info"}, "hello\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("hello"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("Monitor listening"), std::string::npos) << r.err;
}


TEST(MonitorProcessTest, NotReadyWhileABufferIsFullerThanConfigured) {
  TempDir dir;
  writeFile(dir.file("lines.log"), numberedLines(2000));
  // Elasticsearch on a port nothing listens on: the memory buffer fills up to its limit.
  writeFile(dir.file("c.conf"),
            "<system>\n  <monitor>\n    port 0\n    ready_max_buffer_fill 0.5\n  </monitor>\n</system>\n"
            "<source>\n  @type tail\n  @id in_lines\n  path " + dir.file("lines.log") +
            "\n  pos_file " + dir.file("lines.pos") +
            "\n  read_from_head true\n  tag lines\n  <parse>\n    @type none\n  </parse>\n</source>\n"
            "<match **>\n  @type elasticsearch\n  @id out_es\n  host 127.0.0.1\n  port " +
            std::to_string(testing::unusedPort()) +
            "\n  verify_es_version_at_startup false\n  <buffer>\n    chunk_limit_size 1k\n"
            "    total_limit_size 8k\n    flush_mode interval\n    flush_interval 0.1\n"
            "    retry_wait 0.05\n    retry_max_interval 0.2\n    retry_forever\n"
            "    overflow_action block\n  </buffer>\n</match>\n");
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("stdout"));
  int port = 0;
  ASSERT_TRUE(waitFor([&] { return (port = loggedMonitorPort(dir.file("stdout.err"))) > 0; }))
      << readFile(dir.file("stdout.err"));
  net::HttpClient client;
  net::HttpResponse ready;
  ASSERT_TRUE(waitFor([&] {
    ready = httpGet(client, url(port, "/readyz"));
    return ready.status == 503 &&
           ready.body.find("buffer of output out_es is") != std::string::npos;
  })) << ready.status << " " << ready.body;
  EXPECT_EQ(httpGet(client, url(port, "/healthz")).status, 200);
  p.signal(SIGKILL);
}

// The real Prometheus in the background, killed at the end of the test.
class PrometheusProcess {
 public:
  PrometheusProcess(const std::string& binary, const TempDir& dir, int port) {
    std::vector<std::string> args = {binary,
                                     "--config.file=" + dir.file("prometheus.yml"),
                                     "--storage.tsdb.path=" + dir.file("tsdb"),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                     "--log.level=warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log = dir.file("prometheus.log");
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~PrometheusProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  pid_t pid_ = -1;
};

TEST(PrometheusScrapeTest, PrometheusScrapesSluice) {
  std::string prometheus;
  for (const char* candidate : {"/usr/bin/prometheus", "/usr/local/bin/prometheus"}) {
    if (::access(candidate, X_OK) == 0) prometheus = candidate;
  }
  if (prometheus.empty()) {
    GTEST_SKIP() << "the prometheus binary is absent (scripts/setup.sh installs Debian's "
                    "prometheus package)";
  }
  TempDir dir;
  writeFile(dir.file("lines.log"), numberedLines(250));
  writeFile(dir.file("c.conf"), tailConfig(dir, 0));
  SluiceProcess sluice({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("stdout"));
  int port = 0;
  ASSERT_TRUE(waitFor([&] { return (port = loggedMonitorPort(dir.file("stdout.err"))) > 0; }))
      << readFile(dir.file("stdout.err"));

  writeFile(dir.file("prometheus.yml"),
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: sluice\n    scrape_interval: 1s\n"
            "    static_configs:\n      - targets: ['127.0.0.1:" + std::to_string(port) + "']\n");
  int prom_port = testing::unusedPort();
  ASSERT_GT(prom_port, 0);
  PrometheusProcess prom(prometheus, dir, prom_port);

  // sluice_input_received_records_total{plugin_id="in_lines"}
  const std::string query = url(prom_port,
      "/api/v1/query?query=sluice_input_received_records_total%7Bplugin_id%3D%22in_lines%22%7D");
  net::HttpClient client;
  std::string answer;
  bool found = waitFor(
      [&] {
        answer = httpGet(client, query).body;
        return answer.find("\"job\":\"sluice\"") != std::string::npos &&
               answer.find(",\"250\"]") != std::string::npos;
      },
      std::chrono::seconds(90));
  EXPECT_TRUE(found) << "last answer: " << answer << "\nprometheus log:\n"
                     << readFile(dir.file("prometheus.log"));
  EXPECT_NE(answer.find("\"type\":\"tail\""), std::string::npos) << answer;
  // The target is up in Prometheus' own view.
  std::string up = httpGet(client, url(prom_port, "/api/v1/query?query=up%7Bjob%3D%22sluice%22%7D")).body;
  EXPECT_NE(up.find(",\"1\"]"), std::string::npos) << up;
}

}  // namespace
}  // namespace sluice
