// SPDX-License-Identifier: Apache-2.0
#include "standins/elasticsearch.h"

#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "core/json.h"
#include "net/http_client.h"
#include "standins/elasticsearch_rules.h"

namespace sluice::testing {

std::string ElasticsearchStandIn::jsonString(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

std::string ElasticsearchStandIn::errorBody(std::string_view type, std::string_view reason, int status) {
  std::string cause = "{\"type\":" + jsonString(type) + ",\"reason\":" + jsonString(reason) + "}";
  return "{\"error\":{\"root_cause\":[" + cause + "],\"type\":" + jsonString(type) +
         ",\"reason\":" + jsonString(reason) + "},\"status\":" + std::to_string(status) + "}";
}

using es_rules::Field;
using es_rules::fits;
using es_rules::flatten;
using es_rules::invalidIndexName;
using es_rules::mappingName;
using es_rules::preview;
using es_rules::typeOf;

ElasticsearchStandIn::ElasticsearchStandIn(Flavor flavor) : flavor_(flavor) {
  auto& s = http_.server();
  s.Get("/", [this](const httplib::Request& req, httplib::Response& res) { handleInfo(req, res); });
  s.Post("/_bulk", [this](const httplib::Request& req, httplib::Response& res) { handleBulk(req, res, ""); });
  s.Put("/_bulk", [this](const httplib::Request& req, httplib::Response& res) { handleBulk(req, res, ""); });
  s.Post(R"(/([^/_][^/]*)/_bulk)", [this](const httplib::Request& req, httplib::Response& res) {
    handleBulk(req, res, req.matches[1]);
  });
  registerAdmin();
}

void ElasticsearchStandIn::requireBasicAuth(std::string user, std::string password) {
  std::lock_guard lock(mu_);
  basic_auth_ = net::base64Encode(user + ":" + password);
}

void ElasticsearchStandIn::requireApiKey(std::string encoded) {
  std::lock_guard lock(mu_);
  api_key_ = std::move(encoded);
}

void ElasticsearchStandIn::failNextBulks(int count, int status, int retry_after_s) {
  std::lock_guard lock(mu_);
  fail_count_ = count;
  fail_status_ = status;
  fail_retry_after_ = retry_after_s;
}

void ElasticsearchStandIn::rejectItemsContaining(std::string marker, int times, int status) {
  std::lock_guard lock(mu_);
  reject_marker_ = std::move(marker);
  reject_times_ = times;
  reject_status_ = status;
}

void ElasticsearchStandIn::addDataStream(std::string name) {
  std::lock_guard lock(mu_);
  data_streams_.insert(std::move(name));
}

void ElasticsearchStandIn::setMaxRequestBytes(size_t bytes) {
  std::lock_guard lock(mu_);
  max_request_bytes_ = bytes;
}

void ElasticsearchStandIn::setFaults(const Faults& faults) {
  std::lock_guard lock(mu_);
  faults_ = faults;
  rng_.seed(faults.seed);
}

void ElasticsearchStandIn::setFastMode(bool fast) {
  std::lock_guard lock(mu_);
  fast_ = fast;
}

std::vector<ElasticsearchStandIn::Document> ElasticsearchStandIn::documents(const std::string& index) const {
  std::lock_guard lock(mu_);
  auto it = indices_.find(index);
  return it == indices_.end() ? std::vector<Document>{} : it->second.docs;
}

std::vector<std::string> ElasticsearchStandIn::indices() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, index] : indices_) out.push_back(name);
  return out;
}

size_t ElasticsearchStandIn::documentCount() const {
  std::lock_guard lock(mu_);
  size_t n = fast_count_;
  for (const auto& [name, index] : indices_) n += index.docs.size();
  return n;
}

int ElasticsearchStandIn::bulkRequests() const {
  std::lock_guard lock(mu_);
  return bulk_requests_;
}

uint64_t ElasticsearchStandIn::bulkBytes() const {
  std::lock_guard lock(mu_);
  return bulk_bytes_;
}

int ElasticsearchStandIn::conflicts() const {
  std::lock_guard lock(mu_);
  return conflicts_;
}

int ElasticsearchStandIn::infoRequests() const {
  std::lock_guard lock(mu_);
  return info_requests_;
}

std::vector<std::string> ElasticsearchStandIn::requestHeaders(const std::string& name) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& headers : bulk_headers_) {
    auto it = headers.find(name);
    out.push_back(it == headers.end() ? "" : it->second);
  }
  return out;
}

