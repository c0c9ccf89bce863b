// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_elasticsearch/bulk_answer.h"

#include <algorithm>

namespace sluice::plugins::out_elasticsearch {

BulkAnswerReader::Shape BulkAnswerReader::read(std::string& body, size_t n,
                                               const StringList& unrecoverable_error_types,
                                               std::vector<BulkItem>& items) {
  items.clear();
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  simdjson::padded_string_view json(body.data(), body.size(), body.capacity());
  {
    // errors:false (the common case) needs no look at the items; ES writes took, errors, items.
    simdjson::ondemand::document doc;
    bool errors = true;
    if (ondemand_.iterate(json).get(doc) == simdjson::SUCCESS && doc["errors"].get_bool().get(errors) == simdjson::SUCCESS &&
        !errors) {
      return Shape::AllDone;
    }
  }
  simdjson::dom::element doc;
  simdjson::dom::array list;
  if (dom_.parse(body.data(), body.size(), false).get(doc) != simdjson::SUCCESS ||
      doc["items"].get_array().get(list) != simdjson::SUCCESS || list.size() != n) {
    return Shape::NotBulk;
  }
  items.reserve(n);
  for (simdjson::dom::element element : list) {
    BulkItem& item = items.emplace_back();
    simdjson::dom::object wrapper;
    if (element.get_object().get(wrapper) != simdjson::SUCCESS || wrapper.size() != 1) continue;  // Malformed
    auto [action, result] = *wrapper.begin();
    if (result["status"].get_int64().get(item.status) != simdjson::SUCCESS) item.status = 0;
    const int64_t status = item.status;
    if ((status >= 200 && status < 300) || (status == 409 && action == "create")) {
      item.verdict = status == 409 ? BulkItem::Verdict::Duplicate : BulkItem::Verdict::Done;
      continue;
    }
    if (result["error"]["type"].get_string().get(item.type) != simdjson::SUCCESS) item.type = "unknown";
    if (result["error"]["reason"].get_string().get(item.reason) != simdjson::SUCCESS) item.reason = {};
    const bool unrecoverable = std::find(unrecoverable_error_types.begin(), unrecoverable_error_types.end(),
                                         item.type) != unrecoverable_error_types.end();
    if ((status == 429 || status >= 500 || status == 0) && !unrecoverable) {
      item.verdict = BulkItem::Verdict::Again;
    } else if (status == 400 && dottedConflict(item.reason)) {
      item.verdict = BulkItem::Verdict::Conflict;
    } else {
      item.verdict = BulkItem::Verdict::Failed;
    }
  }
  return Shape::Items;
}

bool dottedConflict(std::string_view reason) {
  return (reason.find("tried to parse field [") != std::string_view::npos &&
          reason.find("as object, but found a concrete value") != std::string_view::npos) ||
         (reason.find("Could not dynamically add mapping for field [") != std::string_view::npos &&
          reason.find("must be of type object") != std::string_view::npos);
}

std::string errorReason(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view type, reason;
  if (parser.parse(body.data(), body.size()).get(doc) == simdjson::SUCCESS) {
    if (doc["error"]["type"].get_string().get(type) == simdjson::SUCCESS) {
      if (doc["error"]["reason"].get_string().get(reason) != simdjson::SUCCESS) reason = {};
      return std::string(type) + (reason.empty() ? "" : ": " + std::string(reason));
    }
    if (doc["error"].get_string().get(reason) == simdjson::SUCCESS) return std::string(reason);
  }
  return body.empty() ? "(empty body)" : std::string(body.substr(0, 200));
}

}  // namespace sluice::plugins::out_elasticsearch
