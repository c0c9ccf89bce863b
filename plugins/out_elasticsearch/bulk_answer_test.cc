// SPDX-License-Identifier: Apache-2.0
// BulkAnswerStream against BulkAnswerReader: whatever the answer and however it is cut into
// pieces, the stream settles an answer only as the whole read would (AllDone, NotBulk), and keeps
// everything else whole; the answers Elasticsearch writes with errors:false are settled without
// being kept.

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "plugins/out_elasticsearch/bulk_answer.h"

namespace sluice::plugins::out_elasticsearch {
namespace {

using Outcome = BulkAnswerStream::Outcome;
using Shape = BulkAnswerReader::Shape;

const StringList kUnrecoverable = {"mapper_parsing_exception"};

// The items an Elasticsearch 8 answer lists for `n` documents.
std::string items(int n, std::string_view id_suffix = "") {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ',';
    out += R"({"create":{"_index":"logs","_id":"id-)" + std::to_string(i) + std::string(id_suffix) +
           R"(","_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},"_seq_no":)" +
           std::to_string(i) + R"(,"_primary_term":1,"status":201}})";
  }
  return out;
}

std::string allDone(int n, std::string_view id_suffix = "") {
  return R"({"took":12,"errors":false,"items":[)" + items(n, id_suffix) + "]}";
}

// The stream's outcome with `answer` cut into pieces of `piece` bytes (0: whole).
Outcome streamed(BulkAnswerStream& stream, std::string_view answer, size_t piece) {
  stream.reset();
  if (piece == 0) piece = answer.size() + 1;
  for (size_t at = 0; at < answer.size(); at += piece) stream.feed(answer.substr(at, piece));
  return stream.finish();
}

// Checks the stream against the whole read for every way of cutting `answer` in `pieces`; returns
// the outcome (the same for all of them).
Outcome agrees(std::string_view answer, const std::vector<size_t>& pieces = {0, 1, 2, 3, 5, 16, 63, 64, 65, 200}) {
  BulkAnswerStream stream;
  BulkAnswerReader reader;
  std::vector<BulkItem> items;
  std::string whole(answer);
  const Shape read = reader.read(whole, 0, kUnrecoverable, items);
  std::optional<Outcome> first;
  for (size_t piece : pieces) {
    const Outcome got = streamed(stream, answer, piece);
    if (!first) first = got;
    EXPECT_EQ(got, *first) << "piece " << piece << ": " << answer;
    EXPECT_EQ(stream.bytes(), answer.size());
    switch (got) {
      case Outcome::AllDone:
        EXPECT_EQ(read, Shape::AllDone) << answer;
        break;
      case Outcome::NotBulk:
        EXPECT_EQ(read, Shape::NotBulk) << answer;
        EXPECT_EQ(stream.body().substr(0, 10), answer.substr(0, 10));  // the start, for the log line
        break;
      case Outcome::Kept:
        EXPECT_EQ(stream.body(), answer);
        break;
      case Outcome::KeptErrors: {
        EXPECT_EQ(stream.body(), answer);
        // Skipping the look at `errors` changes nothing for such an answer.
        for (size_t n : {size_t{0}, size_t{1}, size_t{2}}) {
          std::vector<BulkItem> a, b;
          std::string x(answer), y(answer);
          EXPECT_EQ(reader.readItems(x, n, kUnrecoverable, a), reader.read(y, n, kUnrecoverable, b)) << answer;
          EXPECT_EQ(a.size(), b.size());
        }
        break;
      }
    }
  }
  return *first;
}

