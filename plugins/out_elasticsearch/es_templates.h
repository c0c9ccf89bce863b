// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the Elasticsearch output installs in the cluster when it starts, as
// fluent-plugin-elasticsearch does: index templates (template_name + template_file, the
// templates hash), legacy (_template) or composable (_index_template) by use_legacy_template,
// with customize_template's substitutions; with enable_ilm the ILM policies, the template
// rewritten for the rollover alias and the alias's first index; with data_stream_name the
// data stream's ILM policy, its composable template and the data stream. Each step asks first
// and writes only what is missing (or, with the overwrite flags, writes again), so a restart
// changes nothing. Runs once, on the engine's thread, from EsOutput::start().

#include <memory>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "net/http_client.h"
#include "plugins/out_elasticsearch/es_output.h"

namespace sluice::plugins::out_elasticsearch {

// The parameters of templates, ILM and data streams (appended to the output's table).
inline constexpr size_t kTemplateParamCount = 25;
extern const std::array<Param<EsConfig>, kTemplateParamCount> kTemplateParams;

// fluent-plugin-elasticsearch's default ILM policy (default-ilm-policy.json): roll over at
// 50 GB or 30 days.
inline constexpr std::string_view kDefaultIlmPolicy =
    R"({"policy":{"phases":{"hot":{"actions":{"rollover":{"max_size":"50gb","max_age":"30d"}}}}}})";

// Installs templates, policies and data streams. Not thread-safe; used by start() only.
class EsTemplates {
 public:
  // Checks what can be checked without the cluster (inline JSON, names, combinations);
  // nullptr when there is nothing to install. Files are read at install(), as the plugin does
  // (so --dry-run does not need them).
  // REQUIRES: `config` outlives the object (the output's own copy).
  static Result<std::unique_ptr<EsTemplates>> create(const EsConfig& config, const SourceLogger& log);

  // Installs everything, retrying the whole sequence after 2, 4, 8 … s (max_retry_putting_template
  // times) while the cluster cannot be reached or answers 429/5xx. Fails with Elasticsearch's
  // reason on any other refusal, and after the retries when fail_on_putting_template_retry_exceed
  // (otherwise warns and returns ok). `hosts` are tried in order for each request.
  Status install(const std::vector<std::unique_ptr<EsHost>>& hosts, const net::TlsOptions& tls, const EsVersion& version);

  // For tests: the body a template file becomes (customize_template applied, ILM settings
  // injected when enabled).
  Result<std::string> templateBody(const std::string& file, bool customize, bool ilm) const;

 private:
  EsTemplates(const EsConfig& config, const SourceLogger& log) : cfg_(config), log_(log) {}

  // One request; `retriable` is set when the failure may pass (no answer, 429, 5xx).
  struct Answer {
    long status = 0;
    std::string body;
    std::string error;  // set when the request failed in a way install() reports
    bool retriable = false;
  };
  Answer call(std::string_view method, const std::string& path, std::string_view body = {});
  Status installOnce(const EsVersion& version, bool& retriable);
  Status installTemplate(const std::string& name, const std::string& file, bool overwrite, bool customize,
                         bool ilm, bool& retriable);
  Status installPolicy(const std::string& id, const std::string& policy, bool overwrite, bool& retriable);
  Status installRolloverAlias(const std::string& alias, bool& retriable);
  Status installDataStream(const EsVersion& version, bool& retriable);
  // True when `path` exists (200), false on 404; an error otherwise.
  Result<bool> exists(const std::string& path, bool& retriable);

  const EsConfig& cfg_;  // the output's, which outlives this
  const SourceLogger log_;
  const std::vector<std::unique_ptr<EsHost>>* hosts_ = nullptr;
  std::unique_ptr<net::HttpClient> client_;
  std::vector<std::pair<std::string, std::string>> policies_;  // id -> JSON, with enable_ilm
  std::string alias_;  // the rollover alias with enable_ilm (deflector_alias or index_name)
};

}  // namespace sluice::plugins::out_elasticsearch
