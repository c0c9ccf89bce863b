// SPDX-License-Identifier: Apache-2.0
// Reload in a real sluice process: SIGHUP, SIGUSR2 and POST /api/config.reload read the config
// file again. A good config replaces the pipeline (its new filter takes effect), a bad one is
// rejected and the running pipeline goes on, and a reload in the middle of a stream of
// numbered lines through a buffer loses and repeats none of them (counted in the
// Elasticsearch stand-in, which keeps every document it is sent).

#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <simdjson.h>

#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include "net/http_client.h"
#include "standins/elasticsearch.h"
#include "support/http_server.h"
#include "support/files.h"
#include "support/test_support.h"
#include "monitor/monitor_support.h"

namespace sluice {
namespace {

using testing::ElasticsearchStandIn;
using testing::appendFile;
using testing::httpGet;
using testing::readFile;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;
using testing::writeFile;
using testing::localUrl;
using testing::loggedPort;


// POST /api/config.reload to the sluice whose monitor listens on `port`.
net::HttpResponse postReload(net::HttpClient& client, int port) {
  const std::string url = localUrl(port, "/api/config.reload");  // the request holds a view of it
  net::HttpRequest req;
  req.method = "POST";
  req.url = url;
  net::HttpResponse r;
  client.send(req, r);
  return r;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// Tails `lines.log` into stdout (`time tag: {"message":...}` lines), with `filters` between.
std::string stdoutConfig(const TempDir& dir, const std::string& filters, bool reload_api = false) {
  return "<system>\n  <monitor>\n    port 0\n    enable_reload " + std::string(reload_api ? "true" : "false") +
         "\n  </monitor>\n</system>\n"
         "<source>\n  @type tail\n  @id in_lines\n  path " + dir.file("lines.log") +
         "\n  pos_file " + dir.file("lines.pos") +
         "\n  read_from_head true\n  tag lines\n  <parse>\n    @type none\n  </parse>\n</source>\n" +
         filters + "<match **>\n  @type stdout\n  @id out_stdout\n</match>\n";
}

const char* kDropFilter =
    "<filter lines>\n  @type grep\n  @id drop\n  <exclude>\n    key message\n    pattern /drop/\n"
    "  </exclude>\n</filter>\n";

class ReloadTest : public ::testing::TestWithParam<int> {};

// SIGHUP and SIGUSR2 (Fluentd's reload signal) both reload.
TEST_P(ReloadTest, AGoodConfigReplacesThePipeline) {
  const int sig = GetParam();
  TempDir dir;
  writeFile(dir.file("lines.log"), "keep 0\ndrop 0\n");
  writeFile(dir.file("c.conf"), stdoutConfig(dir, ""));
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("out"));
  const std::string err = dir.file("out.err");
  ASSERT_TRUE(waitFor([&] { return readFile(dir.file("out")).find("drop 0") != std::string::npos; }))
      << readFile(err);

  writeFile(dir.file("c.conf"), stdoutConfig(dir, kDropFilter));
  p.signal(sig);
  ASSERT_TRUE(waitFor([&] { return readFile(err).find("Reloaded (reload 1).") != std::string::npos; }, std::chrono::seconds(30)))
      << readFile(err);
  EXPECT_NE(readFile(err).find(sig == SIGHUP ? "Received SIGHUP: reloading" : "Received SIGUSR2: reloading"),
            std::string::npos);
  appendFile(dir.file("lines.log"), "drop 1\nkeep 1\n");
  ASSERT_TRUE(waitFor([&] { return readFile(dir.file("out")).find("keep 1") != std::string::npos; }))
      << readFile(err);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << readFile(err);
  std::string out = readFile(dir.file("out"));
  EXPECT_EQ(out.find("drop 1"), std::string::npos) << out;  // the new filter took effect
  // Nothing read before the reload was read again from the pos_file's position.
  EXPECT_EQ(occurrences(out, "keep 0"), 1u) << out;
  EXPECT_EQ(occurrences(out, "drop 0"), 1u) << out;
  EXPECT_EQ(occurrences(out, "keep 1"), 1u) << out;
}

INSTANTIATE_TEST_SUITE_P(Signals, ReloadTest, ::testing::Values(SIGHUP, SIGUSR2),
                         [](const auto& info) { return std::string(info.param == SIGHUP ? "Sighup" : "Sigusr2"); });

TEST(ReloadProcessTest, ABadConfigIsRejectedAndTheRunningPipelineGoesOn) {
  TempDir dir;
  writeFile(dir.file("lines.log"), "keep 0\ndrop 0\n");
  writeFile(dir.file("c.conf"), stdoutConfig(dir, kDropFilter, true));
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("out"));
  const std::string err = dir.file("out.err");
  ASSERT_TRUE(waitFor([&] { return readFile(dir.file("out")).find("keep 0") != std::string::npos; }))
      << readFile(err);
  int port = 0;
  ASSERT_TRUE(waitFor([&] { return (port = loggedPort(err)) > 0; })) << readFile(err);

