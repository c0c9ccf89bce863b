// SPDX-License-Identifier: Apache-2.0
// Templates, ILM policies, rollover aliases and data streams installed by the elasticsearch
// output at start, against the Elasticsearch stand-in (a real HTTP server): once across
// restarts, again with the overwrite flags, retried while the cluster fails, clear errors.

#include <gtest/gtest.h>

#include <simdjson.h>

#include <ctime>
#include <fstream>
#include <sstream>

#include "plugins/out_elasticsearch/es_output.h"
#include "standins/elasticsearch.h"
#include "support/test_support.h"

#include <regex>

namespace sluice::plugins::out_elasticsearch {
namespace {

using testing::ElasticsearchStandIn;
using testing::PluginFactory;
using testing::TempDir;

std::string hostPort(const ElasticsearchStandIn& es) {
  return "host 127.0.0.1\nport " + std::to_string(es.port()) + "\n";
}

std::string writeFile(const TempDir& dir, const std::string& name, const std::string& text) {
  std::string path = dir.path() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// A legacy template as users write them, with the placeholders of the plugin's README.
constexpr std::string_view kLegacyTemplate = R"({
  "index_patterns": ["etl-webserver-*"],
  "settings": {"number_of_shards": "<<shard>>", "number_of_replicas": "<<replica>>"},
  "mappings": {"properties": {"message": {"type": "text"}}}
})";

constexpr std::string_view kComposableTemplate = R"({
  "index_patterns": ["app-*"],
  "template": {"settings": {"number_of_shards": 1}, "mappings": {"properties": {"message": {"type": "text"}}}},
  "priority": 200
})";

// Starts an output of `type` built from `config` (the stand-in's host and port added).
Status startOutput(const ElasticsearchStandIn& es, const std::string& config, std::string_view type = "elasticsearch") {
  PluginFactory f;
  auto made = f.make(PluginKind::Output, type, hostPort(es) + config);
  if (!made) return made.takeStatus();
  return (*made)->start();
}

std::string todayUtc() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y.%m.%d", &tm);
  return buf;
}

TEST(EsTemplatesTest, LegacyTemplateInstalledOnceAcrossRestartsWithCustomization) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  TempDir dir;
  const std::string file = writeFile(dir, "t.json", std::string(kLegacyTemplate));
  const std::string config = "template_name etl\ntemplate_file " + file +
                             "\ncustomize_template {\"<<shard>>\": \"3\",\"<<replica>>\": \"0\"}\n";
  ASSERT_TRUE(startOutput(es, config).isOk());
  auto body = es.legacyTemplate("etl");
  ASSERT_TRUE(body.has_value());
  EXPECT_NE(body->find("\"number_of_shards\":\"3\""), std::string::npos) << *body;
  EXPECT_NE(body->find("\"number_of_replicas\":\"0\""), std::string::npos) << *body;
  EXPECT_EQ(es.adminWrites(), 1);
  // A restart asks, finds it and writes nothing.
  ASSERT_TRUE(startOutput(es, config).isOk());
  ASSERT_TRUE(startOutput(es, config).isOk());
  EXPECT_EQ(es.adminWrites(), 1);
  // template_overwrite writes it at every start.
  ASSERT_TRUE(startOutput(es, config + "template_overwrite true\n").isOk());
  ASSERT_TRUE(startOutput(es, config + "template_overwrite true\n").isOk());
  EXPECT_EQ(es.adminWrites(), 3);
}

TEST(EsTemplatesTest, ComposableTemplatesAndTheTemplatesHash) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  TempDir dir;
  const std::string app = writeFile(dir, "app.json", std::string(kComposableTemplate));
  const std::string other = writeFile(dir, "other.json", R"({"index_patterns":["other-*"],"template":{}})");
  ASSERT_TRUE(startOutput(es, "use_legacy_template false\ntemplate_name app\ntemplate_file " + app +
                                  "\ntemplates {\"other\":\"" + other + "\"}\n").isOk());
  EXPECT_TRUE(es.indexTemplate("app").has_value());
  EXPECT_TRUE(es.indexTemplate("other").has_value());
  EXPECT_FALSE(es.legacyTemplate("app").has_value());
  // A legacy body sent to the composable API is refused with Elasticsearch's reason, at once.
  const std::string legacy = writeFile(dir, "legacy.json", std::string(kLegacyTemplate));
  Status s = startOutput(es, "use_legacy_template false\ntemplate_name bad\ntemplate_file " + legacy +
                                 "\nmax_retry_putting_template 3\n");
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("unknown field [settings]"), std::string::npos) << s.message();
}