TEST(BulkAnswerStreamTest, ElasticsearchsAnswersAreSettledAsTheWholeReadSettlesThem) {
  EXPECT_EQ(agrees(allDone(1)), Outcome::AllDone);
  EXPECT_EQ(agrees(allDone(40)), Outcome::AllDone);
  // Multi-byte UTF-8 and escapes in the ids, cut anywhere.
  EXPECT_EQ(agrees(allDone(6, "-Über-日本-😀")), Outcome::AllDone);
  EXPECT_EQ(agrees(allDone(6, R"(-q\"uo\\te\\\"d\n)")), Outcome::AllDone);
  EXPECT_EQ(agrees(" \n{ \"took\" : 3 ,\r\n\t\"errors\" : false , \"items\" : [ ] } \n"), Outcome::AllDone);
  EXPECT_EQ(agrees(R"({"took":3,"errors":false})"), Outcome::AllDone);
  // errors:true: kept whole, read item by item.
  EXPECT_EQ(agrees(R"({"took":3,"errors":true,"items":[{"create":{"status":429,"error":{"type":"es_rejected_execution_exception"}}}]})"),
            Outcome::KeptErrors);
  // Another order, another key, a proxy's page, a bare array, too short to tell: kept whole.
  EXPECT_EQ(agrees(R"({"errors":false,"took":3,"items":[]})"), Outcome::Kept);
  EXPECT_EQ(agrees(R"({"took":3,"error":false,"items":[]})"), Outcome::Kept);
  EXPECT_EQ(agrees(R"({"took":-3,"errors":false,"items":[]})"), Outcome::Kept);
  EXPECT_EQ(agrees(R"({"took":3,"errors":falsey,"items":[]})"), Outcome::Kept);
  EXPECT_EQ(agrees(R"({"took":3,"errors":"false","items":[]})"), Outcome::Kept);
  EXPECT_EQ(agrees("<html><body>502 Bad Gateway</body></html>"), Outcome::Kept);
  EXPECT_EQ(agrees("\xef\xbb\xbf" + allDone(1)), Outcome::Kept);
  EXPECT_EQ(agrees(R"({"took":3,"errors)"), Outcome::Kept);
  EXPECT_EQ(agrees(""), Outcome::Kept);
  EXPECT_EQ(agrees("{\"took\":3," + std::string(5000, ' ') + "\"errors\":false}"), Outcome::Kept);
}

// What simdjson refuses after an errors:false start is refused here too, wherever the pieces
// are cut; what it lets through (a truncation at a closing brace) goes through here too.
TEST(BulkAnswerStreamTest, ABrokenRestAfterErrorsFalseIsNotBelieved) {
  const std::string good = allDone(3, "-é");
  EXPECT_EQ(agrees(good.substr(0, good.size() - 1)), Outcome::NotBulk);     // ends in ]
  EXPECT_EQ(agrees(good.substr(0, good.size() - 20)), Outcome::NotBulk);    // ends mid-item
  EXPECT_EQ(agrees(good.substr(0, good.find("-é") + 2)), Outcome::NotBulk);  // an open string
  EXPECT_EQ(agrees(good.substr(0, good.size() - 2)), Outcome::AllDone);     // ends in }} (simdjson takes it)
  EXPECT_EQ(agrees(good + "x"), Outcome::NotBulk);
  EXPECT_EQ(agrees(good + "\n\n"), Outcome::AllDone);
  std::string bad = good;
  bad.replace(bad.find("é"), 2, "\xc3\x28");  // invalid UTF-8
  EXPECT_EQ(agrees(bad), Outcome::NotBulk);
  bad = good;
  bad.replace(bad.find("é"), 2, "\xe9");  // Latin-1
  EXPECT_EQ(agrees(bad), Outcome::NotBulk);
  bad = good;
  bad.replace(bad.find("é") + 1, 1, "");  // a cut sequence
  EXPECT_EQ(agrees(bad), Outcome::NotBulk);
  EXPECT_EQ(agrees(good.substr(0, good.size() - 2) + "\xc3"), Outcome::NotBulk);  // a sequence cut by the end
  bad = good;
  bad.replace(bad.find("é"), 2, "\t");  // a raw control character in a string
  EXPECT_EQ(agrees(bad), Outcome::NotBulk);
  bad = good;
  bad.replace(bad.find("é"), 3, "\\\"");  // é" made \": the string does not close
  EXPECT_EQ(agrees(bad), Outcome::NotBulk);
  bad = good;
  bad.replace(bad.find("é"), 2, "\\\\");  // an escaped backslash does not
  EXPECT_EQ(agrees(bad), Outcome::AllDone);
  bad = good;
  bad.replace(bad.find("\"_version\""), 0, "\x01");  // outside a string simdjson does not look
  EXPECT_EQ(agrees(bad), Outcome::AllDone);
}

// Random edits of answers (bytes that matter to the checks: quotes, backslashes, control
// characters, UTF-8 pieces, braces), cut at random: the stream never says more than the whole
// read, and agrees with itself whatever the cuts.
TEST(BulkAnswerStreamTest, MutantsAgreeWithTheWholeRead) {
  std::mt19937 rng(20);
  const std::vector<std::string> bases = {allDone(5, "-ü"), allDone(2),
                                          R"({"took":1,"errors":true,"items":[{"index":{"status":400}}]})"};
  const std::vector<std::string> bits = {"\"", "\\", "\\\\", "\\\"", "\x01", "\x1f", "\t", "\n", " ", "}", "]", "{",
                                         "\xc3", "\xa9", "\xc3\xa9", "\xe2\x82", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                         "\xf0\x9f", "\xed\xa0\x80", "\xff", "\xc0\xaf", "x", "0"};
  int settled = 0, refused = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string s = bases[rng() % bases.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0:
          s.insert(at, bits[rng() % bits.size()]);
          break;
        case 1:
          s.erase(at, 1 + rng() % 3);
          break;
        default:
          s.replace(at, 1, bits[rng() % bits.size()]);
          break;
      }
    }
    std::vector<size_t> pieces = {0, 1 + rng() % 7, 1 + rng() % 90};
    const Outcome got = agrees(s, pieces);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "mutant " << round << ": " << s;
      return;
    }
    settled += got == Outcome::AllDone;
    refused += got == Outcome::NotBulk;
  }
  // Both ways were taken often enough for the comparison to mean something.
  EXPECT_GT(settled, 200);
  EXPECT_GT(refused, 200);
}

// A 2.5 MB errors:false answer in libcurl's 16 KB pieces leaves only its start behind; an
// errors:true answer after it is kept whole and read item by item.
TEST(BulkAnswerStreamTest, AnAllDoneAnswerIsNotKept) {
  const std::string big = allDone(13000);
  ASSERT_GT(big.size(), 2u << 20);
  BulkAnswerStream stream;
  ASSERT_EQ(streamed(stream, big, 16384), Outcome::AllDone);
  EXPECT_LE(stream.body().size(), 16384u);
  EXPECT_EQ(stream.bytes(), big.size());
  std::string errors = big;
  errors.replace(errors.find("false"), 5, "true");
  errors.replace(errors.rfind("\"status\":201"), 12, R"("status":429,"error":{"type":"es_rejected_execution_exception"})");
  ASSERT_EQ(streamed(stream, errors, 16384), Outcome::KeptErrors);
  EXPECT_EQ(stream.body(), errors);
  BulkAnswerReader reader;
  std::vector<BulkItem> items;
  ASSERT_EQ(reader.readItems(stream.body(), 13000, kUnrecoverable, items), Shape::Items);
  ASSERT_EQ(items.size(), 13000u);
  EXPECT_EQ(items[0].verdict, BulkItem::Verdict::Done);
  EXPECT_EQ(items[12999].verdict, BulkItem::Verdict::Again);
  EXPECT_EQ(items[12999].type, "es_rejected_execution_exception");
}

}  // namespace
}  // namespace sluice::plugins::out_elasticsearch
