// SPDX-License-Identifier: Apache-2.0
// The Elasticsearch stand-in answers like Elasticsearch: checked through the real HTTP client
// and against the real responses in ../shared/fixtures/elasticsearch.
#include "standins/elasticsearch.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <set>

#include "codec/codec.h"
#include "core/json.h"
#include "net/http_client.h"
#include "support/test_support.h"

namespace sluice::testing {
namespace {

using Flavor = ElasticsearchStandIn::Flavor;

class EsStandInTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(es_.start()); }

  net::HttpResponse bulk(std::string_view body, std::string path = "/_bulk",
                         std::vector<std::string> headers = {"Content-Type: application/x-ndjson"}) {
    return httpPost(client_, es_.url(path), body, std::move(headers));
  }

  // items[i].<action>.<field> of a bulk answer, as text ("" when absent).
  static std::string item(const std::string& body, size_t i, const char* field) {
    simdjson::dom::parser parser;
    simdjson::dom::element root = parser.parse(body).value();
    simdjson::dom::object inner = (*root["items"].get_array().value().at(i).get_object().value().begin()).value.get_object().value();
    simdjson::dom::element v;
    if (inner.at_pointer(field).get(v) != simdjson::SUCCESS) return "";
    if (v.is_string()) return std::string(v.get_string().value());
    return simdjson::minify(v);
  }
  static bool errors(const std::string& body) {
    simdjson::dom::parser parser;
    return parser.parse(body)["errors"].get_bool().value();
  }

  ElasticsearchStandIn es_;
  net::HttpClient client_;
};

TEST_F(EsStandInTest, CreatesDocumentsAndAnswers409ForAnIdThatExists) {
  std::string body =
      "{\"create\":{\"_index\":\"logs\",\"_id\":\"a1\"}}\n{\"msg\":\"one\"}\n"
      "{\"create\":{\"_index\":\"logs\"}}\n{\"msg\":\"two\"}\n";
  net::HttpResponse res = bulk(body);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_FALSE(errors(res.body));
  EXPECT_EQ(item(res.body, 0, "/status"), "201");
  EXPECT_EQ(item(res.body, 0, "/result"), "created");
  EXPECT_EQ(item(res.body, 0, "/_id"), "a1");
  EXPECT_EQ(item(res.body, 1, "/_id").size(), 20u);  // generated, as long as ES's
  res = bulk("{\"create\":{\"_index\":\"logs\",\"_id\":\"a1\"}}\n{\"msg\":\"one again\"}\n");
  EXPECT_TRUE(errors(res.body));
  EXPECT_EQ(item(res.body, 0, "/status"), "409");
  EXPECT_EQ(item(res.body, 0, "/error/type"), "version_conflict_engine_exception");
  EXPECT_EQ(item(res.body, 0, "/error/reason"), "[a1]: version conflict, document already exists (current version [1])");
  ASSERT_EQ(es_.documents("logs").size(), 2u);
  EXPECT_EQ(es_.documents("logs")[0].source, "{\"msg\":\"one\"}");
  EXPECT_EQ(es_.bulkRequests(), 2);
}

TEST_F(EsStandInTest, IndexOverwritesUpdateNeedsTheDocumentDeleteOf404IsNoError) {
  net::HttpResponse res = bulk(
      "{\"index\":{\"_id\":\"x\"}}\n{\"v\":1}\n"
      "{\"index\":{\"_id\":\"x\"}}\n{\"v\":2}\n"
      "{\"update\":{\"_id\":\"missing\"}}\n{\"doc\":{\"v\":3}}\n"
      "{\"delete\":{\"_id\":\"nothing\"}}\n",
      "/idx/_bulk");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(errors(res.body));
  EXPECT_EQ(item(res.body, 0, "/status"), "201");
  EXPECT_EQ(item(res.body, 1, "/status"), "200");
  EXPECT_EQ(item(res.body, 1, "/result"), "updated");
  EXPECT_EQ(item(res.body, 2, "/error/type"), "document_missing_exception");
  EXPECT_EQ(item(res.body, 3, "/status"), "404");
  EXPECT_EQ(item(res.body, 3, "/result"), "not_found");
  ASSERT_EQ(es_.documents("idx").size(), 1u);
  EXPECT_EQ(es_.documents("idx")[0].source, "{\"v\":2}");
}