TEST(EsTemplatesTest, IlmInstallsPolicyTemplateAndRolloverAliasOnce) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  TempDir dir;
  const std::string file = writeFile(dir, "t.json", std::string(kLegacyTemplate));
  // The shape of the fixture troubleshooting_ilm_k8s.conf.
  const std::string policy =
      R"({"policy": {"phases": {"hot": {"min_age": "0ms","actions": {"rollover": {"max_age": "5m","max_size": "3gb"}}}}}})";
  const std::string config = "index_name etl-webserver\napplication_name etl\nenable_ilm true\n"
                             "ilm_policy_id etl-webserver\nilm_policy " + policy +
                             "\ntemplate_name etl-webserver-template\ntemplate_file " + file +
                             "\ncustomize_template {\"<<shard>>\": \"3\",\"<<replica>>\": \"0\"}\n";
  ASSERT_TRUE(startOutput(es, config).isOk());
  auto stored = es.ilmPolicy("etl-webserver");
  ASSERT_TRUE(stored.has_value());
  EXPECT_NE(stored->find("\"max_size\":\"3gb\""), std::string::npos) << *stored;
  // The template is named after the rollover alias, matches <index_name>-*, and names the
  // policy and the alias.
  auto tmpl = es.legacyTemplate("etl-webserver");
  ASSERT_TRUE(tmpl.has_value());
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(*tmpl).value();
  EXPECT_EQ(std::string_view(doc["index_patterns"].get_string().value()), "etl-webserver-*");
  EXPECT_EQ(std::string_view(doc["settings"]["index.lifecycle.name"].get_string().value()), "etl-webserver");
  EXPECT_EQ(std::string_view(doc["settings"]["index.lifecycle.rollover_alias"].get_string().value()), "etl-webserver");
  EXPECT_EQ(std::string_view(doc["settings"]["number_of_shards"].get_string().value()), "3");
  EXPECT_EQ(doc["order"].get_int64().value(), 52);  // 51 + the one separator in etl-webserver
  // The alias's first index, from date math, is its write index; documents go through it.
  EXPECT_EQ(es.writeIndexOf("etl-webserver"), "etl-webserver-etl-" + todayUtc() + "-000001");
  const int writes = es.adminWrites();
  EXPECT_EQ(writes, 3);  // template, index with alias, policy
  ASSERT_TRUE(startOutput(es, config).isOk());
  EXPECT_EQ(es.adminWrites(), writes) << "a restart changed the cluster";
  ASSERT_TRUE(startOutput(es, config + "ilm_policy_overwrite true\n").isOk());
  EXPECT_EQ(es.adminWrites(), writes + 1) << "ilm_policy_overwrite puts the policy again";

  PluginFactory f;
  auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch", hostPort(es) + config);
  ASSERT_TRUE(out->start().isOk());
  Batch b;
  b.add("etl", 1795309323LL * kNanosPerSecond, *parseJson(R"({"message":"hello"})", b.arena()));
  FormattedEvents bytes;
  out->format(b, bytes);
  ASSERT_EQ(out->write(ChunkView(bytes.bytes, bytes.ends, nullptr)).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(es.documents("etl-webserver-etl-" + todayUtc() + "-000001").size(), 1u);
}

TEST(EsTemplatesTest, IlmPolicyOverwriteNeedsAPolicyAndIlmNeedsATemplate) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  Status s = startOutput(es, "enable_ilm true\nilm_policy_overwrite true\n");
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("ilm_policy_overwrite requires a non empty ilm_policy"), std::string::npos) << s.message();
  // As the plugin: without template_name nothing is installed.
  ASSERT_TRUE(startOutput(es, "enable_ilm true\n").isOk());
  EXPECT_EQ(es.adminRequests(), 0);
  EXPECT_FALSE(startOutput(es, "enable_ilm true\nilm_policy {not json\n").isOk());
  EXPECT_FALSE(startOutput(es, "template_name x\n").isOk());
}

