// SPDX-License-Identifier: Apache-2.0
// Cases from Fluentd's test/plugin/test_parser_apache2.rb, restated.
#include <gtest/gtest.h>

#include "plugins/parser_apache2/apache2_parser.h"
#include "support/alloc_counter.h"
#include "support/parser_support.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_apache2 {
namespace {

std::vector<ParsedRecord> run(const std::string& config, std::vector<std::string_view> lines, Arena& arena) {
  return testing::parseWith("apache2", config, std::move(lines), arena);
}

constexpr int64_t k28Feb2013Noon0900 = 1362020400LL * kNanosPerSecond;
constexpr const char* kExpected =
    R"({"host":"192.168.0.1","user":null,"method":"GET","path":"/","code":200,"size":777,"referer":null,"agent":"Opera/12.0"})";

TEST(Apache2ParserTest, CombinedLine) {
  Arena arena;
  auto out = run("", {R"(192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0")",
                      R"(192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET /" 200 777 "-" "Opera/12.0")"},
                 arena);
  for (const auto& r : out) {
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.time_ns, k28Feb2013Noon0900);
    EXPECT_EQ(toJson(r.record), kExpected);
  }
}

TEST(Apache2ParserTest, EscapedQuotes) {
  Arena arena;
  auto out = run("", {R"(192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET /\" HTTP/1.1" 200 777 "referer \\ \"" "user agent \\ \"")"},
                 arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].record.find("path")->asString(), R"(/\")");
  EXPECT_EQ(out[0].record.find("referer")->asString(), R"(referer \\ \")");
  EXPECT_EQ(out[0].record.find("agent")->asString(), R"(user agent \\ \")");
}

TEST(Apache2ParserTest, KeepTimeKey) {
  Arena arena;
  auto out = run("keep_time_key true", {R"(192.168.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0")"}, arena);
  EXPECT_EQ(out[0].record.find("time")->asString(), "28/Feb/2013:12:00:00 +0900");
}

TEST(Apache2ParserTest, CommonFormatDashesAndRejects) {
  Arena arena;
  auto out = run("types code:string", {R"(::1 - bob [28/Feb/2013:12:00:00 +0000] "OPTIONS *" - -)",
                                        R"(10.0.0.1 - - [28/Feb/2013:12:00:00 +0900] "GET /x HTTP/1.0" 404 -)",
                                        "not apache", R"(10.0.0.1 - - [30/Foo/2013:12:00:00 +0900] "GET / HTTP/1.0" 200 1)"},
                 arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(toJson(out[0].record),
            R"({"host":"::1","user":"bob","method":"OPTIONS","path":"*","code":null,"size":null,"referer":null,"agent":null})");
  EXPECT_EQ(toJson(out[1].record),
            R"({"host":"10.0.0.1","user":null,"method":"GET","path":"/x","code":404,"size":null,"referer":null,"agent":null})");
  EXPECT_FALSE(out[2].ok());
  EXPECT_FALSE(out[3].ok());
}

TEST(Apache2ParserTest, WarmBatchAllocatesNothing) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "apache2", "");
  testing::WarmParser warm(*p, testing::linesOf(64, [](int i) {
    return "10.0.0." + std::to_string(i) + R"( - - [28/Feb/2013:12:00:00 +0900] "GET /a HTTP/1.1" 200 )" +
           std::to_string(i) + R"( "-" "curl")";
  }));
  // The record is in the arena; RE2's submatch search (not one-pass for this expression)
  // allocates its own scratch per match, as for the regexp and syslog parsers.
  EXPECT_LE(warm.measure(), 4 * 64u);
  EXPECT_EQ(warm.out()[63].record.find("size")->asInt(), 63);
}

}  // namespace
}  // namespace sluice::plugins::parser_apache2