TEST_F(EsStandInTest, AValueThatDoesNotFitTheMappingFailsOnlyItsItem) {
  net::HttpResponse res = bulk(
      "{\"create\":{\"_index\":\"m\",\"_id\":\"1\"}}\n{\"n\":1,\"o\":{\"a\":1}}\n"
      "{\"create\":{\"_index\":\"m\",\"_id\":\"2\"}}\n{\"n\":\"42\"}\n"
      "{\"create\":{\"_index\":\"m\",\"_id\":\"3\"}}\n{\"n\":\"abc\"}\n"
      "{\"create\":{\"_index\":\"m\",\"_id\":\"4\"}}\n{\"o\":\"flat\"}\n"
      "{\"create\":{\"_index\":\"m\",\"_id\":\"5\"}}\n{\"_id\":\"inside\"}\n"
      "{\"create\":{\"_index\":\"m\",\"_id\":\"6\"}}\n{\"o\":{\"a\":\"not a number\"}}\n");
  ASSERT_EQ(res.status, 200);
  EXPECT_TRUE(errors(res.body));
  EXPECT_EQ(item(res.body, 1, "/status"), "201");  // a numeric string is coerced
  EXPECT_EQ(item(res.body, 2, "/status"), "400");
  EXPECT_EQ(item(res.body, 2, "/error/type"), "document_parsing_exception");
  EXPECT_EQ(item(res.body, 2, "/error/reason"),
            "failed to parse field [n] of type [long] in document with id '3'. Preview of field's value: 'abc'");
  EXPECT_NE(item(res.body, 3, "/error/reason").find("tried to parse field [o] as object, but found a concrete value"),
            std::string::npos);
  EXPECT_NE(item(res.body, 4, "/error/reason").find("is a metadata field"), std::string::npos);
  EXPECT_EQ(item(res.body, 5, "/error/reason"),  // nested fields are mapped by their dotted path
            "failed to parse field [o.a] of type [long] in document with id '6'. Preview of field's value: 'not a number'");
  EXPECT_EQ(es_.documents("m").size(), 2u);
}

TEST_F(EsStandInTest, RejectsMarkedItemsWith429UntilTheyHaveBeenRetried) {
  es_.rejectItemsContaining("busy", 2);
  std::string body = "{\"create\":{\"_index\":\"r\",\"_id\":\"1\"}}\n{\"m\":\"busy\"}\n"
                     "{\"create\":{\"_index\":\"r\",\"_id\":\"2\"}}\n{\"m\":\"calm\"}\n";
  net::HttpResponse res = bulk(body);
  EXPECT_EQ(item(res.body, 0, "/status"), "429");
  EXPECT_EQ(item(res.body, 0, "/error/type"), "es_rejected_execution_exception");
  EXPECT_EQ(item(res.body, 1, "/status"), "201");
  res = bulk("{\"create\":{\"_index\":\"r\",\"_id\":\"1\"}}\n{\"m\":\"busy\"}\n");
  EXPECT_EQ(item(res.body, 0, "/status"), "429");
  res = bulk("{\"create\":{\"_index\":\"r\",\"_id\":\"1\"}}\n{\"m\":\"busy\"}\n");
  EXPECT_EQ(item(res.body, 0, "/status"), "201");
  EXPECT_EQ(es_.documents("r").size(), 2u);
}

// A request cut after processing: stored, but the client gets no answer (the connection ends
// after the headers; the same client's next request goes through on a new connection).
TEST_F(EsStandInTest, RequestsCutAfterProcessingAreStoredButGetNoAnswer) {
  ElasticsearchStandIn::Faults faults;
  faults.cut_after_processing = 1;
  es_.setFaults(faults);
  net::HttpResponse res = bulk("{\"create\":{\"_index\":\"c\",\"_id\":\"1\"}}\n{\"m\":1}\n");
  EXPECT_EQ(res.status, 0);
  EXPECT_FALSE(res.error.empty());
  EXPECT_EQ(es_.documents("c").size(), 1u);
  es_.setFaults({});
  res = bulk("{\"create\":{\"_index\":\"c\",\"_id\":\"1\"}}\n{\"m\":1}\n");
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(item(res.body, 0, "/status"), "409");
}

