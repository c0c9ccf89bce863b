// SPDX-License-Identifier: Apache-2.0
// The http and syslog inputs in a real sluice process: ports chosen by the system (read back
// from the log), events sent by libcurl and by util-linux's logger, delivered through a buffer
// to a file once each; SIGTERM delivers what was accepted.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <regex>
#include <string>

#include "net/http_client.h"
#include "support/http_server.h"
#include "support/test_support.h"

namespace sluice {
namespace {

using testing::readFile;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;

// The port an input logged ("Listening on 127.0.0.1:PORT (kind)"), or -1.
int loggedPort(const std::string& log, const std::string& id, const std::string& kind) {
  std::smatch m;
  std::regex re(":" + id + "\\] Listening on 127\\.0\\.0\\.1:([0-9]+) \\(" + kind + "\\)");
  if (!std::regex_search(log, m, re)) return -1;
  return std::stoi(m[1]);
}

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(needle, at)) != std::string::npos; at += needle.size()) ++n;
  return n;
}

TEST(NetworkInputsProcessTest, HttpAndSyslogEventsReachTheFileOnce) {
  TempDir dir;
  const std::string out = dir.file("out.jsonl");
  testing::writeFile(dir.file("c.conf"),
                     "<source>\n @type http\n @id web\n port 0\n bind 127.0.0.1\n</source>\n"
                     "<source>\n @type syslog\n @id sys_tcp\n tag system\n port 0\n bind 127.0.0.1\n"
                     " frame_type octet_count\n <transport tcp>\n </transport>\n <parse>\n  message_format auto\n </parse>\n</source>\n"
                     "<source>\n @type syslog\n @id sys_udp\n tag system\n port 0\n bind 127.0.0.1\n severity_key severity\n</source>\n"
                     "<match {app,system}.**>\n @type file\n path " + out + "\n <buffer>\n  @type memory\n  flush_interval 0.1\n"
                     "  overflow_action block\n </buffer>\n</match>\n");
  SluiceProcess p({"-c", dir.file("c.conf"), "--log-level", "info"}, dir.file("stdout"));
  int http = -1, tcp = -1, udp = -1;
  ASSERT_TRUE(waitFor([&] {
    std::string log = readFile(dir.file("stdout.err"));
    http = loggedPort(log, "web", "http");
    tcp = loggedPort(log, "sys_tcp", "tcp");
    udp = loggedPort(log, "sys_udp", "udp");
    return http > 0 && tcp > 0 && udp > 0;
  })) << readFile(dir.file("stdout.err"));

  net::HttpClient client;
  const std::string url = "http://127.0.0.1:" + std::to_string(http) + "/app.web";
  for (int i = 0; i < 50; ++i) {
    std::string body = "[";
    for (int j = 0; j < 20; ++j) body += std::string(j ? "," : "") + "{\"n\":" + std::to_string(i * 20 + j) + "}";
    body += "]";
    ASSERT_EQ(testing::httpPost(client, url, body, {"Content-Type: application/json"}).status, 200);
  }
  const bool have_logger = ::access("/usr/bin/logger", X_OK) == 0;
  if (have_logger) {
    ASSERT_EQ(std::system(("/usr/bin/logger -T --octet-count --rfc5424 -p daemon.notice -t app5424 -n 127.0.0.1 -P " +
                           std::to_string(tcp) + " 'over tcp' 2>&1").c_str()),
              0);
    ASSERT_EQ(std::system(("/usr/bin/logger -d --rfc3164 -p local0.err -t app3164 -n 127.0.0.1 -P " +
                           std::to_string(udp) + " 'over udp' 2>&1").c_str()),
              0);
  }
  const size_t expected = 1000 + (have_logger ? 2 : 0);
  ASSERT_TRUE(waitFor([&] {
    std::string text = readFile(out);
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) >= expected;
  }, std::chrono::seconds(30))) << readFile(dir.file("stdout.err"));
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0);
  std::string text = readFile(out);
  EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), expected);
  for (int n = 0; n < 1000; n += 97) EXPECT_EQ(countOf(text, "{\"n\":" + std::to_string(n) + "}"), 1u) << n;
  if (have_logger) {
    EXPECT_EQ(countOf(text, "\"message\":\"over tcp\""), 1u) << text.substr(text.size() > 500 ? text.size() - 500 : 0);
    EXPECT_EQ(countOf(text, "\"message\":\"over udp\",\"severity\":\"err\""), 1u);
  }
}

}  // namespace
}  // namespace sluice