bool ElasticsearchStandIn::authorized(const httplib::Request& req, httplib::Response& res) {
  if (basic_auth_.empty() && api_key_.empty()) return true;
  std::string auth = req.get_header_value("Authorization");
  if ((!basic_auth_.empty() && auth == "Basic " + basic_auth_) ||
      (!api_key_.empty() && auth == "ApiKey " + api_key_)) {
    return true;
  }
  std::string reason = auth.empty() ? "missing authentication credentials for REST request [" + req.path + "]"
                                    : "unable to authenticate user for REST request [" + req.path + "]";
  res.status = 401;
  res.set_header("WWW-Authenticate", "Basic realm=\"security\" charset=\"UTF-8\"");
  res.set_content(errorBody("security_exception", reason, 401), "application/json");
  return false;
}

void ElasticsearchStandIn::handleInfo(const httplib::Request& req, httplib::Response& res) {
  std::lock_guard lock(mu_);
  ++info_requests_;
  if (!authorized(req, res)) return;
  std::string version;
  switch (flavor_) {
    case Flavor::Es7:
      version = R"({"number":"7.17.27","build_flavor":"default","build_type":"docker","build_snapshot":false,"lucene_version":"8.11.3","minimum_wire_compatibility_version":"6.8.0","minimum_index_compatibility_version":"6.0.0-beta1"})";
      break;
    case Flavor::Es8:
      version = R"({"number":"8.17.0","build_flavor":"default","build_type":"docker","build_snapshot":false,"lucene_version":"9.12.0","minimum_wire_compatibility_version":"7.17.0","minimum_index_compatibility_version":"7.0.0"})";
      break;
    case Flavor::OpenSearch2:
      version = R"({"distribution":"opensearch","number":"2.6.0","build_type":"tar","build_snapshot":false,"lucene_version":"9.5.0","minimum_wire_compatibility_version":"7.10.0","minimum_index_compatibility_version":"7.0.0"})";
      break;
  }
  std::string tagline = flavor_ == Flavor::OpenSearch2 ? "The OpenSearch Project: https://opensearch.org/"
                                                        : "You Know, for Search";
  if (flavor_ != Flavor::OpenSearch2) res.set_header("X-Elastic-Product", "Elasticsearch");
  res.set_content(R"({"name":"standin","cluster_name":"sluice-test","cluster_uuid":"c0ffeec0ffeec0ffeec0ff","version":)" +
                      version + ",\"tagline\":" + jsonString(tagline) + "}",
                  "application/json");
}