TEST_F(EsStandInTest, RequestLevelFailuresOnDemand) {
  es_.failNextBulks(2, 429, 3);
  std::string body = "{\"create\":{\"_index\":\"f\"}}\n{\"a\":1}\n";
  for (int i = 0; i < 2; ++i) {
    net::HttpResponse res = bulk(body);
    EXPECT_EQ(res.status, 429);
    EXPECT_EQ(res.retry_after_ns, 3'000'000'000);
    simdjson::dom::parser parser;
    EXPECT_EQ(std::string_view(parser.parse(res.body)["error"]["type"].get_string().value()),
              "es_rejected_execution_exception");
  }
  EXPECT_EQ(bulk(body).status, 200);
  es_.failNextBulks(1, 503);
  EXPECT_EQ(bulk(body).status, 503);
  es_.setMaxRequestBytes(10);
  net::HttpResponse res = bulk(body);
  EXPECT_EQ(res.status, 413);
  EXPECT_TRUE(res.body.empty());
  EXPECT_EQ(es_.documentCount(), 1u);
}

TEST_F(EsStandInTest, GzipBodiesAndMalformedRequests) {
  auto gz = codec::compress(codec::Compression::Gzip, "{\"create\":{\"_index\":\"z\"}}\n{\"a\":1}\n");
  ASSERT_TRUE(gz.isOk());
  net::HttpResponse res = bulk(gz.value(), "/_bulk", {"Content-Type: application/x-ndjson", "Content-Encoding: gzip"});
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(es_.documents("z").size(), 1u);
  EXPECT_EQ(bulk("{\"create\":{\"_index\":\"z\"}}\n{\"a\":1}").status, 400);  // no final newline
  EXPECT_EQ(bulk("not json\n{\"a\":1}\n").status, 400);
  EXPECT_EQ(bulk("{\"create\":{}}\n{\"a\":1}\n").status, 400);  // no index anywhere
  EXPECT_EQ(bulk("{\"create\":{\"_index\":\"z\"}}\n{\"a\":1}\n", "/_bulk", {"Content-Type: text/plain"}).status, 406);
  EXPECT_EQ(es_.documents("z").size(), 1u);
}

TEST_F(EsStandInTest, BasicAndApiKeyAuthentication) {
  es_.requireBasicAuth("elastic", "changeme");
  std::string body = "{\"create\":{\"_index\":\"a\"}}\n{\"a\":1}\n";
  net::HttpResponse res = bulk(body);
  EXPECT_EQ(res.status, 401);
  EXPECT_NE(res.body.find("security_exception"), std::string::npos);
  std::string url = "http://elastic:changeme@127.0.0.1:" + std::to_string(es_.port()) + "/_bulk";
  res = httpPost(client_, url, body, {"Content-Type: application/x-ndjson"});
  EXPECT_EQ(res.status, 200) << res.body;
  es_.requireApiKey("a2V5OnNlY3JldA==");
  EXPECT_EQ(bulk(body, "/_bulk", {"Content-Type: application/x-ndjson", "Authorization: ApiKey a2V5OnNlY3JldA=="}).status, 200);
  EXPECT_EQ(bulk(body, "/_bulk", {"Content-Type: application/x-ndjson", "Authorization: ApiKey wrong"}).status, 401);
  EXPECT_EQ(es_.documents("a").size(), 2u);
}

// The fields the stand-in's `GET /` gives are the ones the real servers give.
TEST(EsStandInInfoTest, RootResponsesHaveTheRealServersFields) {
  if (!sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures absent";
  struct Case {
    Flavor flavor;
    const char* fixture;
  };
  for (const Case& c : {Case{Flavor::Es7, "es-7.17.27-root.json"}, Case{Flavor::Es8, "es-8.17.0-root.json"},
                        Case{Flavor::OpenSearch2, "opensearch-2.6.0-root.json"}}) {
    SCOPED_TRACE(c.fixture);
    ElasticsearchStandIn es(c.flavor);
    ASSERT_TRUE(es.start());
    net::HttpClient client;
    net::HttpResponse res = httpGet(client, es.url("/"));
    ASSERT_EQ(res.status, 200);
    simdjson::dom::parser mine_parser, real_parser;
    simdjson::dom::object mine = mine_parser.parse(res.body).get_object().value();
    std::string real_text = readFile(sharedDir() + "/fixtures/elasticsearch/info/" + c.fixture);
    simdjson::dom::object real = real_parser.parse(real_text).get_object().value();
    auto keys = [](simdjson::dom::object o) {
      std::set<std::string> k;
      for (auto f : o) k.insert(std::string(f.key));
      return k;
    };
    EXPECT_EQ(keys(mine), keys(real));
    std::set<std::string> mine_version = keys(mine["version"].get_object().value());
    for (const std::string& k : mine_version) {
      EXPECT_TRUE(keys(real["version"].get_object().value()).count(k)) << k;
    }
    EXPECT_EQ(std::string_view(mine["tagline"].get_string().value()), std::string_view(real["tagline"].get_string().value()));
    std::string_view mine_number = mine["version"]["number"].get_string().value();
    std::string_view real_number = real["version"]["number"].get_string().value();
    EXPECT_EQ(mine_number.substr(0, 2), real_number.substr(0, 2));  // same major version
  }
}

// The 409 the stand-in gives has the shape of one observed from ES 7.17.
TEST(EsStandInInfoTest, ConflictItemMatchesTheObservedOne) {
  if (!sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures absent";
  ElasticsearchStandIn es(Flavor::Es7);
  ASSERT_TRUE(es.start());
  net::HttpClient client;
  std::string body = "{\"create\":{\"_index\":\"g\",\"_id\":\"docId_c\"}}\n{\"a\":1}\n";
  httpPost(client, es.url("/_bulk"), body, {"Content-Type: application/x-ndjson"});
  net::HttpResponse res = httpPost(client, es.url("/_bulk"), body, {"Content-Type: application/x-ndjson"});
  std::string real_text = readFile(sharedDir() + "/fixtures/elasticsearch/bulk/observed/es-7.17.0-create-409-version-conflict.json");
  simdjson::dom::parser a, b;
  simdjson::dom::element mine = a.parse(res.body).value()["items"].at(0)["create"].value();
  simdjson::dom::element real = b.parse(real_text).value()["items"].at(0)["create"].value();
  for (const char* field : {"_index", "_type", "_id", "status", "error"}) {
    simdjson::dom::element v;
    EXPECT_EQ(real[field].get(v), simdjson::SUCCESS) << field;
    EXPECT_EQ(mine[field].get(v), simdjson::SUCCESS) << field;
  }
  EXPECT_EQ(std::string_view(mine["error"]["reason"].get_string().value()),
            std::string_view(real["error"]["reason"].get_string().value()));  // both for docId_c
  EXPECT_EQ(mine["status"].get_int64().value(), real["status"].get_int64().value());
}

// ---- rules a client gets wrong, enforced as Elasticsearch does ------------------------------

// Dotted keys are expanded into objects (subobjects: true): `app` and `app.kubernetes.io/name`
// clash, in one document or across two, with ES's two messages.
TEST_F(EsStandInTest, DottedKeysAreExpandedIntoObjects) {
  net::HttpResponse res = bulk(
      "{\"create\":{\"_index\":\"k\",\"_id\":\"1\"}}\n{\"labels\":{\"app\":\"api\",\"app.kubernetes.io/name\":\"api\"}}\n"
      "{\"create\":{\"_index\":\"k\",\"_id\":\"2\"}}\n{\"labels\":{\"app.kubernetes.io/name\":\"api\"}}\n"
      "{\"create\":{\"_index\":\"k\",\"_id\":\"3\"}}\n{\"labels\":{\"app\":\"api\"}}\n");
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(item(res.body, 0, "/status"), "400");
  EXPECT_EQ(item(res.body, 0, "/error/reason"),
            "Could not dynamically add mapping for field [labels.app.kubernetes.io/name]. Existing mapping for "
            "[labels.app] must be of type object but found [text].");
  EXPECT_EQ(item(res.body, 1, "/status"), "201");
  EXPECT_EQ(item(res.body, 2, "/status"), "400");
  EXPECT_EQ(item(res.body, 2, "/error/reason"),
            "object mapping for [labels.app] tried to parse field [app] as object, but found a concrete value");
  EXPECT_EQ(es_.documentCount(), 1u);
}

// A request refused whole stores nothing: an _id over 512 bytes, _type on ES 8, an unknown
// parameter, a malformed action line anywhere in it.
TEST_F(EsStandInTest, RequestsRefusedWholeStoreNothing) {
  const std::string good = "{\"create\":{\"_index\":\"w\",\"_id\":\"ok\"}}\n{\"a\":1}\n";
  net::HttpResponse res = bulk(good + "{\"create\":{\"_index\":\"w\",\"_id\":\"" + std::string(513, 'x') + "\"}}\n{\"a\":2}\n");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("is too long, must be no longer than 512 bytes but was: 513"), std::string::npos) << res.body;
  res = bulk(good + "{\"create\":{\"_index\":\"w\",\"_type\":\"_doc\",\"_id\":\"t\"}}\n{\"a\":2}\n");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("Action/metadata line [3] contains an unknown parameter [_type]"), std::string::npos) << res.body;
  res = bulk(good, "/_bulk?refresh=false&colour=blue");
  EXPECT_EQ(res.status, 400);
  EXPECT_NE(res.body.find("contains unrecognized parameter: [colour]"), std::string::npos) << res.body;
  res = bulk(good + "{\"nonsense\":{}}\n{}\n");
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(es_.documentCount(), 0u);
  EXPECT_EQ(bulk(good, "/_bulk?refresh=false&pipeline=p").status, 200);
  EXPECT_EQ(es_.documentCount(), 1u);
  // ES 7 still takes _type.
  ElasticsearchStandIn es7(Flavor::Es7);
  ASSERT_TRUE(es7.start());
  EXPECT_EQ(httpPost(client_, es7.url("/_bulk"), "{\"create\":{\"_index\":\"w\",\"_type\":\"_doc\"}}\n{\"a\":2}\n",
                     {"Content-Type: application/x-ndjson"}).status, 200);
  EXPECT_EQ(es7.documentCount(), 1u);
}

// What Elasticsearch refuses as an index name, each with its message
// (MetadataCreateIndexService.validateIndexOrAliasName and validateIndexName), and what it takes.
TEST_F(EsStandInTest, IndexNamesFollowElasticsearchsRules) {
  const std::string chars = "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]";
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"Upper", "must be lowercase"},
      {"\xc3\x9c" "ber", "must be lowercase"},  // Über: not only A-Z
      {"logs-\xce\xa3", "must be lowercase"},   // a capital sigma
      {"a b", chars}, {"a\\b", chars}, {"a/b", chars}, {"a*b", chars}, {"a?b", chars},
      {"a\"b", chars}, {"a<b", chars}, {"a>b", chars}, {"a|b", chars}, {"a,b", chars},
      {"a#b", "must not contain '#'"},
      {"a:b", "must not contain ':'"},
      {"remote:logs", "must not contain ':'"},
      {"_under", "must not start with '_', '-', or '+'"},
      {"-dash", "must not start with '_', '-', or '+'"},
      {"+plus", "must not start with '_', '-', or '+'"},
      {".", "must not be '.' or '..'"},
      {"..", "must not be '.' or '..'"},
      {std::string(256, 'i'), "index name is too long, (256 > 255)"},
      {std::string(254, 'i') + "\xc3\xa9", "index name is too long, (256 > 255)"},  // bytes, not letters
  };
  for (const auto& [name, why] : refused) {
    std::string action = "{\"create\":{\"_index\":";
    appendJsonString(action, name);
    net::HttpResponse res = bulk(action + "}}\n{\"a\":1}\n");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(item(res.body, 0, "/status"), "400") << name;
    EXPECT_EQ(item(res.body, 0, "/error/type"), "invalid_index_name_exception") << name;
    EXPECT_EQ(item(res.body, 0, "/error/reason"), "Invalid index name [" + name + "], " + why);
  }
  EXPECT_EQ(es_.documentCount(), 0u);
  for (const std::string& name : {std::string("logstash-2026.11.27"), std::string(".hidden"), std::string("a.b_c-d+e"),
                                  std::string(255, 'i'), std::string("caf\xc3\xa9-\xe6\x97\xa5\xe5\xbf\x97")}) {
    std::string action = "{\"create\":{\"_index\":";
    appendJsonString(action, name);
    EXPECT_EQ(item(bulk(action + "}}\n{\"a\":1}\n").body, 0, "/status"), "201") << name;
  }
  EXPECT_EQ(es_.documentCount(), 5u);
}

