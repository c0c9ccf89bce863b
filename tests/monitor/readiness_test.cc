// SPDX-License-Identifier: Apache-2.0
// /readyz with <monitor> ready_max_failing_seconds: not ready while an output's writes have
// failed for longer than that (Elasticsearch on a port nothing listens on), ready otherwise.

#include <gtest/gtest.h>
#include <signal.h>

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
using testing::unusedPort;
using testing::loggedPort;

TEST(ReadinessTest, NotReadyWhileAnOutputKeepsFailing) {
  TempDir dir;
  writeFile(dir.file("lines.log"), "");
  writeFile(dir.file("c.conf"),
            "<system>\n  <monitor>\n    port 0\n    ready_max_failing_seconds 1\n  </monitor>\n</system>\n"
            "<source>\n  @type tail\n  @id in_lines\n  path " + dir.file("lines.log") + "\n  pos_file " +
            dir.file("lines.pos") + "\n  read_from_head true\n  tag lines\n  <parse>\n    @type none\n  </parse>\n</source>\n"
            "<match **>\n  @type elasticsearch\n  @id out_es\n  host 127.0.0.1\n  port " + std::to_string(unusedPort()) +
            "\n  verify_es_version_at_startup false\n  <buffer>\n    flush_mode interval\n    flush_interval 0.1\n"
            "    retry_wait 0.1\n    retry_max_interval 0.2\n    retry_forever\n  </buffer>\n</match>\n");
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("o"));
  int port = 0;
  ASSERT_TRUE(waitFor([&] { return (port = loggedPort(dir.file("o.err"))) > 0; })) << readFile(dir.file("o.err"));
  const std::string readyz = "http://127.0.0.1:" + std::to_string(port) + "/readyz";
  net::HttpClient client;
  // Nothing to send yet: ready.
  ASSERT_TRUE(waitFor([&] { return httpGet(client, readyz).status == 200; }));
  writeFile(dir.file("lines.log"), "one\ntwo\n");
  net::HttpResponse r;
  ASSERT_TRUE(waitFor([&] {
    r = httpGet(client, readyz);
    return r.status == 503 && r.body.find("output out_es has failed to write for") != std::string::npos;
  }, std::chrono::seconds(30))) << r.status << " " << r.body;
  EXPECT_EQ(httpGet(client, "http://127.0.0.1:" + std::to_string(port) + "/healthz").status, 200);
  p.signal(SIGKILL);
}

}  // namespace
}  // namespace sluice
