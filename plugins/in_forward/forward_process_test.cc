// SPDX-License-Identifier: Apache-2.0
// The forward plugins in real sluice processes: a real Forward client (the npm package
// fluent-logger) sending to in_forward, and sluice -> sluice over forward with acks, TLS and a
// shared key while the receiver and then the sender are killed with SIGKILL.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "support/http_server.h"
#include "support/test_support.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;
using testing::readFile;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;
using testing::writeFile;

// The port a sluice process's in_forward listens on, from its log.
int listeningPort(const std::string& err_path) {
  int port = 0;
  const std::regex re("Listening on 127\\.0\\.0\\.1:([0-9]+)");
  waitFor([&] {
    std::smatch m;
    std::string log = readFile(err_path);
    if (!std::regex_search(log, m, re)) return false;
    port = std::stoi(m[1]);
    return true;
  });
  return port;
}

// How often each value of "n" appears in a file of JSON lines.
std::map<long, int> countNumbers(const std::string& path) {
  std::map<long, int> seen;
  std::string text = readFile(path);
  size_t pos = 0;
  while ((pos = text.find("\"n\":", pos)) != std::string::npos) {
    pos += 4;
    ++seen[std::strtol(text.c_str() + pos, nullptr, 10)];
  }
  return seen;
}

size_t lineCount(const std::string& path) {
  std::string t = readFile(path);
  return static_cast<size_t>(std::count(t.begin(), t.end(), '\n'));
}

std::string interopDir() { return std::string(SLUICE_SOURCE_DIR) + "/tests/forward"; }

int runNode(const std::vector<std::string>& args, std::string& err) {
  std::string cmd = "node " + interopDir() + "/interop.js";
  for (const std::string& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512];
  while (fgets(buf, sizeof(buf), p) != nullptr) err += buf;
  int rc = ::pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(ForwardProcessTest, FluentLoggerEventsArriveOnceInEveryMode) {
  if (!fs::exists(interopDir() + "/node_modules/fluent-logger/package.json") || ::system("node --version >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "node or the pinned fluent-logger (scripts/setup.sh) is missing";
  }
  TempDir dir;
  writeFile(dir.file("rx.conf"),
            "<source>\n @type forward\n @id secured\n bind 127.0.0.1\n port 0\n"
            " <security>\n  self_hostname aggregator\n  shared_key k3y\n  allow_anonymous_source true\n </security>\n"
            "</source>\n"
            "<source>\n @type forward\n @id plain\n bind 127.0.0.1\n port 0\n</source>\n"
            "<match **>\n @type file\n path " + dir.file("out.jsonl") + "\n</match>\n");
  SluiceProcess rx({"-c", dir.file("rx.conf")}, dir.file("rx.out"));
  int secured = 0, plain = 0;
  ASSERT_TRUE(waitFor([&] {
    std::string log = readFile(dir.file("rx.out.err"));
    std::smatch m;
    if (std::regex_search(log, m, std::regex("\\[in:forward:secured\\] Listening on 127\\.0\\.0\\.1:([0-9]+)"))) secured = std::stoi(m[1]);
    if (std::regex_search(log, m, std::regex("\\[in:forward:plain\\] Listening on 127\\.0\\.0\\.1:([0-9]+)"))) plain = std::stoi(m[1]);
    return secured > 0 && plain > 0;
  })) << readFile(dir.file("rx.out.err"));
  constexpr int kCount = 500;
  size_t expected = 0;
  for (const char* mode : {"Message", "PackedForward", "CompressedPackedForward"}) {
    for (const char* ack : {"0", "1"}) {
      for (bool keyed : {false, true}) {
        std::string err;
        std::vector<std::string> args = {std::to_string(keyed ? secured : plain), std::to_string(kCount), mode, ack};
        if (keyed) args.push_back("k3y");
        ASSERT_EQ(runNode(args, err), 0) << mode << " ack=" << ack << " keyed=" << keyed << "\n" << err;
        expected += kCount;
        ASSERT_TRUE(waitFor([&] { return lineCount(dir.file("out.jsonl")) >= expected; }))
            << mode << " ack=" << ack << " keyed=" << keyed << ": " << lineCount(dir.file("out.jsonl")) << " of " << expected;
      }
    }
  }
  // A wrong key is refused with the reason.
  std::string err;
  EXPECT_NE(runNode({std::to_string(secured), "1", "Message", "1", "wrong"}, err), 0);
  EXPECT_NE(readFile(dir.file("rx.out.err")).find("shared_key mismatch"), std::string::npos);
  rx.signal(SIGTERM);
  EXPECT_EQ(rx.wait(), 0);
  // Every (mode, n) once per run of that mode: 4 runs each.
  std::map<std::string, int> seen;
  std::string text = readFile(dir.file("out.jsonl"));
  const std::regex line_re("\\{\"n\":([0-9]+),\"mode\":\"([A-Za-z]+)\"\\}");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line_re); it != std::sregex_iterator(); ++it) {
    ++seen[(*it)[2].str() + ":" + (*it)[1].str()];
  }
  EXPECT_EQ(seen.size(), 3u * kCount);
  for (const auto& [key, times] : seen) ASSERT_EQ(times, 4) << key;
}