TEST_F(EsStandInTest, DatesAreDetectedAndLimitsKept) {
  net::HttpResponse res = bulk(
      "{\"create\":{\"_index\":\"d\"}}\n{\"when\":\"2026-11-27T10:00:00.123Z\"}\n"
      "{\"create\":{\"_index\":\"d\"}}\n{\"when\":\"yesterday\"}\n"
      "{\"create\":{\"_index\":\"d\"}}\n{\"when\":\"2026/11/27\"}\n");
  EXPECT_EQ(item(res.body, 0, "/status"), "201");
  EXPECT_EQ(item(res.body, 1, "/status"), "400");
  EXPECT_NE(item(res.body, 1, "/error/reason").find("failed to parse field [when] of type [date]"), std::string::npos);
  EXPECT_EQ(item(res.body, 2, "/status"), "201");
  // 21 objects deep.
  std::string deep = "1";
  for (int i = 0; i < 22; ++i) deep = "{\"l\":" + deep + "}";
  res = bulk("{\"create\":{\"_index\":\"d\"}}\n" + deep + "\n");
  EXPECT_EQ(item(res.body, 0, "/status"), "400");
  EXPECT_NE(item(res.body, 0, "/error/reason").find("Limit of mapping depth [20] has been exceeded"), std::string::npos);
  // 1,000 fields: 600 strings are 1,200 (text and keyword).
  std::string wide = "{";
  for (int i = 0; i < 600; ++i) wide += (i ? ",\"f" : "\"f") + std::to_string(i) + "\":\"v\"";
  res = bulk("{\"create\":{\"_index\":\"wide\"}}\n" + wide + "}\n");
  EXPECT_EQ(item(res.body, 0, "/status"), "400");
  EXPECT_NE(item(res.body, 0, "/error/reason").find("Limit of total fields [1000] has been exceeded"), std::string::npos);
  EXPECT_EQ(es_.documents("wide").size(), 0u);
}

