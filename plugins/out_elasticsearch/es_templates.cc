// SPDX-License-Identifier: Apache-2.0
// Index templates, ILM policies, rollover aliases and data streams installed at start (on the
// engine's thread, from EsOutput::start()), following fluent-plugin-elasticsearch's
// elasticsearch_index_template.rb, elasticsearch_index_lifecycle_management.rb and
// out_elasticsearch_data_stream.rb: what each step asks, writes and skips is theirs; the
// requests and the backoff are this file's.
#include "plugins/out_elasticsearch/es_templates.h"

#include <simdjson.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "plugins/out_elasticsearch/es_internal.h"

namespace sluice::plugins::out_elasticsearch {

using C = EsConfig;

const std::array<Param<C>, kTemplateParamCount> kTemplateParams = {{
    {"template_name", &C::template_name, nullptr, "Name of the index template installed at start from template_file (only if absent, unless template_overwrite)."},
    {"template_file", &C::template_file, nullptr, "JSON file holding the template's body (legacy: index_patterns, settings, mappings; composable: index_patterns, template). Read at start."},
    {"templates", &C::templates, nullptr, "More templates installed at start, as {\"name\":\"file\", ...} (without customize_template or ILM)."},
    {"template_overwrite", &C::template_overwrite, "false", "Install the templates at every start, replacing what the cluster has."},
    {"customize_template", &C::customize_template, nullptr, "Text substitutions in template_file before it is parsed, as {\"<<shard>>\":\"3\", ...}; values are lower-cased, as the Fluentd plugin does."},
    {"use_legacy_template", &C::use_legacy_template, "true", "Install templates with the legacy _template API; false: composable _index_template (Elasticsearch 7.8 and later). Data streams always use _index_template."},
    {"max_retry_putting_template", &C::max_retry_putting_template, "10", "How often installing at start is tried again (after 2, 4, 8 … s) while the cluster cannot be reached or answers 429/5xx."},
    {"fail_on_putting_template_retry_exceed", &C::fail_on_putting_template_retry_exceed, "true", "Fail the start when installing still fails after the retries; false: warn and start."},
    {"catch_transport_exception_on_retry", &C::catch_transport_exception_on_retry, "true", "Retry installing after 429/5xx answers too; false: only while no node answers."},
    {"index_date_pattern", &C::index_date_pattern, "now/d", "With enable_ilm: the date math of the rollover alias's first index, <index_name-application_name-{now/d}-000001>; empty: no date."},
    {"index_separator", &C::index_separator, "-", "With enable_ilm: between the parts of the first index's name and of the template's pattern."},
    {"application_name", &C::application_name, "default", "With enable_ilm: the middle part of the rollover alias's first index name."},
    {"deflector_alias", &C::deflector_alias, nullptr, "With enable_ilm or rollover_index: the rollover alias (default index_name); documents are written to index_name."},
    {"rollover_index", &C::rollover_index, "false", "Create the rollover alias and its first index at start (implied by enable_ilm)."},
    {"enable_ilm", &C::enable_ilm, "false", "Index lifecycle management: install the ILM policies, the template (named after the rollover alias, pattern <index_name>-*, index.lifecycle.name and rollover_alias set) and the alias's first index, and write to the alias."},
    {"ilm_policy_id", &C::ilm_policy_id, "logstash-policy", "Name of the ILM policy installed with enable_ilm."},
    {"ilm_policy", &C::ilm_policy, nullptr, "The ILM policy as JSON ({\"policy\":{\"phases\":...}}); default: roll over at 50 GB or 30 days."},
    {"ilm_policies", &C::ilm_policies, nullptr, "Several ILM policies as JSON ({\"id\":{\"policy\":...}, ...}); not with ilm_policy."},
    {"ilm_policy_overwrite", &C::ilm_policy_overwrite, "false", "Install the ILM policy at every start, replacing the cluster's (needs ilm_policy)."},
    {"data_stream_template_name", &C::data_stream_template_name, nullptr, "With data_stream_name: the composable template installed for it (default <data_stream_name>_template)."},
    {"data_stream_ilm_name", &C::data_stream_ilm_name, nullptr, "With data_stream_name: the ILM policy installed for it (default <data_stream_name>_policy)."},
    {"data_stream_ilm_policy", &C::data_stream_ilm_policy, nullptr, "With data_stream_name: the ILM policy as JSON; default: roll over at 50 GB or 30 days."},
    {"data_stream_ilm_policy_overwrite", &C::data_stream_ilm_policy_overwrite, "false", "With data_stream_name: install the ILM policy at every start."},
    {"data_stream_template_use_index_patterns_wildcard", &C::data_stream_template_use_index_patterns_wildcard, "true", "With data_stream_name: the template's pattern is <name>* (false: the name alone)."},
    {"data_stream_setup", &C::data_stream_setup, "false", "With data_stream_name: install the data stream's ILM policy, composable template and the stream at start when missing (the default of `@type elasticsearch_data_stream`, which is fluent-plugin-elasticsearch's way to write to a data stream); false: write to a data stream set up elsewhere (needs only the create_doc privilege)."},
}};

namespace {

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::invalidConfig("If you specify a template_name you must specify a valid template file (checked '" + path + "')");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool validJsonObject(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::object o;
  return parser.parse(text.data(), text.size()).get_object().get(o) == simdjson::SUCCESS;
}

// The error Elasticsearch gave (error.type: error.reason), or the start of the body.
std::string reasonOf(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view type, reason;
  if (parser.parse(body.data(), body.size()).get(doc) == simdjson::SUCCESS &&
      doc["error"]["type"].get_string().get(type) == simdjson::SUCCESS) {
    if (doc["error"]["reason"].get_string().get(reason) != simdjson::SUCCESS) reason = "";
    return std::string(type) + ": " + std::string(reason);
  }
  return std::string(body.substr(0, 300));
}

// Data stream names (the plugin's validate_data_stream_parameters, after ES's index name rules).
Status checkDataStreamName(std::string_view what, std::string_view v) {
  const std::string value(v);
  if (value == "." || value == "..") return Status::invalidConfig(std::string(what) + " must not be . or ..: <" + value + ">");
  if (!value.empty() && (value[0] == '-' || value[0] == '_' || value[0] == '+' || value[0] == '.')) {
    return Status::invalidConfig(std::string(what) + " must not start with -,_,+,.: <" + value + ">");
  }
  if (value.find_first_of("\\/*?\"<>| ,#:") != std::string::npos) {
    return Status::invalidConfig(std::string(what) + " must not contain invalid characters \\,/,*,?,\",<,>,|, ,,,#,:: <" + value + ">");
  }
  if (lower(value) != value) return Status::invalidConfig(std::string(what) + " must be lowercase only: <" + value + ">");
  if (value.size() > 255) return Status::invalidConfig(std::string(what) + " must not be longer than 255 bytes: <" + value + ">");
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<EsTemplates>> EsTemplates::create(const EsConfig& c, const SourceLogger& log) {
  if (c.max_retry_putting_template < 0) {
    return Status::invalidConfig("'max_retry_putting_template' must be greater than or equal to zero.");
  }
  if (c.template_name.has_value() != c.template_file.has_value()) {
    return Status::invalidConfig(c.template_name ? "template_name needs template_file" : "template_file needs template_name");
  }
  if (c.ilm_policy && c.ilm_policies) return Status::invalidConfig("You can't specify ilm_policy and ilm_policies at the same time");
  if (c.ilm_policy && !validJsonObject(*c.ilm_policy)) return Status::invalidConfig("ilm_policy: not a JSON object");
  if (c.ilm_policies && !validJsonObject(*c.ilm_policies)) return Status::invalidConfig("ilm_policies: not a JSON object");
  if (c.data_stream_ilm_policy && !validJsonObject(*c.data_stream_ilm_policy)) {
    return Status::invalidConfig("data_stream_ilm_policy: not a JSON object");
  }
  if (c.enable_ilm && c.template_name && c.deflector_alias) {
    return Status::invalidConfig("deflector_alias is prohibited to use with enable_ilm at same time.");
  }
  if (c.ilm_policy_overwrite && !c.ilm_policy && !c.ilm_policies) {
    return Status::invalidConfig("ilm_policy_overwrite requires a non empty ilm_policy.");
  }
  for (const std::string* v : {c.template_name ? &*c.template_name : nullptr, &c.application_name,
                               c.deflector_alias ? &*c.deflector_alias : nullptr, &c.ilm_policy_id}) {
    if (v != nullptr && v->find("${") != std::string::npos) {
      return Status::invalidConfig("placeholders (${...}) in template_name, application_name, deflector_alias or "
                                   "ilm_policy_id are not supported: templates are installed once, at start");
    }
  }
  std::unique_ptr<EsTemplates> t(new EsTemplates(c, log));
  if (c.data_stream_name && c.data_stream_setup) {
    // sluice lower-cases index and data stream names (Elasticsearch refuses upper case).
    const std::string name = lower(*c.data_stream_name);
    const std::string tname = c.data_stream_template_name.value_or(name + "_template");
    const std::string iname = c.data_stream_ilm_name.value_or(name + "_policy");
    for (auto [what, v] : {std::pair<std::string_view, std::string_view>{"data_stream_name", name},
                           {"data_stream_template_name", tname},
                           {"data_stream_ilm_name", iname}}) {
      if (Status s = checkDataStreamName(what, v); !s) return s;
    }
    return t;
  }
  // As the plugin's template_installation_actual: ILM and the rollover alias come with
  // template_name and template_file, never without.
  if ((c.enable_ilm || c.rollover_index) && !c.template_name) {
    log.warn("enable_ilm/rollover_index without template_name and template_file installs nothing (as "
             "fluent-plugin-elasticsearch): no ILM policy, no rollover alias");
  }
  const bool rollover = (c.enable_ilm || c.rollover_index) && c.template_name;
  if (c.enable_ilm && c.template_name) {
    if (c.ilm_policies) {
      simdjson::dom::parser parser;
      simdjson::dom::object all = parser.parse(*c.ilm_policies).get_object().value_unsafe();
      for (auto [id, policy] : all) t->policies_.emplace_back(std::string(id), simdjson::minify(policy));
    } else {
      t->policies_.emplace_back(c.ilm_policy_id, c.ilm_policy.value_or(std::string(kDefaultIlmPolicy)));
    }
    if (c.logstash_format) {
      log.warn("enable_ilm with logstash_format: the ILM policy and the template (pattern <logstash_prefix>-*) are "
               "installed at start, but no per-day rollover alias is made; daily indices are written as without ILM");
    }
  }
  if (rollover && !c.logstash_format) {
    t->alias_ = lower(c.deflector_alias.value_or(c.index_name));
    if (t->alias_.find("${") != std::string::npos || t->alias_.find('%') != std::string::npos) {
      return Status::invalidConfig("enable_ilm/rollover_index: index_name with placeholders cannot be a rollover alias");
    }
  }
  if (!c.template_name && c.templates.empty() && t->policies_.empty() && t->alias_.empty()) return nullptr;
  return t;
}

EsTemplates::Answer EsTemplates::call(std::string_view method, const std::string& path, std::string_view body) {
  Answer a;
  net::HttpResponse resp;
  for (const auto& host : *hosts_) {
    net::HttpRequest req;
    const std::string url = host->base_url + path;
    req.method = method;
    req.url = url;
    req.body = body;
    if (!body.empty()) req.headers.push_back("Content-Type: application/json");
    if (!host->auth_header.empty()) req.headers.push_back(host->auth_header);
    req.timeout_ms = static_cast<int64_t>(cfg_.request_timeout.seconds * 1000);
    req.connect_timeout_ms = req.timeout_ms;
    client_->send(req, resp);
    if (!resp.transportFailed()) break;
    a.error = std::string(method) + " " + path + ": no answer from " + net::redactUrl(host->base_url) + " (" + resp.error + ")";
    a.retriable = true;
  }
  if (resp.transportFailed()) return a;
  a.error.clear();
  a.retriable = false;
  a.status = resp.status;
  a.body = std::move(resp.body);
  if (a.status == 429 || a.status >= 500) {
    a.retriable = cfg_.catch_transport_exception_on_retry;
    a.error = std::string(method) + " " + path + " answered " + std::to_string(a.status) + " " + reasonOf(a.body);
  }
  return a;
}

Result<bool> EsTemplates::exists(const std::string& path, bool& retriable) {
  Answer a = call("GET", path);
  if (!a.error.empty()) {
    retriable = a.retriable;
    return Status::unavailable(a.error);
  }
  if (a.status == 200) return true;
  if (a.status == 404) return false;
  return Status::unavailable("GET " + path + " answered " + std::to_string(a.status) + " " + reasonOf(a.body) +
                             (a.status == 401 ? " (check user/password or api_key)"
                              : a.status == 403 ? " (the user needs the manage_index_templates and manage_ilm cluster privileges)"
                                                : ""));
}

Result<std::string> EsTemplates::templateBody(const std::string& file, bool customize, bool ilm) const {
  auto text = readFile(file);
  if (!text) return text.takeStatus();
  // As the plugin: newlines removed, then each customize_template key replaced by its value
  // in lower case, then parsed.
  std::string body;
  for (char ch : *text) {
    if (ch != '\n') body += ch;
  }
  if (customize) {
    for (const auto& [key, value] : cfg_.customize_template) {
      if (key.empty()) continue;
      const std::string with = lower(value);
      for (size_t at = body.find(key); at != std::string::npos; at = body.find(key, at + with.size())) {
        body.replace(at, key.size(), with);
      }
    }
  }
  Arena arena;
  auto doc = parseJson(body, arena);
  if (!doc || !doc->isObject()) {
    return Status::invalidConfig("template file " + file + " is not a JSON object" +
                                 (doc ? std::string() : ": " + doc.status().message()));
  }
  if (!ilm) return toJson(*doc);
  // inject_ilm_settings_to_template: the pattern <index_name><separator>*, the policy and the
  // rollover alias in the settings, and an order (legacy) or priority (composable) above the
  // usual ones, raised by the separators in the name.
  Value root = doc->shallowCopy(arena);
  const std::string target = lower(cfg_.index_name);
  const std::string pattern = target + cfg_.index_separator + "*";
  root.setMember("index_patterns", Value::string(arena.copy(pattern)), arena);
  int64_t separators = 0;
  if (!cfg_.index_separator.empty()) {
    for (size_t at = target.find(cfg_.index_separator); at != std::string::npos;
         at = target.find(cfg_.index_separator, at + cfg_.index_separator.size())) {
      ++separators;
    }
  }
  const std::string policy_id = policies_.empty() ? cfg_.ilm_policy_id : policies_.front().first;
  auto withLifecycle = [&](const Value* settings) {
    Value s = settings != nullptr && settings->isObject() ? settings->shallowCopy(arena) : Value::emptyObject();
    s.setMember("index.lifecycle.name", Value::string(arena.copy(policy_id)), arena);
    s.setMember("index.lifecycle.rollover_alias", Value::string(arena.copy(alias_)), arena);
    return s;
  };
  if (cfg_.use_legacy_template) {
    root.removeMember("template");
    root.setMember("settings", withLifecycle(root.find("settings")), arena);
    const Value* order = root.find("order");
    const int64_t base = order != nullptr && order->isInt() ? order->asInt() + 1 : 51;
    root.setMember("order", Value::integer(base + separators), arena);
  } else {
    const Value* inner = root.find("template");
    Value tmpl = inner != nullptr && inner->isObject() ? inner->shallowCopy(arena) : Value::emptyObject();
    tmpl.setMember("settings", withLifecycle(tmpl.find("settings")), arena);
    root.setMember("template", tmpl, arena);
    const Value* priority = root.find("priority");
    const int64_t base = priority != nullptr && priority->isInt() ? priority->asInt() + 1 : 101;
    root.setMember("priority", Value::integer(base + separators), arena);
  }
  return toJson(root);
}

Status EsTemplates::installTemplate(const std::string& name, const std::string& file, bool overwrite, bool customize,
                                    bool ilm, bool& retriable) {
  const std::string path = (cfg_.use_legacy_template ? "/_template/" : "/_index_template/") + net::percentEncode(name);
  if (!overwrite) {
    auto present = exists(path, retriable);
    if (!present) return present.takeStatus();
    if (*present) {
      log_.debug("Template '" + name + "' configured and already installed.");
      return Status::ok();
    }
  }
  auto body = templateBody(file, customize, ilm);
  if (!body) return body.takeStatus();
  Answer a = call("PUT", path, *body);
  if (!a.error.empty()) {
    retriable = a.retriable;
    return Status::unavailable(a.error);
  }
  if (a.status != 200) {
    return Status::invalidConfig("installing template '" + name + "' from " + file + ": Elasticsearch answered " +
                                 std::to_string(a.status) + " " + reasonOf(a.body));
  }
  log_.info(overwrite ? "Template '" + name + "' overwritten with " + file + "."
                      : "Template configured, but no template installed. Installed '" + name + "' from " + file + ".");
  return Status::ok();
}

Status EsTemplates::installPolicy(const std::string& id, const std::string& policy, bool overwrite, bool& retriable) {
  const std::string path = "/_ilm/policy/" + net::percentEncode(id);
  if (!overwrite) {
    auto present = exists(path, retriable);
    if (!present) return present.takeStatus();
    if (*present) return Status::ok();
  }
  Answer a = call("PUT", path, policy);
  if (!a.error.empty()) {
    retriable = a.retriable;
    return Status::unavailable(a.error);
  }
  if (a.status != 200) {
    return Status::invalidConfig("installing ILM policy '" + id + "': Elasticsearch answered " + std::to_string(a.status) +
                                 " " + reasonOf(a.body) +
                                 (a.status == 400 && a.body.find("no handler found") != std::string::npos
                                      ? " (this cluster has no ILM: OpenSearch manages indices with ISM)"
                                      : ""));
  }
  log_.info("Installed ILM policy '" + id + "'.");
  return Status::ok();
}

Status EsTemplates::installRolloverAlias(const std::string& alias, bool& retriable) {
  auto present = exists("/_alias/" + net::percentEncode(alias), retriable);
  if (!present) return present.takeStatus();
  if (*present) {
    log_.debug("The alias '" + alias + "' is already present");
    return Status::ok();
  }
  // create_rollover_alias: <index_name-application_name-{index_date_pattern}-000001>, made the
  // alias's write index (here in the create request itself, one step instead of two).
  std::string index = "<" + lower(cfg_.index_name) + cfg_.index_separator + lower(cfg_.application_name);
  if (!cfg_.index_date_pattern.empty()) index += "-{" + cfg_.index_date_pattern + "}";
  index += "-000001>";
  std::string body = "{\"aliases\":{";
  appendJsonString(body, alias);
  body += ":{\"is_write_index\":true}}}";
  Answer a = call("PUT", "/" + net::percentEncode(index), body);
  if (!a.error.empty()) {
    retriable = a.retriable;
    return Status::unavailable(a.error);
  }
  if (a.status != 200 && a.body.find("resource_already_exists_exception") == std::string::npos) {
    return Status::invalidConfig("creating the rollover index " + index + " for alias '" + alias +
                                 "': Elasticsearch answered " + std::to_string(a.status) + " " + reasonOf(a.body));
  }
  log_.info("The alias '" + alias + "' is created for the index '" + index + "'");
  return Status::ok();
}

Status EsTemplates::installDataStream(const EsVersion& version, bool& retriable) {
  const std::string name = lower(*cfg_.data_stream_name);
  const std::string tname = cfg_.data_stream_template_name.value_or(name + "_template");
  const std::string iname = cfg_.data_stream_ilm_name.value_or(name + "_policy");
  const std::string ds_path = "/_data_stream/" + net::percentEncode(name);
  const std::string t_path = "/_index_template/" + net::percentEncode(tname);
  auto ds = exists(ds_path, retriable);
  if (!ds) return ds.takeStatus();
  if (*ds && !cfg_.data_stream_ilm_policy_overwrite) return Status::ok();
  auto tmpl = exists(t_path, retriable);
  if (!tmpl) return tmpl.takeStatus();
  // OpenSearch has no ILM (its ISM plugin works otherwise): no policy, no lifecycle setting.
  const bool ilm = !version.opensearch;
  if (ilm) {
    bool skip = !cfg_.data_stream_ilm_policy_overwrite && (*ds || *tmpl);
    if (!skip) {
      Status s = installPolicy(iname, cfg_.data_stream_ilm_policy.value_or(std::string(kDefaultIlmPolicy)),
                               cfg_.data_stream_ilm_policy_overwrite, retriable);
      if (!s) return s;
    }
  }
  if (*ds) return Status::ok();
  if (!*tmpl) {
    std::string body = "{\"index_patterns\":[";
    appendJsonString(body, name + (cfg_.data_stream_template_use_index_patterns_wildcard ? "*" : ""));
    body += "],\"data_stream\":{},\"template\":{\"settings\":{";
    if (ilm) {
      body += "\"index.lifecycle.name\":";
      appendJsonString(body, iname);
    }
    body += "}}}";
    Answer a = call("PUT", t_path, body);
    if (!a.error.empty()) {
      retriable = a.retriable;
      return Status::unavailable(a.error);
    }
    if (a.status != 200) {
      return Status::invalidConfig("Failed to create data stream: <" + name + "> installing template '" + tname +
                                   "': Elasticsearch answered " + std::to_string(a.status) + " " + reasonOf(a.body));
    }
    log_.info("Installed index template '" + tname + "' for data stream '" + name + "'.");
  }
  Answer a = call("PUT", ds_path);
  if (!a.error.empty()) {
    retriable = a.retriable;
    return Status::unavailable(a.error);
  }
  if (a.status != 200 && a.body.find("resource_already_exists_exception") == std::string::npos) {
    return Status::invalidConfig("Failed to create data stream: <" + name + "> Elasticsearch answered " +
                                 std::to_string(a.status) + " " + reasonOf(a.body));
  }
  log_.info("Created data stream '" + name + "'.");
  return Status::ok();
}

Status EsTemplates::installOnce(const EsVersion& version, bool& retriable) {
  retriable = false;
  if (cfg_.data_stream_name) return cfg_.data_stream_setup ? installDataStream(version, retriable) : Status::ok();
  if (cfg_.template_name) {
    // With enable_ilm the template is named after the rollover alias (get_template_name).
    const bool ilm = cfg_.enable_ilm && !alias_.empty();
    Status s = installTemplate(ilm ? alias_ : *cfg_.template_name, *cfg_.template_file, cfg_.template_overwrite,
                               !cfg_.customize_template.empty(), ilm, retriable);
    if (!s) return s;
  }
  for (const auto& [name, file] : cfg_.templates) {
    Status s = installTemplate(name, file, cfg_.template_overwrite, false, false, retriable);
    if (!s) return s;
  }
  if (!alias_.empty()) {
    Status s = installRolloverAlias(alias_, retriable);
    if (!s) return s;
  }
  for (const auto& [id, policy] : policies_) {
    Status s = installPolicy(id, policy, cfg_.ilm_policy_overwrite, retriable);
    if (!s) return s;
  }
  return Status::ok();
}

Status EsTemplates::install(const std::vector<std::unique_ptr<EsHost>>& hosts, const net::TlsOptions& tls,
                            const EsVersion& version) {
  hosts_ = &hosts;
  client_ = std::make_unique<net::HttpClient>(tls);
  for (int64_t retries = 0;; ++retries) {
    bool retriable = false;
    Status s = installOnce(version, retriable);
    if (s) return s;
    if (!retriable) return s;  // a refusal waiting will not change: the reason as ES gave it
    if (retries >= cfg_.max_retry_putting_template) {
      std::string message = "Could not communicate to Elasticsearch after " + std::to_string(retries) +
                            " retries. " + s.message();
      if (cfg_.fail_on_putting_template_retry_exceed) return Status::unavailable(message);
      log_.warn(message + " (starting anyway: fail_on_putting_template_retry_exceed is false)");
      return Status::ok();
    }
    const int64_t wait_s = int64_t{2} << retries;  // 2, 4, 8, … s, as the plugin's retry_operate
    log_.warn("Could not communicate to Elasticsearch, resetting connection and trying again. " + s.message());
    log_.warn("Remaining retry: " + std::to_string(cfg_.max_retry_putting_template - retries - 1) +
              ". Retry to communicate after " + std::to_string(wait_s) + " second(s).");
    client_ = std::make_unique<net::HttpClient>(tls);
    std::this_thread::sleep_for(std::chrono::seconds(wait_s));
  }
}

}  // namespace sluice::plugins::out_elasticsearch