// sluice (tail -> forward, file buffer) -> sluice (forward -> file, file buffer) with acks, TLS
// and a shared key. The receiver is killed with SIGKILL mid-stream and started again, then the
// sender: every line arrives once.
TEST(ForwardProcessTest, SluiceToSluiceSurvivesSigkillOfReceiverThenSender) {
  TempDir dir;
  fs::create_directories(dir.file("ca"));
  testing::TestCa ca(dir.file("ca"));
  if (!ca.ok()) GTEST_SKIP() << ca.error();
  constexpr int kLines = 100000;
  {
    std::string lines;
    lines.reserve(kLines * 240);
    const std::string pad(200, 'x');
    for (int i = 0; i < kLines; ++i) lines += "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + pad + "\"}\n";
    writeFile(dir.file("in.log"), lines);
  }
  auto receiverConf = [&](int port) {
    return "<source>\n @type forward\n bind 127.0.0.1\n port " + std::to_string(port) + "\n chunk_id_path " +
           dir.file("rx-ids") + "\n <transport tls>\n  cert_path " + ca.serverCert() + "\n  private_key_path " +
           ca.serverKey() + "\n </transport>\n <security>\n  self_hostname aggregator\n  shared_key s3cret\n </security>\n"
           "</source>\n<match **>\n @type file\n path " + dir.file("final.jsonl") + "\n"
           " <buffer>\n  @type file\n  path " + dir.file("rx-buf") + "\n  flush_mode interval\n  flush_interval 0.2\n"
           "  retry_wait 0.1\n </buffer>\n</match>\n";
  };
  writeFile(dir.file("rx.conf"), receiverConf(0));
  auto rx = std::make_unique<SluiceProcess>(std::vector<std::string>{"-c", dir.file("rx.conf")}, dir.file("rx.out"));
  const int port = listeningPort(dir.file("rx.out.err"));
  ASSERT_GT(port, 0) << readFile(dir.file("rx.out.err"));
  writeFile(dir.file("rx.conf"), receiverConf(port));  // restarts listen on the same port
  writeFile(dir.file("tx.conf"),
            "<source>\n @type tail\n path " + dir.file("in.log") + "\n pos_file " + dir.file("tx.pos") +
                "\n tag numbers\n read_from_head true\n <parse>\n  @type json\n </parse>\n</source>\n"
                "<match numbers>\n @type forward\n require_ack_response true\n ack_response_timeout 5\n"
                " recover_wait 0.3\n transport tls\n tls_cert_path " + ca.caCert() + "\n keepalive true\n compress gzip\n"
                " <security>\n  self_hostname node-1\n  shared_key s3cret\n </security>\n"
                " <server>\n  host 127.0.0.1\n  port " + std::to_string(port) + "\n </server>\n"
                " <buffer>\n  @type file\n  path " + dir.file("tx-buf") + "\n  chunk_limit_size 16k\n"
                "  flush_mode interval\n  flush_interval 0.1\n  flush_thread_count 1\n  retry_wait 0.2\n"
                "  retry_max_interval 1\n  retry_forever true\n </buffer>\n</match>\n");
  auto tx = std::make_unique<SluiceProcess>(std::vector<std::string>{"-c", dir.file("tx.conf")}, dir.file("tx.out"));
  const std::string final_path = dir.file("final.jsonl");
  // The receiver appends each chunk id it accepted to rx-ids: the kills follow its progress.
  const std::string ids = dir.file("rx-ids");
  ASSERT_TRUE(waitFor([&] { return lineCount(ids) >= 200; }, std::chrono::seconds(120)))
      << readFile(dir.file("tx.out.err")) << readFile(dir.file("rx.out.err"));
  rx->signal(SIGKILL);
  rx->wait();
  EXPECT_LT(lineCount(final_path), static_cast<size_t>(kLines));
  rx = std::make_unique<SluiceProcess>(std::vector<std::string>{"-c", dir.file("rx.conf")}, dir.file("rx2.out"));
  // The sender's own restart must read nothing twice: its position is at the end of the file.
  char offset[40];
  std::snprintf(offset, sizeof(offset), "\t%016llx\t", static_cast<unsigned long long>(fs::file_size(dir.file("in.log"))));
  ASSERT_TRUE(waitFor([&] { return readFile(dir.file("tx.pos")).find(offset) != std::string::npos; },
                      std::chrono::seconds(120)))
      << readFile(dir.file("tx.pos"));
  // Delivery has resumed (a few chunks accepted since the receiver's restart): the sender is
  // killed while most of what it holds is still to send. (Waiting for hundreds of chunks let a
  // fast run deliver everything before the kill, and the check after it then failed.)
  const size_t ids_before = lineCount(ids);
  ASSERT_TRUE(waitFor([&] { return lineCount(ids) >= ids_before + 10; }, std::chrono::seconds(120)))
      << readFile(dir.file("tx.out.err")) << readFile(dir.file("rx2.out.err"));
  tx->signal(SIGKILL);
  tx->wait();
  EXPECT_LT(lineCount(final_path), static_cast<size_t>(kLines));
  tx = std::make_unique<SluiceProcess>(std::vector<std::string>{"-c", dir.file("tx.conf")}, dir.file("tx2.out"));
  ASSERT_TRUE(waitFor([&] { return lineCount(final_path) >= static_cast<size_t>(kLines); }, std::chrono::seconds(180)))
      << lineCount(final_path) << "\n" << readFile(dir.file("tx2.out.err")) << readFile(dir.file("rx2.out.err"));
  // Everything the sender held is delivered: stop both and look for late duplicates.
  tx->signal(SIGTERM);
  EXPECT_EQ(tx->wait(), 0);
  rx->signal(SIGTERM);
  EXPECT_EQ(rx->wait(), 0);
  std::map<long, int> seen = countNumbers(final_path);
  size_t lost = 0, duplicated = 0;
  for (int i = 0; i < kLines; ++i) {
    auto it = seen.find(i);
    if (it == seen.end()) {
      ++lost;
    } else if (it->second > 1) {
      duplicated += static_cast<size_t>(it->second - 1);
    }
  }
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kLines));
  std::string rx_log = readFile(dir.file("rx2.out.err"));
  EXPECT_EQ(rx_log.find("shared_key mismatch"), std::string::npos) << rx_log;
}

}  // namespace
}  // namespace sluice
