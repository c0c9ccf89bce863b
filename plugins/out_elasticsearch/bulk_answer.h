// SPDX-License-Identifier: Apache-2.0
#pragma once

// Reading Elasticsearch's answers to _bulk requests: what became of each item, and why a whole
// request was refused. The output's write() (flush threads) calls these; so does the
// bulk-response fuzz target (tests/fuzz/es_bulk_fuzz.cc), which drives the same code with
// whatever a cluster or a proxy in front of it might answer.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "config/types.h"

namespace sluice::plugins::out_elasticsearch {

// What one item of a 200 answer says about its document.
struct BulkItem {
  enum class Verdict : uint8_t {
    Done,       // 2xx
    Duplicate,  // 409 on create: the document is already there
    Malformed,  // not an object with exactly one action member: sent again, not an item error
    Again,      // 429, 5xx or no status, and not an unrecoverable_error_types type: for now
    Conflict,   // 400 for a mapping conflict from dotted keys: may be sent again de-dotted
    Failed,     // anything else: refused for good
  };
  Verdict verdict = Verdict::Malformed;
  int64_t status = 0;                 // 0 when the item has none
  std::string_view type = "unknown";  // error.type, or "unknown"
  std::string_view reason;            // error.reason, or empty
};

// Reads 200 answers to _bulk requests. The views in the items point into the reader's parsed
// answer and stay valid until its next read(). Not thread-safe: one per request in flight (the
// parsers keep their capacity from answer to answer).
class BulkAnswerReader {
 public:
  enum class Shape {
    AllDone,  // "errors": false: every item went in (the items are not looked at)
    Items,    // `items` holds one entry per item of the request, in order
    NotBulk,  // not a bulk answer for `n` items (a proxy's page, a truncated body, ...)
  };
  // Reserves simdjson's padding in `body` (its content is unchanged).
  Shape read(std::string& body, size_t n, const StringList& unrecoverable_error_types,
             std::vector<BulkItem>& items);
  // read() for an answer already known to say errors:true (BulkAnswerStream::KeptErrors): the
  // items without the quick look at `errors`.
  Shape readItems(std::string& body, size_t n, const StringList& unrecoverable_error_types,
                  std::vector<BulkItem>& items);
  // Lets go of the parsers' memory when it is far above what recent answers needed (after a
  // rare huge answer). Between requests.
  void trim(size_t recent_max_bytes);

 private:
  simdjson::ondemand::parser ondemand_;
  simdjson::dom::parser dom_;
};

// A 200 answer to a _bulk request taken in as it arrives (HttpClient hands it over piece by
// piece), so that the common answer costs no copy and no parse: Elasticsearch writes
// `{"took":N,"errors":false,"items":[...]}`, and once the start says errors:false the rest only
// streams past a check of what simdjson's first stage checks (valid UTF-8, every string closed,
// no raw control character in a string) and of the last byte (`}`); nothing of it is kept. Any
// other start (errors:true, other keys first, a proxy's page) keeps the whole answer in body()
// for BulkAnswerReader::read(). finish() says then what read() would have said of the whole
// answer (AllDone, or NotBulk when the checks fail), or Kept. Buffers keep their capacity from
// request to request. The flush thread that owns it (one per request in flight) calls it.
class BulkAnswerStream {
 public:
  enum class Outcome {
    AllDone,     // errors:false and the rest checks out: every item went in
    NotBulk,     // errors:false but the rest does not check out (simdjson would refuse it)
    Kept,        // body() holds the whole answer for BulkAnswerReader::read()
    KeptErrors,  // the same, and its start says errors:true: BulkAnswerReader::readItems()
  };
  // Before each request.
  void reset();
  // Each piece of the body, in order (HttpRequest::on_200_body).
  void feed(std::string_view piece);
  Outcome finish();
  // Kept/KeptErrors: the whole answer; AllDone/NotBulk: its start, for a log line.
  std::string& body() { return body_; }
  size_t bytes() const { return bytes_; }  // the answer's whole length
  // The most body() held for the requests of about the last 64 to 128 answers: what parsers
  // and vectors sized by the kept answers need to keep.
  size_t keptHighWater() const { return std::max({window_max_, recent_max_, body_.size()}); }

 private:
  enum class Mode : uint8_t { Start, Check, Keep };
  // Reads the start kept in body_: Check when it is `{"took":<digits>,"errors":false` followed by
  // `,` or `}` (JSON whitespace between), Keep when it is anything else, Start when more is needed.
  Mode decide();
  void check(const char* p, size_t n);

  std::string body_;
  Mode mode_ = Mode::Start;
  bool errors_true_ = false;  // Keep because the start says errors:true
  size_t bytes_ = 0;
  size_t recent_max_ = 0;     // the largest body kept since the window began
  size_t window_max_ = 0;     // the largest body kept in the window before
  int requests_ = 0;
  // The checks' state between pieces (as simdjson's stage 1 carries it between blocks).
  bool escaped_ = false;      // the next byte follows an odd run of backslashes
  bool in_string_ = false;
  bool bad_ = false;          // a raw control character in a string, or invalid UTF-8
  char last_ = 0;             // the last byte that is not JSON whitespace
  char utf8_tail_[4] = {};    // an incomplete UTF-8 sequence at the end of the last piece
  uint8_t utf8_tail_size_ = 0;
};

// A mapping conflict that dotted keys cause: Elasticsearch expands "a.b" into an object under
// "a", which clashes with a concrete "a" (in this document or the mapping). The messages, ES 7
// and 8 (ObjectMapper, DocumentParser): "object mapping for [x] tried to parse field [y] as
// object, but found a concrete value", "Could not dynamically add mapping for field [x.y].
// Existing mapping for [x] must be of type object but found [text]".
bool dottedConflict(std::string_view reason);

// Why a whole request was refused, for a log line: ES's error type and reason, the error
// string, or the start of the body (at most 200 bytes).
std::string errorReason(std::string_view body);

}  // namespace sluice::plugins::out_elasticsearch
