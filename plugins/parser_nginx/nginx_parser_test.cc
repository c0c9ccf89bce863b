// SPDX-License-Identifier: Apache-2.0
// Cases from Fluentd's test/plugin/test_parser_nginx.rb and docs.fluentd.org/parser/nginx, restated.
#include <gtest/gtest.h>

#include "plugins/parser_nginx/nginx_parser.h"
#include "support/alloc_counter.h"
#include "support/parser_support.h"
#include "support/test_support.h"

namespace sluice::plugins::parser_nginx {
namespace {

std::vector<ParsedRecord> run(const std::string& config, std::vector<std::string_view> lines, Arena& arena) {
  return testing::parseWith("nginx", config, std::move(lines), arena);
}

constexpr int64_t k28Feb2013Noon0900 = 1362020400LL * kNanosPerSecond;
constexpr const char* kExpected =
    R"({"remote":"127.0.0.1","host":"192.168.0.1","user":"-","method":"GET","path":"/","code":"200","size":"777","referer":"-","agent":"Opera/12.0"})";

TEST(NginxParserTest, CombinedLine) {
  Arena arena;
  auto out = run("", {R"(127.0.0.1 192.168.0.1 - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0")",
                      R"(127.0.0.1 192.168.0.1 - [28/Feb/2013:12:00:00 +0900] "GET /" 200 777 "-" "Opera/12.0")"},
                 arena);
  for (const auto& r : out) {
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.time_ns, k28Feb2013Noon0900);
    EXPECT_EQ(toJson(r.record), kExpected);
  }
}

TEST(NginxParserTest, PathWithBracketsAndSpaces) {
  Arena arena;
  auto out = run("", {R"(127.0.0.1 192.168.0.1 - [28/Feb/2013:12:00:00 +0900] "GET /a[ ]b HTTP/1.1" 200 777 "-" "Opera/12.0")"}, arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].record.find("path")->asString(), "/a[ ]b");
}

TEST(NginxParserTest, ForwardedFor) {
  Arena arena;
  auto out = run("", {R"(127.0.0.1 192.168.0.1 - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0" -)"}, arena);
  ASSERT_TRUE(out[0].ok());
  EXPECT_EQ(out[0].record.find("http_x_forwarded_for")->asString(), "-");
  EXPECT_EQ(out[0].record.size(), 10u);
}

TEST(NginxParserTest, KeepTimeKeyTypesAndOverrides) {
  Arena arena;
  auto typed = run("keep_time_key true\ntypes code:integer,size:integer",
                   {R"(127.0.0.1 192.168.0.1 - [28/Feb/2013:12:00:00 +0900] "GET / HTTP/1.1" 200 777 "-" "Opera/12.0")"}, arena);
  ASSERT_TRUE(typed[0].ok());
  EXPECT_EQ(typed[0].record.find("time")->asString(), "28/Feb/2013:12:00:00 +0900");
  EXPECT_EQ(typed[0].record.find("code")->asInt(), 200);
  auto custom = run("expression /^(?<time>\\S+) (?<msg>.*)$/\ntime_format %Y-%m-%dT%H:%M:%S%z",
                    {"2013-02-28T12:00:00+0900 hello", "no"}, arena);
  ASSERT_TRUE(custom[0].ok());
  EXPECT_EQ(custom[0].time_ns, k28Feb2013Noon0900);
  EXPECT_EQ(toJson(custom[0].record), R"({"msg":"hello"})");
  EXPECT_FALSE(custom[1].ok());
}

TEST(NginxParserTest, WarmBatchAllocatesNothing) {
  testing::PluginFactory f;
  auto p = f.mustMake<Parser>(PluginKind::Parser, "nginx", "");
  testing::WarmParser warm(*p, testing::linesOf(64, [](int i) {
    return "10.0.0." + std::to_string(i) + R"( - - [28/Feb/2013:12:00:00 +0900] "GET /a HTTP/1.1" 200 )" +
           std::to_string(i) + R"( "-" "curl")";
  }));
  // The record is in the arena; RE2's submatch search (not one-pass for this expression)
  // allocates its own scratch per match, as for the regexp and syslog parsers.
  EXPECT_LE(warm.measure(), 4 * 64u);
  EXPECT_EQ(warm.out()[63].record.find("size")->asString(), "63");
}

}  // namespace
}  // namespace sluice::plugins::parser_nginx
