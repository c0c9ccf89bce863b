// SPDX-License-Identifier: Apache-2.0
// `sluice top`, `sluice tap` and quick mode's `--stats`, each run as the real binary against a
// real sluice process (a tail through a redact filter into stdout).

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "net/http_client.h"
#include "support/http_server.h"
#include "support/files.h"
#include "support/test_support.h"
#include "monitor/monitor_support.h"

namespace sluice {
namespace {

using testing::appendFile;
using testing::httpGet;
using testing::readFile;
using testing::runSluice;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;
using testing::writeFile;


size_t countLines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

// A running sluice: app.log (JSON lines) -> redact (key password) -> stdout.
class Running {
 public:
  explicit Running(bool tap) {
    writeFile(dir.file("app.log"), "");
    writeFile(dir.file("c.conf"),
              "<system>\n  <monitor>\n    port 0\n    enable_tap " + std::string(tap ? "true" : "false") +
                  "\n  </monitor>\n</system>\n"
                  "<source>\n  @type tail\n  @id in_app\n  path " + dir.file("app.log") + "\n  pos_file " +
                  dir.file("app.pos") + "\n  read_from_head true\n  tag app.web\n  <parse>\n    @type json\n  </parse>\n</source>\n"
                  "<filter app.**>\n  @type redact\n  @id hide\n</filter>\n"
                  "<match app.**>\n  @type stdout\n  @id out\n</match>\n");
    process = std::make_unique<SluiceProcess>(std::vector<std::string>{"-c", dir.file("c.conf"), "--log-level", "info"},
                                              dir.file("out"));
    waitFor([&] {
      std::string err = readFile(dir.file("out.err"));
      port = testing::loggedPort(dir.file("out.err"));
      return port > 0 && err.find("Started: 1 inputs") != std::string::npos;
    });
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  double metric(const std::string& series) {
    std::string body = httpGet(client, url() + "/metrics").body;
    size_t at = body.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::atof(body.c_str() + at + series.size() + 2);
  }
  void write(int from, int to) {
    std::string lines;
    for (int i = from; i < to; ++i) {
      lines += "{\"n\":" + std::to_string(i) + ",\"user\":\"alice\",\"password\":\"hunter2\"}\n";
    }
    appendFile(dir.file("app.log"), lines);
  }

  TempDir dir;
  std::unique_ptr<SluiceProcess> process;
  int port = 0;
  net::HttpClient client;
};

TEST(TapTest, BeforeTheRedactFilterShowsRedactedRecords) {
  Running s(true);
  ASSERT_GT(s.port, 0) << readFile(s.dir.file("out.err"));
  TempDir t;
  SluiceProcess tap({"tap", "--after", "in_app", "--url", s.url(), "--limit", "3"}, t.file("tap"));
  ASSERT_TRUE(waitFor([&] { return s.metric("sluice_tap_sessions") == 1; })) << readFile(t.file("tap.err"));
  s.write(0, 10);
  EXPECT_EQ(tap.wait(std::chrono::seconds(30)), 0) << readFile(t.file("tap.err"));
  std::string out = readFile(t.file("tap"));
  EXPECT_EQ(countLines(out), 3u) << out;
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  EXPECT_NE(out.find("\"password\":\"[REDACTED]\""), std::string::npos) << out;
  EXPECT_NE(out.find("{\"point\":\"in_app\",\"tag\":\"app.web\",\"time\":\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"user\":\"alice\""), std::string::npos) << out;
  // The pipeline itself went on: every line reached the output, redacted.
  ASSERT_TRUE(waitFor([&] { return countLines(readFile(s.dir.file("out"))) == 10; }));
  EXPECT_EQ(readFile(s.dir.file("out")).find("hunter2"), std::string::npos);
  ASSERT_TRUE(waitFor([&] { return s.metric("sluice_tap_sessions") == 0; }));
}

TEST(TapTest, ATagPatternTapIsRateLimited) {
  Running s(true);
  ASSERT_GT(s.port, 0) << readFile(s.dir.file("out.err"));
  TempDir t;
  SluiceProcess tap({"tap", "app.**", "--url", s.url(), "--rate", "5", "--format", "pretty"}, t.file("tap"));
  ASSERT_TRUE(waitFor([&] { return s.metric("sluice_tap_sessions") == 1; })) << readFile(t.file("tap.err"));
  auto t0 = std::chrono::steady_clock::now();
  constexpr int kLines = 3000;
  s.write(0, kLines);
  ASSERT_TRUE(waitFor([&] { return countLines(readFile(s.dir.file("out"))) == size_t(kLines); }, std::chrono::seconds(60)));
  double tapped = s.metric("sluice_tap_events_total");
  double skipped = s.metric("sluice_tap_skipped_events_total");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Every event reaching the output was considered; at most the bucket's 5 plus 5 a second copied.
  EXPECT_EQ(tapped + skipped, kLines);
  EXPECT_GE(tapped, 1);
  EXPECT_LE(tapped, 5 + 5 * secs + 1);
  ASSERT_TRUE(waitFor([&] { return countLines(readFile(t.file("tap"))) == size_t(tapped); })) << readFile(t.file("tap"));
  std::string out = readFile(t.file("tap"));
  EXPECT_NE(out.find(" app.web: {\"n\":"), std::string::npos) << out;  // the pretty view
  EXPECT_EQ(out.find("hunter2"), std::string::npos) << out;
  tap.signal(SIGTERM);
  tap.wait();
}

TEST(TapTest, OffUnlessEnabled) {
  Running s(false);
  ASSERT_GT(s.port, 0) << readFile(s.dir.file("out.err"));
  auto r = runSluice({"tap", "**", "--url", s.url()}, "", std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("enable_tap true"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(TopTest, ShowsPerPluginRatesOfARunningSluice) {
  Running s(false);
  ASSERT_GT(s.port, 0) << readFile(s.dir.file("out.err"));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; !done; ++i) {
      s.write(i * 50, i * 50 + 50);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a steady rate for top to show
    }
  });
  auto r = runSluice({"top", "--url", s.url(), "--interval", "0.5", "--iterations", "2"}, "", std::chrono::seconds(30));
  done = true;
  writer.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // A plain table per iteration (stdout is not a terminal): no escape sequences.
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  std::istringstream in(r.out);
  int headers = 0;
  double in_rate = 0;
  bool filter = false, output = false;
  for (std::string line; std::getline(in, line);) {
    std::istringstream cols(line);
    std::string id, kind, type;
    double rin = 0, rout = 0;
    cols >> id >> kind >> type >> rin >> rout;
    if (id == "PLUGIN_ID") ++headers;
    if (id == "in_app") {
      EXPECT_EQ(kind, "input");
      EXPECT_EQ(type, "tail");
      in_rate = std::max(in_rate, rin);
    }
    if (id == "hide") filter = kind == "filter" && type == "redact";
    if (id == "out") output = kind == "output" && type == "stdout";
  }
  EXPECT_EQ(headers, 2) << r.out;
  EXPECT_GT(in_rate, 0) << r.out;
  EXPECT_TRUE(filter) << r.out;
  EXPECT_TRUE(output) << r.out;

  auto down = runSluice({"top", "--url", "http://127.0.0.1:1", "--iterations", "1"}, "", std::chrono::seconds(30));
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("cannot read http://127.0.0.1:1/metrics"), std::string::npos) << down.err;
}

TEST(StatsTest, QuickModePrintsTheCountersAtTheEnd) {
  auto r = runSluice({"--stats", "-f", "grep", "-s", "exclude=message:drop"}, "keep 1\ndrop 2\nkeep 3\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("sluice stats:\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sluice_input_received_records_total{plugin_id=\"stdin.0\",type=\"stdin\"} 3\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("sluice_filter_discarded_records_total{plugin_id=\"grep.0\",type=\"grep\",intentional=\"true\"} 1\n"),
            std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("sluice_router_unmatched_records_total"), std::string::npos) << r.err;  // zero: left out
  auto plain = runSluice({}, "keep\n");
  EXPECT_EQ(plain.err.find("sluice stats"), std::string::npos) << plain.err;
}

}  // namespace
}  // namespace sluice
