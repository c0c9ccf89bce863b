// SPDX-License-Identifier: Apache-2.0
// CRI and Docker line parsing against Vector's and Fluent Bit's cases (../shared/fixtures).

#include <gtest/gtest.h>

#include "core/container_log.h"
#include "core/json.h"
#include "core/time.h"
#include "support/fixtures.h"
#include "support/test_support.h"

namespace sluice {
namespace {

std::string base64Decode(std::string_view in) {
  static const std::string kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    size_t pos = kChars.find(c);
    if (pos == std::string::npos) continue;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

std::string field(const Value& c, const char* key) {
  if (const Value* v = c.find(key)) return std::string(v->asString());
  std::string b64 = std::string(key) + "_base64";
  if (const Value* v = c.find(b64)) return base64Decode(v->asString());
  return "";
}

TEST(ContainerLogTest, VectorCriCases) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures not present";
  Arena arena;
  Value doc = testing::loadJsonFixture("container-logs/vector-kubernetes-logs-parser-cases.json", arena);
  TimeParser iso("", true);
  int n = 0;
  for (const Value& c : doc.find("cri_valid")->items()) {
    std::string input = field(c, "input");
    if (!input.empty() && input.back() == '\n') input.pop_back();  // a reader splits lines first
    auto line = parseCriLine(input);
    ASSERT_TRUE(line.has_value()) << input.substr(0, 80);
    EXPECT_EQ(std::string(line->message), field(c, "message"));
    EXPECT_EQ(line->stream, c.find("stream")->asString());
    EXPECT_EQ(line->partial, c.find("partial")->asBool());
    EXPECT_EQ(line->time_ns, *iso.parse(c.find("timestamp")->asString()));
    // Invalid UTF-8 in a message never reaches the output raw.
    std::string json;
    appendJsonString(json, line->message);
    EXPECT_TRUE(isValidUtf8(json));
    ++n;
  }
  EXPECT_EQ(n, 6);
}

TEST(ContainerLogTest, VectorDockerCases) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures not present";
  Arena arena;
  Value doc = testing::loadJsonFixture("container-logs/vector-kubernetes-logs-parser-cases.json", arena);
  TimeParser iso("", true);
  int valid = 0, invalid = 0;
  for (const Value& c : doc.find("docker_valid")->items()) {
    ++valid;
    std::string input = field(c, "input");
    auto line = parseDockerLine(input, false, arena);
    ASSERT_TRUE(line.has_value()) << input.substr(0, 80);
    EXPECT_EQ(std::string(line->log), field(c, "message"));
    EXPECT_EQ(line->stream, c.find("stream")->asString());
    // Vector calls a log without "\n" partial only at exactly 16 KiB; sluice, like Fluent Bit's
    // docker mode, treats every log without "\n" as a fragment (a held one is emitted by the
    // reader's multiline_flush_interval).
    bool ends_in_newline = input.find("\\n\", \"stream\"") != std::string::npos;
    EXPECT_EQ(line->partial, !ends_in_newline);
    ASSERT_TRUE(line->has_time);
    EXPECT_EQ(line->time_ns, *iso.parse(c.find("timestamp")->asString()));
  }
  // Vector drops entries without a usable time; sluice keeps their log (with the read time,
  // as Fluent Bit does for `{"log":"..."}` lines). Entries without a string log are rejected.
  for (const Value& c : doc.find("docker_invalid")->items()) {
    ++invalid;
    std::string input(c.asString());
    auto line = parseDockerLine(input, false, arena);
    bool has_string_log = input.find("\"log\": \"") != std::string::npos;
    EXPECT_EQ(line.has_value(), has_string_log) << input;
    if (line) {
      EXPECT_FALSE(line->has_time) << input;
    }
  }
  EXPECT_EQ(valid, 4);
  EXPECT_EQ(invalid, 11);
}

}  // namespace
}  // namespace sluice