  // A plugin that does not exist, then a file that does not parse: both rejected.
  writeFile(dir.file("c.conf"), stdoutConfig(dir, "<filter **>\n  @type no_such_filter\n</filter>\n", true));
  p.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return readFile(err).find("Reload rejected") != std::string::npos; }, std::chrono::seconds(30)))
      << readFile(err);
  EXPECT_NE(readFile(err).find("no_such_filter"), std::string::npos) << readFile(err);

  writeFile(dir.file("c.conf"), "<source>\n  @type tail\n");  // unterminated
  net::HttpClient client;
  net::HttpResponse r = postReload(client, port);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_NE(r.body.find("\"ok\":false"), std::string::npos) << r.body;

  // The old pipeline, with its filter, still runs.
  appendFile(dir.file("lines.log"), "drop 1\nkeep 1\n");
  ASSERT_TRUE(waitFor([&] { return readFile(dir.file("out")).find("keep 1") != std::string::npos; }))
      << readFile(err);
  EXPECT_EQ(readFile(dir.file("out")).find("drop"), std::string::npos);
  std::string metrics = httpGet(client, localUrl(port, "/metrics")).body;
  EXPECT_NE(metrics.find("sluice_config_reloads_total{result=\"rejected\"} 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("sluice_config_reloads_total{result=\"ok\"} 0\n"), std::string::npos) << metrics;

  // A good config over HTTP: the filter is gone.
  writeFile(dir.file("c.conf"), stdoutConfig(dir, "", true));
  r = postReload(client, port);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"ok\":true}\n");
  appendFile(dir.file("lines.log"), "drop 2\n");
  ASSERT_TRUE(waitFor([&] { return readFile(dir.file("out")).find("drop 2") != std::string::npos; }))
      << readFile(err);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << readFile(err);
  EXPECT_EQ(occurrences(readFile(dir.file("out")), "keep 0"), 1u);
}

TEST(ReloadProcessTest, ReloadOverHttpIsOffUnlessEnabled) {
  TempDir dir;
  writeFile(dir.file("lines.log"), "one\n");
  writeFile(dir.file("c.conf"), stdoutConfig(dir, ""));
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("out"));
  int port = 0;
  ASSERT_TRUE(waitFor([&] { return (port = loggedPort(dir.file("out.err"))) > 0; }));
  net::HttpClient client;
  net::HttpResponse r = postReload(client, port);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body.find("enable_reload true"), std::string::npos) << r.body;
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0);
  EXPECT_EQ(readFile(dir.file("out.err")).find("Reloaded"), std::string::npos);
}