TEST_F(EsStandInTest, DataStreamsTakeCreateWithATimestamp) {
  es_.addDataStream("logs-app-default");
  net::HttpResponse res = bulk(
      "{\"index\":{\"_index\":\"logs-app-default\"}}\n{\"@timestamp\":\"2026-11-27T10:00:00Z\"}\n"
      "{\"create\":{\"_index\":\"logs-app-default\"}}\n{\"msg\":\"no time\"}\n"
      "{\"create\":{\"_index\":\"logs-app-default\"}}\n{\"@timestamp\":\"2026-11-27T10:00:00Z\",\"msg\":\"ok\"}\n");
  EXPECT_EQ(item(res.body, 0, "/status"), "400");
  EXPECT_EQ(item(res.body, 0, "/error/reason"), "only write ops with an op_type of create are allowed in data streams");
  EXPECT_EQ(item(res.body, 1, "/status"), "400");
  EXPECT_EQ(item(res.body, 1, "/error/reason"), "data stream timestamp field [@timestamp] is missing");
  EXPECT_EQ(item(res.body, 2, "/status"), "201");
}

TEST_F(EsStandInTest, BodiesOver100MbAre413ByDefault) {
  std::string big = "{\"create\":{\"_index\":\"big\"}}\n{\"pad\":\"" + std::string(100 << 20, 'x') + "\"}\n";
  EXPECT_EQ(bulk(big).status, 413);
  EXPECT_EQ(es_.documentCount(), 0u);
}

}  // namespace
}  // namespace sluice::testing
