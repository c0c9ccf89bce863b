// SPDX-License-Identifier: Apache-2.0
// The Elasticsearch stand-in's administration APIs: index templates (legacy and composable), ILM
// policies, data streams, index creation with aliases, aliases and GET _nodes/http. Each answer
// follows the real server's (the shapes of its docs' examples; the error types and texts quoted
// below come from Elasticsearch's issues and sources, found with the search tool, since
// ../shared/fixtures/elasticsearch holds no responses of these APIs):
// - GET _template/<missing>: 404 with the body `{}` (elastic/elasticsearch#93125, which asks
//   for an error body and was declined).
// - PUT _template without index_patterns: 400 action_request_validation_exception "Validation
//   Failed: 1: index patterns are missing;" (#27100 shows the 6.x wording "pattern is missing").
// - GET _index_template/<missing>: 404 resource_not_found_exception "index template matching
//   [<name>] not found" (#54694).
// - PUT _index_template with settings or mappings outside "template": 400
//   x_content_parse_exception "[1:N] [index_template] unknown field [settings]".
// - GET _ilm/policy/<missing>: 404 resource_not_found_exception "Lifecycle policy not found:
//   <id>"; PUT needs a "policy" object.
// - PUT _data_stream/<name> without a matching composable template that has data_stream: 400
//   illegal_argument_exception "no matching index template found for data stream [<name>]"
//   (OpenSearch#6308, terraform-provider-opensearch#267); again for an existing one: 400
//   resource_already_exists_exception "data_stream [<name>] already exists"; GET of a missing
//   one: 404 index_not_found_exception "no such index [<name>]".
// - PUT /<index> of an existing index: 400 resource_already_exists_exception "index
//   [<name>/<uuid>] already exists" (the text fluent-plugin-elasticsearch's indexcreation
//   looks for).
// - OpenSearch has no _ilm API (its ISM plugin lives under _plugins/_ism): 400 "no handler found
//   for uri [...] and method [...]" as its RestController answers unknown paths.
// All handlers run under mu_ like the bulk handler.
#include <simdjson.h>

#include <chrono>
#include <ctime>

#include "standins/elasticsearch.h"

namespace sluice::testing {
namespace {

// Elasticsearch's simple wildcard match (Regex.simpleMatch): '*' matches any run.
bool wildcardMatch(std::string_view pattern, std::string_view name) {
  size_t p = 0, n = 0, star = std::string_view::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The index_patterns of a template body (a string or an array of strings).
std::vector<std::string> patternsOf(simdjson::dom::object body) {
  std::vector<std::string> out;
  simdjson::dom::element patterns;
  if (body["index_patterns"].get(patterns) != simdjson::SUCCESS) return out;
  std::string_view one;
  if (patterns.get_string().get(one) == simdjson::SUCCESS) {
    out.emplace_back(one);
    return out;
  }
  simdjson::dom::array list;
  if (patterns.get_array().get(list) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : list) {
      if (item.get_string().get(one) == simdjson::SUCCESS) out.emplace_back(one);
    }
  }
  return out;
}

// Resolves date math in an index name (docs: "Date math support in index and index alias
// names"): <static{now/d}static> with the default format yyyy.MM.dd, in UTC.
std::string resolveDateMath(const std::string& name) {
  if (name.size() < 2 || name.front() != '<' || name.back() != '>') return name;
  std::string inner = name.substr(1, name.size() - 2), out;
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] != '{') {
      out += inner[i];
      continue;
    }
    size_t end = inner.find('}', i);
    if (end == std::string::npos) return name;
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[16];
    std::strftime(buf, sizeof(buf), "%Y.%m.%d", &tm);
    out += buf;
    i = end;
  }
  return out;
}

}  // namespace