// A new config that loads but cannot start (its file output's folder cannot be made: a file
// is in the way): the previous configuration starts again, with its filter, and goes on from
// where it was.
TEST(ReloadProcessTest, ANewConfigThatCannotStartGivesWayToThePreviousOne) {
  TempDir dir;
  writeFile(dir.file("lines.log"), "keep 0\ndrop 0\n");
  writeFile(dir.file("afile"), "in the way\n");
  writeFile(dir.file("c.conf"), stdoutConfig(dir, kDropFilter));
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("out"));
  const std::string err = dir.file("out.err");
  ASSERT_TRUE(waitFor([&] { return readFile(dir.file("out")).find("keep 0") != std::string::npos; }))
      << readFile(err);
  int port = 0;
  ASSERT_TRUE(waitFor([&] { return (port = loggedPort(err)) > 0; })) << readFile(err);

  writeFile(dir.file("c.conf"), stdoutConfig(dir, "<match never.matched>\n  @type file\n  path " +
                                                      dir.file("afile") + "/sub/out\n</match>\n"));
  p.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return readFile(err).find("the new configuration did not start") != std::string::npos; },
                      std::chrono::seconds(30)))
      << readFile(err);
  EXPECT_NE(readFile(err).find("Not a directory"), std::string::npos) << readFile(err);

  appendFile(dir.file("lines.log"), "drop 1\nkeep 1\n");
  ASSERT_TRUE(waitFor([&] { return readFile(dir.file("out")).find("keep 1") != std::string::npos; }))
      << readFile(err);
  net::HttpClient client;
  std::string metrics = httpGet(client, localUrl(port, "/metrics")).body;
  EXPECT_NE(metrics.find("sluice_config_reloads_total{result=\"failed\"} 1\n"), std::string::npos) << metrics;
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << readFile(err);
  const std::string out = readFile(dir.file("out"));
  EXPECT_EQ(out.find("drop"), std::string::npos) << out;  // the previous filter is back
  EXPECT_EQ(occurrences(out, "keep 0"), 1u) << out;      // and went on from its position
}

// Quick mode has no file to read again: SIGHUP is a warning, not a failed reload, and the
// stream goes on.
TEST(ReloadProcessTest, QuickModeIgnoresSighup) {
  TempDir dir;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  SluiceProcess p({"--log-level", "info"}, dir.file("out"), [&] { ::dup2(fds[0], 0); });
  ::close(fds[0]);
  const std::string err = dir.file("out.err");
  auto send = [&](std::string_view line) { ASSERT_EQ(::write(fds[1], line.data(), line.size()), static_cast<ssize_t>(line.size())); };
  send("one\n");
  ASSERT_TRUE(waitFor([&] { return readFile(dir.file("out")).find("one") != std::string::npos; })) << readFile(err);
  p.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return readFile(err).find("Received SIGHUP: ignored") != std::string::npos; }))
      << readFile(err);
  send("two\n");
  ASSERT_TRUE(waitFor([&] { return readFile(dir.file("out")).find("two") != std::string::npos; })) << readFile(err);
  ::close(fds[1]);  // stdin ends: sluice finishes
  EXPECT_EQ(p.wait(), 0) << readFile(err);
  EXPECT_EQ(readFile(err).find(" error "), std::string::npos) << readFile(err);
}

