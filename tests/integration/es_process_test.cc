// SPDX-License-Identifier: Apache-2.0
// The elasticsearch output in a real sluice process: a file tailed through a file buffer to
// the Elasticsearch stand-in while sluice is killed with SIGKILL. Lines read again after a
// restart and chunks sent again get the same document ids, so every line is stored once.

#include <gtest/gtest.h>
#include <signal.h>

#include <simdjson.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "standins/elasticsearch.h"
#include "support/test_support.h"

namespace sluice {
namespace {

using testing::ElasticsearchStandIn;
using testing::SluiceProcess;
using testing::TempDir;
using testing::waitFor;
using testing::writeFile;

// A stop ends as soon as every line read is safe in a buffer: a tail into a file buffer in front
// of an Elasticsearch that answers every bulk request 503. SIGTERM ends sluice at once — no wait
// for acknowledgements nor for retries until the stop's deadline: the file buffer holds it all
// — with every line in the pos_file; the next start, the sink back, stores each line once.
TEST(EsProcessTest, StopWithTheSinkDownEndsAsSoonAsEverythingIsInTheFileBuffer) {
  ElasticsearchStandIn es(ElasticsearchStandIn::Flavor::Es8);
  ASSERT_TRUE(es.start());
  es.failNextBulks(INT_MAX, 503);
  TempDir dir;
  constexpr int kLines = 2000;
  std::filesystem::create_directories(dir.file("in"));
  {
    std::ofstream f(dir.file("in/app.log"));
    for (int i = 0; i < kLines; ++i) f << "{\"n\":" << i << "}\n";
  }
  const auto size = std::filesystem::file_size(dir.file("in/app.log"));
  char hex[32];
  std::snprintf(hex, sizeof(hex), "\t%016llx\t", static_cast<unsigned long long>(size));
  writeFile(dir.file("c.conf"),
            "<source>\n @type tail\n path " + dir.file("in/*.log") + "\n pos_file " + dir.file("tail.pos") +
            "\n tag app\n read_from_head true\n <parse>\n  @type json\n </parse>\n</source>\n"
            "<match app>\n @type elasticsearch\n host 127.0.0.1\n port " + std::to_string(es.port()) +
            "\n index_name stop\n <buffer>\n  @type file\n  path " + dir.file("buf") +
            "\n  flush_interval 0.1\n  retry_wait 1\n  retry_forever\n </buffer>\n</match>\n");
  std::vector<std::string> args{"-c", dir.file("c.conf"), "--log-level", "info"};
  {
    SluiceProcess p(args, dir.file("stdout"));
    // Everything read (the position recorded) and sent at least once (refused: retry in ~1 s).
    ASSERT_TRUE(waitFor([&] {
      return es.bulkRequests() >= 1 && testing::readFile(dir.file("tail.pos")).find(hex) != std::string::npos;
    })) << testing::readFile(dir.file("stdout.err"));
    const auto start = std::chrono::steady_clock::now();
    p.signal(SIGTERM);
    ASSERT_EQ(p.wait(), 0);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, std::chrono::milliseconds(2500)) << testing::readFile(dir.file("stdout.err"));
  }
  EXPECT_EQ(es.documentCount(), 0u);
  es.failNextBulks(0, 503);
  SluiceProcess again(args, dir.file("stdout"));
  ASSERT_TRUE(waitFor([&] { return es.documentCount() >= size_t(kLines); })) << es.documentCount();
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait(), 0);
  EXPECT_EQ(es.documentCount(), size_t(kLines));
}

TEST(EsProcessTest, SigkillNeverDuplicatesOrLosesADocument) {
  ElasticsearchStandIn es(ElasticsearchStandIn::Flavor::Es8);
  ASSERT_TRUE(es.start());
  ElasticsearchStandIn::Faults faults;
  faults.delay_ms = 20;  // deliveries in progress when the kills come
  faults.item_429 = 0.05;
  es.setFaults(faults);
  TempDir dir;
  constexpr int kLines = 20000;
  std::filesystem::create_directories(dir.file("in"));
  {
    std::ofstream f(dir.file("in/app.log"));
    for (int i = 0; i < kLines; ++i) f << "{\"n\":" << i << ",\"msg\":\"request served\"}\n";
  }
  writeFile(dir.file("c.conf"),
            "<source>\n @type tail\n path " + dir.file("in/*.log") + "\n pos_file " + dir.file("tail.pos") +
            "\n tag kubernetes.app\n read_from_head true\n <parse>\n  @type json\n </parse>\n</source>\n"
            "<match kubernetes.**>\n @type elasticsearch\n host 127.0.0.1\n port " + std::to_string(es.port()) +
            "\n logstash_format true\n logstash_prefix e2e\n include_tag_key true\n tag_key @log_name\n"
            " <buffer>\n  @type file\n  path " + dir.file("buf") + "\n  flush_mode interval\n  flush_interval 0.1\n"
            "  flush_thread_count 2\n  chunk_limit_size 32k\n  retry_wait 0.05\n  retry_max_interval 0.5\n"
            "  retry_forever\n  overflow_action block\n </buffer>\n</match>\n");
  std::vector<std::string> args{"-c", dir.file("c.conf"), "--log-level", "error"};
  for (size_t target : {size_t(kLines / 5), size_t(kLines / 2), size_t(kLines * 4 / 5)}) {
    SluiceProcess p(args, dir.file("stdout"));
    ASSERT_TRUE(waitFor([&] { return es.documentCount() >= target; }, std::chrono::seconds(60)))
        << es.documentCount() << " stored";
    p.signal(SIGKILL);
    ASSERT_EQ(p.wait(), 128 + SIGKILL);
  }
  SluiceProcess last(args, dir.file("stdout"));
  ASSERT_TRUE(waitFor([&] { return es.documentCount() >= size_t(kLines); }, std::chrono::seconds(60)))
      << es.documentCount() << " stored";
  last.signal(SIGTERM);
  EXPECT_EQ(last.wait(), 0);

  std::map<int64_t, int> seen;
  simdjson::dom::parser parser;
  for (const std::string& index : es.indices()) {
    EXPECT_EQ(index.rfind("e2e-", 0), 0u) << index;
    for (const auto& doc : es.documents(index)) {
      int64_t n = -1;
      ASSERT_EQ(parser.parse(doc.source).at_key("n").get_int64().get(n), simdjson::SUCCESS);
      ++seen[n];
    }
  }
  EXPECT_EQ(seen.size(), size_t(kLines));
  for (const auto& [n, times] : seen) ASSERT_EQ(times, 1) << "line " << n << " stored " << times << " times";
  // Lines were sent again after the kills; the stand-in refused the copies.
  EXPECT_GT(es.conflicts(), 0);
  std::printf("[es e2e] %d bulk requests, %d creates answered 409 after 3 SIGKILLs\n", es.bulkRequests(), es.conflicts());
}

}  // namespace
}  // namespace sluice
