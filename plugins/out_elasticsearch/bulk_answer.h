// SPDX-License-Identifier: Apache-2.0
#pragma once

// Reading Elasticsearch's answers to _bulk requests: what became of each item, and why a whole
// request was refused. The output's write() (flush threads) calls these; so does the
// bulk-response fuzz target (tests/fuzz/es_bulk_fuzz.cc), which drives the same code with
// whatever a cluster or a proxy in front of it might answer.

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
// answer and stay valid until its next read(). Not thread-safe: one per request.
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

 private:
  simdjson::ondemand::parser ondemand_;
  simdjson::dom::parser dom_;
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