// @type elasticsearch_data_stream (fluent-plugin-elasticsearch's): the policy, the composable
// template and the stream are installed once; a restart changes nothing.
TEST(EsTemplatesTest, DataStreamPolicyTemplateAndStreamOnce) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  constexpr std::string_view kType = "elasticsearch_data_stream";
  const std::string config = "data_stream_name logs-app\n";
  ASSERT_TRUE(startOutput(es, config, kType).isOk());
  EXPECT_TRUE(es.ilmPolicy("logs-app_policy").has_value());
  auto tmpl = es.indexTemplate("logs-app_template");
  ASSERT_TRUE(tmpl.has_value());
  EXPECT_NE(tmpl->find("\"index_patterns\":[\"logs-app*\"]"), std::string::npos) << *tmpl;
  EXPECT_NE(tmpl->find("\"index.lifecycle.name\":\"logs-app_policy\""), std::string::npos) << *tmpl;
  EXPECT_TRUE(es.hasDataStream("logs-app"));
  EXPECT_EQ(es.adminWrites(), 3);
  ASSERT_TRUE(startOutput(es, config, kType).isOk());
  EXPECT_EQ(es.adminWrites(), 3);
  // The elasticsearch type installs the same with data_stream_setup true.
  ASSERT_TRUE(startOutput(es, "data_stream_name logs-b\ndata_stream_setup true\ndata_stream_ilm_name shared\n").isOk());
  EXPECT_TRUE(es.hasDataStream("logs-b"));
  EXPECT_TRUE(es.ilmPolicy("shared").has_value());
  EXPECT_EQ(es.adminWrites(), 6);
  // Names the data stream API refuses are refused at configuration, as the plugin does.
  Status s = startOutput(es, "data_stream_name \"logs app\"\n", kType);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("'logs app'"), std::string::npos) << s.message();
  EXPECT_FALSE(startOutput(es, "data_stream_name logs-x\ndata_stream_template_name Upper\n", kType).isOk());
  EXPECT_FALSE(startOutput(es, "data_stream_name logs-x\ndata_stream_template_name _t\n", kType).isOk());
  s = startOutput(es, "", kType);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("missing required parameter 'data_stream_name'"), std::string::npos) << s.message();
  // data_stream_setup false, or the elasticsearch type (whose default it is): a data stream set
  // up elsewhere, nothing is asked.
  const int requests = es.adminRequests();
  ASSERT_TRUE(startOutput(es, "data_stream_name other\ndata_stream_setup false\n", kType).isOk());
  ASSERT_TRUE(startOutput(es, "data_stream_name other\n").isOk());
  EXPECT_EQ(es.adminRequests(), requests);
  EXPECT_FALSE(es.hasDataStream("other"));
}

TEST(EsTemplatesTest, DataStreamOnOpenSearchHasNoIlm) {
  ElasticsearchStandIn es(ElasticsearchStandIn::Flavor::OpenSearch2);
  ASSERT_TRUE(es.start());
  ASSERT_TRUE(startOutput(es, "data_stream_name logs-app\n", "elasticsearch_data_stream").isOk());
  EXPECT_TRUE(es.hasDataStream("logs-app"));
  auto tmpl = es.indexTemplate("logs-app_template");
  ASSERT_TRUE(tmpl.has_value());
  EXPECT_EQ(tmpl->find("lifecycle"), std::string::npos) << *tmpl;
}