void ElasticsearchStandIn::registerAdmin() {
  auto& s = http_.server();
  auto json = [](httplib::Response& res, int status, const std::string& body) {
    res.status = status;
    res.set_content(body, "application/json");
  };
  auto parseObject = [this, json](const httplib::Request& req, httplib::Response& res,
                                  simdjson::dom::parser& parser, simdjson::dom::object& out) {
    if (parser.parse(req.body).get_object().get(out) != simdjson::SUCCESS) {
      json(res, 400, errorBody("parse_exception", "request body is required and must be a JSON object", 400));
      return false;
    }
    return true;
  };
  static constexpr std::string_view kAck = R"({"acknowledged":true})";

  // Legacy index templates.
  auto putLegacy = [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (!adminGate(req, res)) return;
    simdjson::dom::parser parser;
    simdjson::dom::object body;
    if (!parseObject(req, res, parser, body)) return;
    if (patternsOf(body).empty()) {
      return json(res, 400, errorBody("action_request_validation_exception",
                                      "Validation Failed: 1: index patterns are missing;", 400));
    }
    const std::string name = req.matches[1];
    if (req.get_param_value("create") == "true" && legacy_templates_.count(name) != 0) {
      return json(res, 400, errorBody("illegal_argument_exception", "index_template [" + name + "] already exists", 400));
    }
    legacy_templates_[name] = req.body;
    ++admin_writes_;
    json(res, 200, std::string(kAck));
  };
  s.Put(R"(/_template/([^/]+))", putLegacy);
  s.Post(R"(/_template/([^/]+))", putLegacy);
  s.Get(R"(/_template/([^/]+))", [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (!adminGate(req, res)) return;
    auto it = legacy_templates_.find(req.matches[1]);
    if (it == legacy_templates_.end()) return json(res, 404, "{}");
    json(res, 200, "{" + jsonString(it->first) + ":" + it->second + "}");
  });

  // Composable index templates.
  s.Put(R"(/_index_template/([^/]+))", [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (!adminGate(req, res)) return;
    simdjson::dom::parser parser;
    simdjson::dom::object body;
    if (!parseObject(req, res, parser, body)) return;
    static const std::set<std::string_view> kFields = {
        "index_patterns", "template", "composed_of", "priority", "version", "_meta", "data_stream",
        "allow_auto_create", "ignore_missing_component_templates", "deprecated"};
    for (auto field : body) {
      if (kFields.count(field.key) == 0) {
        return json(res, 400, errorBody("x_content_parse_exception",
                                        "[1:2] [index_template] unknown field [" + std::string(field.key) + "]", 400));
      }
    }
    if (patternsOf(body).empty()) {
      return json(res, 400, errorBody("action_request_validation_exception",
                                      "Validation Failed: 1: index patterns are missing;", 400));
    }
    index_templates_[req.matches[1]] = req.body;
    ++admin_writes_;
    json(res, 200, std::string(kAck));
  });
  s.Get(R"(/_index_template/([^/]+))", [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (!adminGate(req, res)) return;
    const std::string name = req.matches[1];
    auto it = index_templates_.find(name);
    if (it == index_templates_.end()) {
      return json(res, 404, errorBody("resource_not_found_exception", "index template matching [" + name + "] not found", 404));
    }
    json(res, 200, R"({"index_templates":[{"name":)" + jsonString(name) + R"(,"index_template":)" + it->second + "}]}");
  });

  // ILM policies.
  auto noHandler = [=, this](const httplib::Request& req, httplib::Response& res) {
    json(res, 400, errorBody("illegal_argument_exception",
                             "no handler found for uri [" + req.path + "] and method [" + req.method + "]", 400));
  };
  s.Put(R"(/_ilm/policy/([^/]+))", [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (!adminGate(req, res)) return;
    if (flavor_ == Flavor::OpenSearch2) return noHandler(req, res);
    simdjson::dom::parser parser;
    simdjson::dom::object body;
    if (!parseObject(req, res, parser, body)) return;
    simdjson::dom::object policy;
    if (body["policy"].get_object().get(policy) != simdjson::SUCCESS) {
      return json(res, 400, errorBody("x_content_parse_exception", "[1:2] required [policy] object is missing", 400));
    }
    ilm_policies_[req.matches[1]] = simdjson::minify(policy);
    ++admin_writes_;
    json(res, 200, std::string(kAck));
  });
  s.Get(R"(/_ilm/policy/([^/]+))", [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (!adminGate(req, res)) return;
    if (flavor_ == Flavor::OpenSearch2) return noHandler(req, res);
    const std::string id = req.matches[1];
    auto it = ilm_policies_.find(id);
    if (it == ilm_policies_.end()) {
      return json(res, 404, errorBody("resource_not_found_exception", "Lifecycle policy not found: " + id, 404));
    }
    json(res, 200, "{" + jsonString(id) + R"(:{"version":1,"modified_date":"2026-11-22T01:02:03.000Z","policy":)" +
                       it->second + "}}");
  });

  // Data streams.
  s.Put(R"(/_data_stream/([^/]+))", [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (!adminGate(req, res)) return;
    const std::string name = req.matches[1];
    if (data_streams_.count(name) != 0) {
      return json(res, 400, errorBody("resource_already_exists_exception", "data_stream [" + name + "] already exists", 400));
    }
    if (dataStreamTemplateFor(name) == nullptr) {
      return json(res, 400, errorBody("illegal_argument_exception",
                                      "no matching index template found for data stream [" + name + "]", 400));
    }
    data_streams_.insert(name);
    ++admin_writes_;
    json(res, 200, std::string(kAck));
  });
  s.Get(R"(/_data_stream/([^/]+))", [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (!adminGate(req, res)) return;
    const std::string name = req.matches[1];
    if (data_streams_.count(name) == 0) {
      return json(res, 404, errorBody("index_not_found_exception", "no such index [" + name + "]", 404));
    }
    json(res, 200, R"({"data_streams":[{"name":)" + jsonString(name) +
                       R"(,"timestamp_field":{"name":"@timestamp"},"generation":1,"status":"GREEN","hidden":false}]})");
  });

  // Index creation (the ILM bootstrap index with its write alias), aliases.
  auto createIndex = [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (!adminGate(req, res)) return;
    const std::string name = resolveDateMath(req.matches[1]);
    if (indices_.count(name) != 0) {
      return json(res, 400, errorBody("resource_already_exists_exception",
                                      "index [" + name + "/c0ffeec0ffeec0ffeec0ff] already exists", 400));
    }
    if (!req.body.empty()) {
      simdjson::dom::parser parser;
      simdjson::dom::object body;
      if (!parseObject(req, res, parser, body)) return;
      simdjson::dom::object aliases;
      if (body["aliases"].get_object().get(aliases) == simdjson::SUCCESS) {
        for (auto alias : aliases) {
          bool write = false;
          if (alias.value["is_write_index"].get_bool().get(write) == simdjson::SUCCESS && write) {
            aliases_[std::string(alias.key)] = name;
          } else if (aliases_.count(std::string(alias.key)) == 0) {
            aliases_[std::string(alias.key)] = name;
          }
        }
      }
    }
    indices_[name];
    ++admin_writes_;
    json(res, 200, R"({"acknowledged":true,"shards_acknowledged":true,"index":)" + jsonString(name) + "}");
  };
  // A date-math name arrives percent-encoded, its '/' included; the server decodes the path.
  s.Put(R"(/(<[^>]+>))", createIndex);
  s.Put(R"(/([^/_<][^/]*))", createIndex);
  s.Get(R"(/_alias/([^/]+))", [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    if (!adminGate(req, res)) return;
    const std::string name = req.matches[1];
    auto it = aliases_.find(name);
    if (it == aliases_.end()) return json(res, 404, R"({"error":"alias [)" + name + R"(] missing","status":404})");
    json(res, 200, "{" + jsonString(it->second) + R"(:{"aliases":{)" + jsonString(name) + R"(:{"is_write_index":true}}}})");
  });

  // Node discovery (what a sniffer reads: nodes.*.http.publish_address).
  s.Get("/_nodes/http", [=, this](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu_);
    ++nodes_requests_;
    if (!authorized(req, res)) return;
    std::vector<std::string> nodes = nodes_;
    if (nodes.empty()) nodes.push_back("127.0.0.1:" + std::to_string(http_.port()));
    std::string out = R"({"_nodes":{"total":)" + std::to_string(nodes.size()) + R"(,"successful":)" +
                      std::to_string(nodes.size()) + R"(,"failed":0},"cluster_name":"sluice-test","nodes":{)";
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (i > 0) out += ',';
      const std::string id = "standinnode" + std::to_string(i);
      out += jsonString(id) + R"(:{"name":"standin-)" + std::to_string(i) +
             R"(","transport_address":"127.0.0.1:9300","host":"127.0.0.1","ip":"127.0.0.1","version":"8.17.0",)"
             R"("roles":["data","ingest","master"],"http":{"bound_address":["0.0.0.0:9200"],"publish_address":)" +
             jsonString(nodes[i]) + R"(,"max_content_length_in_bytes":104857600}})";
    }
    json(res, 200, out + "}}");
  });
}