void ElasticsearchStandIn::handleBulk(const httplib::Request& req, httplib::Response& res,
                                      const std::string& path_index) {
  int delay_ms = 0;
  {
    std::lock_guard lock(mu_);
    delay_ms = faults_.delay_ms;
  }
  // A slow cluster is the fault a test asked for (timeouts, back-pressure), not synchronisation.
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  std::lock_guard lock(mu_);
  ++bulk_requests_;
  bulk_bytes_ += req.body.size();
  bulk_headers_.push_back(req.headers);
  if (flavor_ != Flavor::OpenSearch2) res.set_header("X-Elastic-Product", "Elasticsearch");
  if (!authorized(req, res)) return;
  std::string content_type = req.get_header_value("Content-Type");
  if (content_type.find("json") == std::string::npos) {
    res.status = 406;
    res.set_content("{\"error\":\"Content-Type header [" + content_type + "] is not supported\",\"status\":406}",
                    "application/json");
    return;
  }
  if (fail_count_ > 0) {
    --fail_count_;
    res.status = fail_status_;
    if (fail_retry_after_ >= 0) res.set_header("Retry-After", std::to_string(fail_retry_after_));
    if (fail_status_ == 413) return;  // ES answers an oversized request with an empty body
    std::string type = fail_status_ == 429
                           ? (flavor_ == Flavor::OpenSearch2 ? "rejected_execution_exception" : "es_rejected_execution_exception")
                           : "unavailable_shards_exception";
    res.set_content(errorBody(type, "stand-in: injected failure", fail_status_), "application/json");
    return;
  }
  const bool unavailable = chance(faults_.request_503);
  if (unavailable || chance(faults_.request_429)) {
    const bool busy = !unavailable;
    res.status = busy ? 429 : 503;
    res.set_content(errorBody(busy ? "es_rejected_execution_exception" : "unavailable_shards_exception",
                              "stand-in: random failure", res.status),
                    "application/json");
    return;
  }
  // The bulk API's parameters (docs: "Bulk API", query parameters; and the global ones): any
  // other is refused whole, as RestController does.
  for (const auto& [name, value] : req.params) {
    static const std::set<std::string> kKnown = {
        "pipeline", "refresh", "routing", "timeout", "wait_for_active_shards", "require_alias", "require_data_stream",
        "_source", "_source_excludes", "_source_includes", "list_executed_pipelines", "include_source_on_error",
        "filter_path", "pretty", "human", "error_trace", "type"};
    if (kKnown.count(name) == 0) {
      res.status = 400;
      res.set_content(errorBody("illegal_argument_exception",
                                "request [" + req.path + "] contains unrecognized parameter: [" + name + "]", 400),
                      "application/json");
      return;
    }
  }
  if (max_request_bytes_ != 0 && req.body.size() > max_request_bytes_) {
    res.status = 413;
    return;
  }
  if (req.body.empty() || req.body.back() != '\n') {
    res.status = 400;
    res.set_content(errorBody("illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]", 400),
                    "application/json");
    return;
  }

  simdjson::dom::parser& parser = action_parser_;
  std::string items;
  bool errors = false;
  size_t pos = 0, line_no = 0;
  std::string_view body = req.body;
  auto nextLine = [&](std::string_view& line) {
    while (pos < body.size()) {
      size_t nl = body.find('\n', pos);
      line = body.substr(pos, nl - pos);
      pos = nl + 1;
      ++line_no;
      if (!line.empty()) return true;
    }
    return false;
  };
  struct Op {
    std::string action, index, id;
    std::string_view source;
  };
  std::vector<Op> ops;
  std::string_view line;
  while (nextLine(line)) {
    const size_t action_line = line_no;
    simdjson::dom::object action_obj;
    if (parser.parse(line).get_object().get(action_obj) != simdjson::SUCCESS || action_obj.size() != 1) {
      res.status = 400;
      res.set_content(errorBody("illegal_argument_exception",
                                "Malformed action/metadata line [" + std::to_string(line_no) +
                                    "], expected START_OBJECT or END_OBJECT",
                                400),
                      "application/json");
      return;
    }
    auto field = *action_obj.begin();
    std::string action(field.key);
    std::string index = path_index, id;
    std::string_view sv;
    if (field.value["_index"].get_string().get(sv) == simdjson::SUCCESS) index = sv;
    if (field.value["_id"].get_string().get(sv) == simdjson::SUCCESS) id = sv;
    if (action != "index" && action != "create" && action != "update" && action != "delete") {
      res.status = 400;
      res.set_content(errorBody("illegal_argument_exception",
                                "Malformed action/metadata line [" + std::to_string(line_no) +
                                    "], expected field [create], [delete], [index] or [update] but found [" +
                                    action + "]",
                                400),
                      "application/json");
      return;
    }
    std::string_view source;
    if (action != "delete" && !nextLine(source)) {
      res.status = 400;
      res.set_content(errorBody("action_request_validation_exception",
                                "Validation Failed: 1: no requests added;", 400),
                      "application/json");
      return;
    }
    // Elasticsearch 8 (and OpenSearch 2) take no _type: the whole request is refused
    // (BulkRequestParser: "Action/metadata line [N] contains an unknown parameter [_type]").
    if (flavor_ != Flavor::Es7 && field.value["_type"].error() == simdjson::SUCCESS) {
      res.status = 400;
      res.set_content(errorBody("illegal_argument_exception",
                                "Action/metadata line [" + std::to_string(action_line) + "] contains an unknown parameter [_type]", 400),
                      "application/json");
      return;
    }
    // An _id over 512 bytes fails the request's validation, so the whole request is refused
    // (IndexRequest.validate; BulkRequest answers 400 action_request_validation_exception).
    if (id.size() > 512) {
      res.status = 400;
      res.set_content(errorBody("action_request_validation_exception",
                                "Validation Failed: 1: id [" + id + "] is too long, must be no longer than 512 bytes but was: " +
                                    std::to_string(id.size()) + ";", 400),
                      "application/json");
      return;
    }
    if (index.empty()) {
      res.status = 400;
      res.set_content(errorBody("action_request_validation_exception",
                                "Validation Failed: 1: index is missing;", 400),
                      "application/json");
      return;
    }
    ops.push_back({std::move(action), std::move(index), std::move(id), source});
  }
  // The whole request was read and validated before any item is applied, as ES parses a bulk
  // request whole first: a request refused with 400 stored nothing.
  for (Op& op : ops) {
    if (!items.empty()) items += ',';
    if (!applyItem(op.action, op.index, std::move(op.id), op.source, items)) errors = true;
  }
  res.set_content("{\"took\":1,\"errors\":" + std::string(errors ? "true" : "false") + ",\"items\":[" + items + "]}",
                  "application/json");
  if (chance(faults_.cut_after_processing)) HttpServer::cutConnection(res);
}