TEST(EsTemplatesTest, RetriesWhileTheClusterFailsThenFailsClearly) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  TempDir dir;
  const std::string file = writeFile(dir, "t.json", std::string(kLegacyTemplate));
  const std::string config = "template_name etl\ntemplate_file " + file + "\nmax_retry_putting_template 1\n";
  // One 503: tried again after 2 s, installed.
  es.failNextAdmin(1, 503);
  ASSERT_TRUE(startOutput(es, config).isOk());
  EXPECT_TRUE(es.legacyTemplate("etl").has_value());

  ElasticsearchStandIn down;
  ASSERT_TRUE(down.start());
  down.failNextAdmin(100, 503);
  Status s = startOutput(down, config);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("after 1 retries"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("503"), std::string::npos) << s.message();
  EXPECT_TRUE(startOutput(down, "template_name etl\ntemplate_file " + file +
                                    "\nmax_retry_putting_template 0\nfail_on_putting_template_retry_exceed false\n").isOk());

  // A refusal that waiting will not change fails at once, with the reason.
  ElasticsearchStandIn denied;
  ASSERT_TRUE(denied.start());
  denied.failNextAdmin(1, 403);
  s = startOutput(denied, config);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("manage_index_templates"), std::string::npos) << s.message();
  EXPECT_EQ(denied.adminRequests(), 1);

  // A template file that is not there.
  s = startOutput(es, "template_name x\ntemplate_file " + dir.path() + "/missing.json\n");
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("missing.json"), std::string::npos) << s.message();
}

TEST(EsTemplatesTest, TemplateBodyWithIlmForComposableTemplates) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  TempDir dir;
  const std::string file = writeFile(dir, "c.json", std::string(kComposableTemplate));
  ASSERT_TRUE(startOutput(es, "index_name app\nenable_ilm true\nuse_legacy_template false\ntemplate_name app-t\n"
                              "template_file " + file + "\nindex_date_pattern \"\"\n").isOk());
  auto tmpl = es.indexTemplate("app");
  ASSERT_TRUE(tmpl.has_value());
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(*tmpl).value();
  EXPECT_EQ(std::string_view(doc["template"]["settings"]["index.lifecycle.name"].get_string().value()), "logstash-policy");
  EXPECT_EQ(doc["priority"].get_int64().value(), 201);
  EXPECT_TRUE(es.ilmPolicy("logstash-policy").has_value());
  EXPECT_EQ(es.writeIndexOf("app"), "app-default-000001");
}

// The ILM example of fluent-plugin-elasticsearch's README.Troubleshooting.md (the fixture
// troubleshooting_ilm_k8s.conf), its <match> body as it is, with what the README leaves to the
// reader filled in ($HOST, $PORT, the template file), installs its policy, template and alias.
TEST(EsTemplatesTest, TheReadmeIlmExampleInstallsAgainstTheStandIn) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures not present";
  std::ifstream in(testing::sharedDir() +
                   "/fixtures/fluentd-configs/fluent-plugin-elasticsearch-readme/troubleshooting_ilm_k8s.conf");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  const size_t open = text.find('\n', text.find("<match "));
  std::string body = text.substr(open + 1, text.find("</match>") - open - 1);
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  TempDir dir;
  const std::string file = writeFile(dir, "index-template.json", R"({"index_patterns":["x-*"],"template":{
    "settings":{"number_of_shards":"<<shard>>","number_of_replicas":"<<replica>>"}},"priority":10})");
  body = std::regex_replace(body, std::regex("\\$HOST"), "127.0.0.1");
  body = std::regex_replace(body, std::regex("\\$PORT"), std::to_string(es.port()));
  body = std::regex_replace(body, std::regex("/configs/index-template.json"), file);
  PluginFactory f;
  auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch", body);
  ASSERT_TRUE(out->start().isOk());
  auto policy = es.ilmPolicy("etl-webserver");
  ASSERT_TRUE(policy.has_value());
  EXPECT_NE(policy->find("\"delete_searchable_snapshot\":true"), std::string::npos) << *policy;
  auto tmpl = es.indexTemplate("etl-webserver");  // use_legacy_template false; named after the alias
  ASSERT_TRUE(tmpl.has_value());
  EXPECT_NE(tmpl->find("\"number_of_shards\":\"3\""), std::string::npos) << *tmpl;
  EXPECT_NE(tmpl->find("\"index_patterns\":\"etl-webserver-*\""), std::string::npos) << *tmpl;
  EXPECT_NE(tmpl->find("\"priority\":12"), std::string::npos) << *tmpl;  // 10 + 1 + one separator
  EXPECT_EQ(es.writeIndexOf("etl-webserver"), "etl-webserver-etl-webserver-000001");  // index_date_pattern ""
}

}  // namespace
}  // namespace sluice::plugins::out_elasticsearch