bool ElasticsearchStandIn::adminGate(const httplib::Request& req, httplib::Response& res) {
  ++admin_requests_;
  if (flavor_ != Flavor::OpenSearch2) res.set_header("X-Elastic-Product", "Elasticsearch");
  if (!authorized(req, res)) return false;
  if (admin_fail_count_ > 0) {
    --admin_fail_count_;
    res.status = admin_fail_status_;
    const char* type = admin_fail_status_ == 429 ? "es_rejected_execution_exception"
                       : admin_fail_status_ == 403 ? "security_exception"
                                                   : "unavailable_shards_exception";
    res.set_content(errorBody(type, "stand-in: injected failure", admin_fail_status_), "application/json");
    return false;
  }
  return true;
}

const std::string* ElasticsearchStandIn::dataStreamTemplateFor(std::string_view name) const {
  const std::string* best = nullptr;
  int64_t best_priority = -1;
  simdjson::dom::parser parser;
  for (const auto& [template_name, body] : index_templates_) {
    simdjson::dom::object doc;
    if (parser.parse(body).get_object().get(doc) != simdjson::SUCCESS) continue;
    int64_t priority = 0;
    if (doc["priority"].get_int64().get(priority) != simdjson::SUCCESS) priority = 0;
    bool matches = false;
    for (const std::string& p : patternsOf(doc)) matches = matches || wildcardMatch(p, name);
    if (!matches || priority <= best_priority) continue;
    best_priority = priority;
    // The highest-priority matching template decides; it makes a data stream only if it says so.
    best = doc["data_stream"].error() == simdjson::SUCCESS ? &template_name : nullptr;
  }
  return best;
}