bool ElasticsearchStandIn::applyItem(std::string_view action, std::string_view index_name, std::string id,
                                     std::string_view source, std::string& items) {
  if (fast_ && !source.empty() && source.front() == '{' && !id.empty()) {
    // Validated action line; the source is neither mapped nor kept.
    items += '{';
    appendJsonString(items, action);
    items += ":{\"_index\":";
    appendJsonString(items, index_name);
    items += ",\"_id\":";
    appendJsonString(items, id);
    items += ",\"_version\":1,\"result\":\"created\",\"_seq_no\":";
    items += std::to_string(fast_count_++);
    items += ",\"_primary_term\":1,\"status\":201}}";
    return true;
  }
  const std::string target = writeTarget(index_name);
  index_name = target;
  Index& index = indices_[target];
  std::string type7 = flavor_ == Flavor::Es7 ? ",\"_type\":\"_doc\"" : "";
  auto head = [&] {
    return "{" + jsonString(action) + ":{\"_index\":" + jsonString(index_name) + type7 +
           ",\"_id\":" + jsonString(id);
  };
  auto fail = [&](int status, std::string_view type, const std::string& reason) {
    items += head() + ",\"status\":" + std::to_string(status) + ",\"error\":{\"type\":" + jsonString(type) +
             ",\"reason\":" + jsonString(reason) + ",\"index\":" + jsonString(index_name) + "}}}";
    return false;
  };

  // Index names: none of \ / * ? " < > | space , # :, not starting with - _ +, at most 255
  // bytes, not . or .., lower case (invalidIndexName).
  if (std::string why = invalidIndexName(index_name); !why.empty()) {
    return fail(400, "invalid_index_name_exception", "Invalid index name [" + std::string(index_name) + "], " + why);
  }
  // Data streams take create only, and each document needs @timestamp.
  const bool data_stream = data_streams_.count(std::string(index_name)) != 0;
  if (data_stream && action != "create") {
    return fail(400, "illegal_argument_exception",
                "only write ops with an op_type of create are allowed in data streams");
  }
  if (chance(faults_.item_429)) {
    return fail(429, flavor_ == Flavor::OpenSearch2 ? "rejected_execution_exception" : "es_rejected_execution_exception",
                "rejected execution of primary operation [stand-in: random]");
  }
  const bool exists = [&] {
    auto it = indices_.find(std::string(index_name));
    return it != indices_.end() && !id.empty() && it->second.by_id.count(id) != 0;
  }();
  if (!exists && chance(faults_.item_400)) {  // a stored document would be a 409, not a 400
    return fail(400, flavor_ == Flavor::Es8 ? "document_parsing_exception" : "mapper_parsing_exception",
                "failed to parse field [stand-in] of type [long] in document with id '" + id + "'");
  }
  if (!reject_marker_.empty() && source.find(reject_marker_) != std::string_view::npos) {
    int& seen = rejected_[std::string(source)];
    if (seen < reject_times_) {
      ++seen;
      if (reject_status_ != 429) {
        return fail(reject_status_, "unavailable_shards_exception", "[" + std::string(index_name) +
                    "][0] primary shard is not active [stand-in]");
      }
      return fail(429, flavor_ == Flavor::OpenSearch2 ? "rejected_execution_exception" : "es_rejected_execution_exception",
                  "rejected execution of primary operation [stand-in]");
    }
  }

  if (id.empty()) {
    if (action == "update" || action == "delete") {
      return fail(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;");
    }
    char buf[24];
    std::snprintf(buf, sizeof(buf), "sa%018llx", static_cast<unsigned long long>(++next_auto_id_));
    id = buf;
  }
  auto existing = index.by_id.find(id);
  if (action == "delete") {
    if (existing == index.by_id.end()) {
      items += head() + ",\"_version\":1,\"result\":\"not_found\",\"status\":404}}";
      return true;  // not an error in the bulk sense
    }
    index.docs.erase(index.docs.begin() + static_cast<std::ptrdiff_t>(existing->second));
    index.by_id.clear();
    for (size_t i = 0; i < index.docs.size(); ++i) index.by_id[index.docs[i].id] = i;
    items += head() + ",\"_version\":2,\"result\":\"deleted\",\"status\":200}}";
    return true;
  }

  simdjson::dom::parser& parser = source_parser_;  // apart from the action line's, still in use
  simdjson::dom::object doc;
  const char* parse_error_type = flavor_ == Flavor::Es8 ? "document_parsing_exception" : "mapper_parsing_exception";
  if (parser.parse(source).get_object().get(doc) != simdjson::SUCCESS) {
    return fail(400, parse_error_type, "failed to parse");
  }
  if (action == "update") {
    simdjson::dom::element partial;
    bool upsert = false;
    if (doc["doc_as_upsert"].get_bool().get(upsert) != simdjson::SUCCESS) upsert = false;
    if (doc["doc"].get(partial) != simdjson::SUCCESS || !partial.is_object()) {
      return fail(400, "action_request_validation_exception", "Validation Failed: 1: script or doc is missing;");
    }
    if (existing == index.by_id.end() && !upsert) {
      return fail(404, "document_missing_exception", "[" + id + "]: document missing");
    }
    doc = partial.get_object().value_unsafe();
  }
  if (action == "create" && existing != index.by_id.end()) {
    ++conflicts_;
    return fail(409, "version_conflict_engine_exception",
                "[" + id + "]: version conflict, document already exists (current version [1])");
  }
  if (data_stream && doc["@timestamp"].error() != simdjson::SUCCESS) {
    return fail(400, parse_error_type, "data stream timestamp field [@timestamp] is missing");
  }
  // Dynamic mapping: the first value a field (by its dotted path, at any depth, dotted keys
  // expanded) gets decides its type, also within one document (DocumentParser).
  std::vector<Field> fields;
  flatten(doc, "", fields);
  std::map<std::string, char> added;
  for (const Field& f : fields) {
    if (f.path == "_id" || f.path == "_index") {
      return fail(400, parse_error_type,
                  "Field [" + f.path + "] is a metadata field and cannot be added inside a document. "
                  "Use the index API request parameters.");
    }
    const char type = f.implied_object ? 'o' : typeOf(f.value);
    char mapped = 0;
    if (auto a = added.find(f.path); a != added.end()) {
      mapped = a->second;
    } else if (auto m = index.field_types.find(f.path); m != index.field_types.end()) {
      mapped = m->second;
    }
    if (mapped == 0) {
      if (type != 0) added.emplace(f.path, type);
      continue;
    }
    if (f.implied_object ? mapped == 'o' : fits(mapped, type, f.value)) continue;
    if (mapped == 'o') {
      return fail(400, parse_error_type,
                  "object mapping for [" + f.path + "] tried to parse field [" + f.leaf +
                      "] as object, but found a concrete value");
    }
    if (f.implied_object) {
      return fail(400, parse_error_type,
                  "Could not dynamically add mapping for field [" + f.full + "]. Existing mapping for [" + f.path +
                      "] must be of type object but found [" + mappingName(mapped) + "].");
    }
    return fail(400, parse_error_type,
                "failed to parse field [" + f.path + "] of type [" + mappingName(mapped) +
                    "] in document with id '" + id + "'. Preview of field's value: '" + preview(f.value) + "'");
  }
  // index.mapping.depth.limit (20) and index.mapping.total_fields.limit (1000; a dynamic
  // string is a text field with a keyword sub-field: two).
  for (const auto& [path, type] : added) {
    if (type == 'o' && std::count(path.begin(), path.end(), '.') + 1 > 20) {
      return fail(400, parse_error_type, "Limit of mapping depth [20] has been exceeded due to object field [" + path + "]");
    }
  }
  size_t new_fields = 0;
  for (const auto& [path, type] : added) new_fields += type == 's' ? 2 : 1;
  if (index.field_count + new_fields > 1000) {
    return fail(400, "illegal_argument_exception",
                "Limit of total fields [1000] has been exceeded while adding new fields [" + std::to_string(new_fields) + "]");
  }
  index.field_count += new_fields;
  for (const auto& [path, type] : added) index.field_types.emplace(path, type);

  std::string stored = action == "update" ? simdjson::minify(doc) : std::string(source);
  int status = 201, version = 1;
  const char* result = "created";
  if (existing != index.by_id.end()) {
    index.docs[existing->second].source = std::move(stored);
    status = 200;
    version = 2;
    result = "updated";
  } else {
    index.by_id[id] = index.docs.size();
    index.docs.push_back({id, std::move(stored)});
  }
  items += head() + ",\"_version\":" + std::to_string(version) + ",\"result\":\"" + result +
           "\",\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},\"_seq_no\":" +
           std::to_string(index.seq_no++) + ",\"_primary_term\":1,\"status\":" + std::to_string(status) + "}}";
  return true;
}

}  // namespace sluice::testing
