// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "core/time.h"

namespace sluice {
namespace {

constexpr int64_t kS = kNanosPerSecond;

TEST(TimeParserTest, Iso8601WithoutFormat) {
  TimeParser p("", true);
  EXPECT_EQ(*p.parse("2026-11-22T01:02:03Z"), 1795309323 * kS);
  EXPECT_EQ(*p.parse("2026-11-22T01:02:03.5Z"), 1795309323 * kS + 500000000);
  EXPECT_EQ(*p.parse("2026-11-22T01:02:03.123456789+00:00"), 1795309323 * kS + 123456789);
  EXPECT_EQ(*p.parse("2026-11-22T10:02:03+09:00"), 1795309323 * kS);
  EXPECT_EQ(*p.parse("2026-11-22 01:02:03 +0000"), 1795309323 * kS);
  EXPECT_EQ(*p.parse("2026-11-22T01:02:03"), 1795309323 * kS);  // utc
  EXPECT_FALSE(p.parse("yesterday").has_value());
  EXPECT_FALSE(p.parse("2026-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(p.parse("2026-11-22T01:02:03Zjunk").has_value());
}

// The fixed-place reading of YYYY-MM-DDTHH:MM:SS gives what the general reader gives, and
// hands every other shape to it; the day cache follows the dates asked for.
TEST(TimeParserTest, IsoFixedFormAgreesWithTheGeneralReader) {
  TimeParser p("", true);
  EXPECT_EQ(*p.parse("2026-11-22t01:02:03z"), 1795309323 * kS);
  EXPECT_EQ(*p.parse("2026-11-22T01:02:03,25Z"), 1795309323 * kS + 250000000);
  EXPECT_EQ(*p.parse(" 2026-11-22T01:02:03.000000001Z\t"), 1795309323 * kS + 1);
  EXPECT_EQ(*p.parse("2026-11-22T01:02:03.1234567891234Z"), 1795309323 * kS + 123456789);
  EXPECT_EQ(*p.parse("2026-11-22T01:02:03UTC"), 1795309323 * kS);
  EXPECT_EQ(*p.parse("2026-11-22T01:02"), (1795309323 - 3) * kS);  // no seconds: general reader
  EXPECT_EQ(*p.parse("2026-11-22"), (1795309323 - 3723) * kS);
  EXPECT_EQ(*p.parse("2026-1-2T01:02:03Z"), *p.parse("2026-01-02T01:02:03Z"));
  EXPECT_EQ(*p.parse("2026-11-23T01:02:03Z"), (1795309323 + 86400) * kS);
  EXPECT_EQ(*p.parse("2026-11-22T01:02:03Z"), 1795309323 * kS);  // back to the day before
  EXPECT_EQ(*p.parse("2027-11-22T01:02:03Z"), (1795309323 + 365 * 86400) * kS);
  EXPECT_EQ(*p.parse("2026-02-28T23:59:60Z"), *p.parse("2026-03-01T00:00:00Z"));
  for (const char* bad : {"2026-11-22T01:02:0aZ", "2026-11-22T01:02:03.", "2026-11-22T01:02:03.Z",
                          "2026-11-22X01:02:03Z", "2026-11-32T01:02:03Z", "2026-00-22T01:02:03Z",
                          "2026-11-22T25:02:03Z", "2026-11-22T01:60:03Z", "2026-11-22T01:02:61Z",
                          "2026-11-22T01:02:03+0", "2026-11-22T01:02:03 Z junk", "-026-11-22T01:02:03Z"}) {
    EXPECT_FALSE(p.parse(bad).has_value()) << bad;
  }
}

TEST(TimeParserTest, StrptimeFormats) {
  TimeParser apache("%d/%b/%Y:%H:%M:%S %z", false);
  EXPECT_EQ(*apache.parse("22/Nov/2026:10:02:03 +0900"), 1795309323 * kS);
  TimeParser nanos("%Y-%m-%dT%H:%M:%S.%NZ", true);
  EXPECT_EQ(*nanos.parse("2026-11-22T01:02:03.000000042Z"), 1795309323 * kS + 42);
  TimeParser millis("%Y-%m-%d %H:%M:%S,%L", true);
  EXPECT_EQ(*millis.parse("2026-11-22 01:02:03,250"), 1795309323 * kS + 250000000);
  TimeParser epoch("%s", true);
  EXPECT_EQ(*epoch.parse("1795309323"), 1795309323 * kS);
  TimeParser syslog("%b %e %H:%M:%S", true);
  EXPECT_TRUE(syslog.parse("Nov  2 01:02:03").has_value());
  EXPECT_FALSE(apache.parse("22/Foo/2026:10:02:03 +0900").has_value());
}

TEST(TimeParserTest, FixedOffsetForZonelessTimes) {
  TimeParser p("%Y-%m-%d %H:%M:%S", false, 9 * 3600);
  EXPECT_EQ(*p.parse("2026-11-22 10:02:03"), 1795309323 * kS);
  EXPECT_EQ(*parseZoneOffset("-07:30"), -(7 * 3600 + 30 * 60));
  EXPECT_FALSE(parseZoneOffset("Asia/Tokyo").has_value());
}

TEST(FormatTimeTest, FormatsNanoseconds) {
  std::string out;
  formatTime(out, 1795309323 * kS + 5, "%Y-%m-%dT%H:%M:%S.%N%:z", true);
  EXPECT_EQ(out, "2026-11-22T01:02:03.000000005+00:00");
  out.clear();
  formatTime(out, 1795309323 * kS + 123456789, "%H:%M:%S.%3N %L %6N", true);
  EXPECT_EQ(out, "01:02:03.123 123 123456");
  out.clear();
  formatTime(out, -1, "%Y-%m-%d %H:%M:%S.%N", true);
  EXPECT_EQ(out, "1969-12-31 23:59:59.999999999");
}

}  // namespace
}  // namespace sluice
