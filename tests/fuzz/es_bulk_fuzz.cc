// SPDX-License-Identifier: Apache-2.0
// Fuzz target: whatever an Elasticsearch node (or a proxy in front of it) answers to a _bulk
// request, the output's reader sorts it without crashing: a bulk answer for n items gives n
// verdicts, each consistent with its status; an answer for another number of items is not a
// bulk answer; a reader used again gives the same verdicts; a refused request's reason is
// bounded by what the body holds. The answer streamed past BulkAnswerStream in pieces of any size
// is settled as the whole read settles it (AllDone, NotBulk) or kept byte for byte.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "plugins/out_elasticsearch/bulk_answer.h"

namespace {

using sluice::plugins::out_elasticsearch::BulkAnswerReader;
using sluice::plugins::out_elasticsearch::BulkAnswerStream;
using sluice::plugins::out_elasticsearch::BulkItem;

void check(const BulkItem& item, const sluice::StringList& unrecoverable) {
  using V = BulkItem::Verdict;
  const int64_t s = item.status;
  switch (item.verdict) {
    case V::Done:
      if (s < 200 || s >= 300) std::abort();
      break;
    case V::Duplicate:
      if (s != 409) std::abort();
      break;
    case V::Malformed:
      if (s != 0) std::abort();
      break;
    case V::Again:
      if (s != 0 && s != 429 && s < 500) std::abort();
      for (const auto& t : unrecoverable) {
        if (item.type == t) std::abort();
      }
      break;
    case V::Conflict:
      if (s != 400 || !sluice::plugins::out_elasticsearch::dottedConflict(item.reason)) std::abort();
      break;
    case V::Failed:
      if (s >= 200 && s < 300) std::abort();
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::plugins::out_elasticsearch;
  const std::string input(reinterpret_cast<const char*>(data), size);
  static const sluice::StringList kUnrecoverable = {"es_rejected_execution_exception", "mapper_parsing_exception"};

  // How many items the answer claims: the request it answers had that many.
  size_t n = 0;
  {
    simdjson::dom::parser parser;
    simdjson::dom::array list;
    if (parser.parse(input).get(list) == simdjson::SUCCESS) n = list.size();
    simdjson::dom::element doc;
    if (parser.parse(input).get(doc) == simdjson::SUCCESS && doc["items"].get_array().get(list) == simdjson::SUCCESS) {
      n = list.size();
    }
  }

  BulkAnswerReader reader;
  std::vector<BulkItem> items;
  std::string body = input;
  const auto shape = reader.read(body, n, kUnrecoverable, items);
  if (body != input) std::abort();
  if (shape == BulkAnswerReader::Shape::Items) {
    if (items.size() != n) std::abort();
    for (const BulkItem& item : items) check(item, kUnrecoverable);
    // The same reader again (as a request's later answers use it): the same verdicts.
    std::vector<BulkItem> again;
    std::string copy = input;
    if (reader.read(copy, n, kUnrecoverable, again) != shape || again.size() != items.size()) std::abort();
    for (size_t k = 0; k < items.size(); ++k) {
      if (again[k].verdict != items[k].verdict || again[k].status != items[k].status ||
          again[k].type != items[k].type || again[k].reason != items[k].reason) {
        std::abort();
      }
    }
  } else if (!items.empty()) {
    std::abort();
  }
  // An answer for more items than it lists is never taken as a bulk answer.
  if (shape != BulkAnswerReader::Shape::AllDone) {
    std::string copy = input;
    if (reader.read(copy, n + 1, kUnrecoverable, items) != BulkAnswerReader::Shape::NotBulk) std::abort();
  }

  // Streamed in pieces of 1, 2, 7, 64 and 16384 bytes, and in pieces whose sizes the input's own
  // bytes give: one outcome, and never more than the whole read says.
  BulkAnswerStream stream;
  std::optional<BulkAnswerStream::Outcome> first;
  for (size_t piece : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, size_t{16384}, size_t{0}}) {
    stream.reset();
    for (size_t at = 0, k = 0; at < input.size(); ++k) {
      const size_t len = piece != 0 ? piece : 1 + static_cast<unsigned char>(input[k % input.size()]) % 97;
      stream.feed(std::string_view(input).substr(at, len));
      at += len;
    }
    const auto got = stream.finish();
    if (first && got != *first) std::abort();
    first = got;
    if (stream.bytes() != input.size()) std::abort();
    if (got == BulkAnswerStream::Outcome::AllDone && shape != BulkAnswerReader::Shape::AllDone) std::abort();
    if (got == BulkAnswerStream::Outcome::NotBulk && shape != BulkAnswerReader::Shape::NotBulk) std::abort();
    if (got == BulkAnswerStream::Outcome::Kept || got == BulkAnswerStream::Outcome::KeptErrors) {
      if (stream.body() != input) std::abort();
    }
    if (got == BulkAnswerStream::Outcome::KeptErrors) {
      std::vector<BulkItem> kept;
      std::string copy = input;
      if (reader.readItems(copy, n, kUnrecoverable, kept) != shape || kept.size() != (shape == BulkAnswerReader::Shape::Items ? n : 0)) {
        std::abort();
      }
    }
  }

  std::string why = errorReason(input);
  if (why.empty() || (why.size() > input.size() && why != "(empty body)")) std::abort();
  dottedConflict(input);
  return 0;
}
