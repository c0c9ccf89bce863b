// SPDX-License-Identifier: Apache-2.0
// Every metric name that packaging/prometheus/sluice-rules.yml and
// packaging/grafana/sluice-dashboard.json mention is exported by a running sluice whose
// pipeline has the plugins they are about (tail, a filter, a buffered elasticsearch output).

#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <set>
#include <sstream>

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

std::set<std::string> namesIn(const std::string& text) {
  static const std::regex kMetric(R"(\b((sluice|process|fluentd)_[a-z0-9_]+)\b)");
  std::set<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kMetric); it != std::sregex_iterator(); ++it) {
    out.insert((*it)[1]);
  }
  return out;
}

TEST(PackagingMetricsTest, RulesAndDashboardReferenceOnlyExportedMetrics) {
  const std::string rules = readFile(std::string(SLUICE_SOURCE_DIR) + "/packaging/prometheus/sluice-rules.yml");
  const std::string dashboard = readFile(std::string(SLUICE_SOURCE_DIR) + "/packaging/grafana/sluice-dashboard.json");
  ASSERT_FALSE(rules.empty());
  ASSERT_FALSE(dashboard.empty());
  std::set<std::string> wanted = namesIn(rules);
  for (const std::string& n : namesIn(dashboard)) wanted.insert(n);
  ASSERT_GE(wanted.size(), 15u);

  TempDir dir;
  writeFile(dir.file("a.log"), "one\ntwo\n");
  writeFile(dir.file("c.conf"),
            "<system>\n  <monitor>\n    port 0\n  </monitor>\n</system>\n"
            "<source>\n  @type tail\n  @id in_tail\n  path " + dir.file("*.log") + "\n  pos_file " + dir.file("pos") +
            "\n  read_from_head true\n  tag app\n  <parse>\n    @type none\n  </parse>\n</source>\n"
            "<filter app>\n  @type grep\n  <exclude>\n    key message\n    pattern /never/\n  </exclude>\n</filter>\n"
            "<match app>\n  @type elasticsearch\n  @id out_es\n  host 127.0.0.1\n  port 9\n"
            "  verify_es_version_at_startup false\n  <buffer>\n    @type file\n    path " + dir.file("buf") +
            "\n    flush_interval 3600\n  </buffer>\n</match>\n");
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("o"));
  int port = 0;
  ASSERT_TRUE(waitFor([&] { return (port = testing::loggedPort(dir.file("o.err"))) > 0; })) << readFile(dir.file("o.err"));
  net::HttpClient client;
  std::string body;
  ASSERT_TRUE(waitFor([&] {
    body = httpGet(client, "http://127.0.0.1:" + std::to_string(port) + "/metrics").body;
    return body.find("sluice_input_received_records_total{plugin_id=\"in_tail\",type=\"tail\"} 2\n") != std::string::npos;
  })) << body;
  // The names of the samples served, and of their families (a histogram's).
  std::set<std::string> served;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) {
      served.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    served.insert(line.substr(0, line.find_first_of("{ ")));
  }
  for (const std::string& name : wanted) {
    EXPECT_TRUE(served.count(name)) << name << " is referenced by the rules or the dashboard but sluice does not export it";
  }
  p.signal(SIGKILL);
}

}  // namespace
}  // namespace sluice