// Numbered lines are written while sluice reloads three times; every one reaches the
// Elasticsearch stand-in exactly once.
class ReloadStreamTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ReloadStreamTest, AReloadMidStreamLosesAndRepeatsNothing) {
  const std::string buffer_type = GetParam();
  ElasticsearchStandIn es(ElasticsearchStandIn::Flavor::Es8);
  ASSERT_TRUE(es.start());
  TempDir dir;
  constexpr int kLines = 30000;
  constexpr int kSlices = 60;
  auto config = [&](int generation) {
    return "<system>\n  <monitor>\n    port 0\n  </monitor>\n</system>\n"
           "<source>\n  @type tail\n  @id in_app\n  path " + dir.file("app.log") + "\n  pos_file " +
           dir.file("app.pos") +
           "\n  tag app\n  read_from_head true\n  <parse>\n    @type json\n  </parse>\n</source>\n"
           "<filter app>\n  @type record_transformer\n  @id mark\n  <record>\n    generation " +
           std::to_string(generation) + "\n  </record>\n</filter>\n"
           "<match app>\n  @type elasticsearch\n  @id out_es\n  host 127.0.0.1\n  port " +
           std::to_string(es.port()) + "\n  index_name reload\n  <buffer>\n    @type " + buffer_type +
           (buffer_type == "file" ? "\n    path " + dir.file("buf") : std::string()) +
           "\n    flush_mode interval\n    flush_interval 0.1\n    chunk_limit_size 16k\n"
           "    retry_wait 0.05\n    retry_max_interval 0.5\n    retry_forever\n  </buffer>\n</match>\n";
  };
  writeFile(dir.file("app.log"), "");
  writeFile(dir.file("c.conf"), config(0));
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("out"));
  const std::string err = dir.file("out.err");
  ASSERT_TRUE(waitFor([&] { return readFile(err).find("Started: 1 inputs") != std::string::npos; }))
      << readFile(err);

  // The writer holds before the second, third and last quarter of the lines until the next
  // reload has been signalled, so each reload comes with lines still being written however
  // slow the machine is (a timed writer finished before the last reload on a busy one).
  std::atomic<int> written{0};
  std::atomic<int> signalled{0};
  std::atomic<int> reloaded{0};
  std::thread writer([&] {
    std::ofstream f(dir.file("app.log"), std::ios::app);
    for (int slice = 0; slice < kSlices; ++slice) {
      const int quarter = slice / (kSlices / 4);
      waitFor([&] { return signalled >= quarter; }, std::chrono::seconds(120));
      // The last slice only once the last reload is done: the new pipeline must see lines.
      if (slice == kSlices - 1) waitFor([&] { return reloaded >= 3; }, std::chrono::seconds(120));
      for (int i = slice * (kLines / kSlices); i < (slice + 1) * (kLines / kSlices); ++i) {
        f << "{\"n\":" << i << ",\"msg\":\"request served\"}\n";
      }
      f.flush();
      written = (slice + 1) * (kLines / kSlices);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a stream, not one write
    }
  });
  for (int generation = 1; generation <= 3; ++generation) {
    // Each reload after some of the lines before it were delivered (or all of them, when the
    // writer is holding for this reload), while the writer goes on.
    const size_t before = es.documentCount();
    EXPECT_TRUE(waitFor([&] {
      const size_t stored = es.documentCount();
      return stored > before || (written > 0 && stored >= size_t(written.load()));
    }, std::chrono::seconds(30)))
        << "reload " << generation << ", " << before << " stored\n" << readFile(err);
    writeFile(dir.file("c.conf"), config(generation));
    p.signal(SIGHUP);
    signalled = generation;
    const std::string done = "Reloaded (reload " + std::to_string(generation) + ").";
    EXPECT_TRUE(waitFor([&] { return readFile(err).find(done) != std::string::npos; }, std::chrono::seconds(60)))
        << readFile(err);
    reloaded = generation;
  }
  writer.join();
  ASSERT_TRUE(waitFor([&] { return es.documentCount() >= size_t(kLines); }, std::chrono::seconds(60)))
      << es.documentCount() << " stored\n" << readFile(err);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << readFile(err);

  std::map<int64_t, int> seen;
  std::map<int64_t, int> generations;
  simdjson::dom::parser parser;
  for (const auto& doc : es.documents("reload")) {
    int64_t n = -1;
    ASSERT_EQ(parser.parse(doc.source).at_key("n").get_int64().get(n), simdjson::SUCCESS) << doc.source;
    ++seen[n];
    std::string_view g;
    if (parser.parse(doc.source).at_key("generation").get_string().get(g) == simdjson::SUCCESS) {
      ++generations[std::atoi(std::string(g).c_str())];
    }
  }
  EXPECT_EQ(es.conflicts(), 0);
  EXPECT_EQ(seen.size(), size_t(kLines));
  EXPECT_EQ(es.documentCount(), size_t(kLines));
  for (const auto& [n, times] : seen) ASSERT_EQ(times, 1) << "line " << n << " stored " << times << " times";
  // Events went through more than one generation's pipeline.
  EXPECT_GE(generations.size(), 2u);
  EXPECT_GT(generations[3], 0);
}

INSTANTIATE_TEST_SUITE_P(Buffers, ReloadStreamTest, ::testing::Values("file", "memory"));

}  // namespace
}  // namespace sluice