std::string ElasticsearchStandIn::writeTarget(std::string_view name) {
  std::string n(name);
  if (auto it = aliases_.find(n); it != aliases_.end()) return it->second;
  if (indices_.count(n) == 0 && data_streams_.count(n) == 0 && dataStreamTemplateFor(n) != nullptr) {
    data_streams_.insert(n);  // auto-created by the first write, as ES does
  }
  return n;
}

std::optional<std::string> ElasticsearchStandIn::legacyTemplate(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = legacy_templates_.find(name);
  return it == legacy_templates_.end() ? std::nullopt : std::optional<std::string>(it->second);
}

std::optional<std::string> ElasticsearchStandIn::indexTemplate(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = index_templates_.find(name);
  return it == index_templates_.end() ? std::nullopt : std::optional<std::string>(it->second);
}

std::optional<std::string> ElasticsearchStandIn::ilmPolicy(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = ilm_policies_.find(id);
  return it == ilm_policies_.end() ? std::nullopt : std::optional<std::string>(it->second);
}

bool ElasticsearchStandIn::hasDataStream(const std::string& name) const {
  std::lock_guard lock(mu_);
  return data_streams_.count(name) != 0;
}

std::optional<std::string> ElasticsearchStandIn::writeIndexOf(const std::string& alias) const {
  std::lock_guard lock(mu_);
  auto it = aliases_.find(alias);
  return it == aliases_.end() ? std::nullopt : std::optional<std::string>(it->second);
}

int ElasticsearchStandIn::adminWrites() const {
  std::lock_guard lock(mu_);
  return admin_writes_;
}

int ElasticsearchStandIn::adminRequests() const {
  std::lock_guard lock(mu_);
  return admin_requests_;
}

void ElasticsearchStandIn::failNextAdmin(int count, int status) {
  std::lock_guard lock(mu_);
  admin_fail_count_ = count;
  admin_fail_status_ = status;
}

void ElasticsearchStandIn::setNodes(std::vector<std::string> publish_addresses) {
  std::lock_guard lock(mu_);
  nodes_ = std::move(publish_addresses);
}

int ElasticsearchStandIn::nodesRequests() const {
  std::lock_guard lock(mu_);
  return nodes_requests_;
}

}  // namespace sluice::testing
