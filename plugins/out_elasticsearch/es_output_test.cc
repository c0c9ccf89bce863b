// SPDX-License-Identifier: Apache-2.0
// The elasticsearch output against the Elasticsearch stand-in (a real HTTP server on
// 127.0.0.1): hosts, versions, the seed's <match> block, format (indices, deterministic ids,
// id_key, upserts, data streams), index names. The write path is in es_bulk_request_test.cc.

#include <gtest/gtest.h>

#include <simdjson.h>

#include <map>
#include <set>
#include <thread>

#include "buffer/buffer.h"
#include "plugins/out_elasticsearch/es_internal.h"
#include "plugins/out_elasticsearch/es_output.h"
#include "plugins/out_elasticsearch/es_test_support.h"
#include "standins/elasticsearch.h"
#include "support/buffer_support.h"
#include "support/test_support.h"

namespace sluice::plugins::out_elasticsearch {
namespace {

using testing::ElasticsearchStandIn;
using testing::PluginFactory;
using testing::TempDir;
using testing::waitFor;

TEST(EsHostsTest, ParsesSchemesCredentialsPortsAndPaths) {
  EsConfig c;
  c.host = "localhost";
  c.port = 9200;
  c.scheme = Scheme::Http;
  c.hosts = "es1:9201, https://elastic:s3cret@es2:443/proxy/, es3";
  auto hosts = parseHosts(c);
  ASSERT_TRUE(hosts.isOk()) << hosts.status().message();
  ASSERT_EQ(hosts->size(), 3u);
  EXPECT_EQ((*hosts)[0]->base_url, "http://es1:9201");
  EXPECT_EQ((*hosts)[0]->auth_header, "");
  EXPECT_EQ((*hosts)[1]->base_url, "https://es2:443/proxy");
  EXPECT_EQ((*hosts)[1]->auth_header, "Authorization: Basic ZWxhc3RpYzpzM2NyZXQ=");
  EXPECT_EQ((*hosts)[2]->base_url, "http://es3:9200");
  c.hosts = "es1:notaport";
  auto bad = parseHosts(c);
  ASSERT_FALSE(bad.isOk());
  c.hosts = "ftp://user:pw@es1";
  bad = parseHosts(c);
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().message().find("pw"), std::string::npos) << "credentials in an error message";
}

TEST(EsVersionTest, UnderstandsEs7Es8AndOpenSearch) {
  for (auto [flavor, major, opensearch] : {std::tuple{ElasticsearchStandIn::Flavor::Es7, 7, false},
                                           std::tuple{ElasticsearchStandIn::Flavor::Es8, 8, false},
                                           std::tuple{ElasticsearchStandIn::Flavor::OpenSearch2, 2, true}}) {
    ElasticsearchStandIn es(flavor);
    ASSERT_TRUE(es.start());
    PluginFactory f;
    auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch", hostPort(es));
    ASSERT_TRUE(out->start().isOk());
    EXPECT_EQ(out->version().major, major);
    EXPECT_EQ(out->version().opensearch, opensearch);
    Sent s = formatRange(*out, 0, 1);
    // Only Elasticsearch 7 gets a type name.
    EXPECT_EQ(s.bytes.bytes.find("\"_type\":\"_doc\"") != std::string::npos, major == 7) << s.bytes.bytes;
    EXPECT_EQ(out->write(s.view()).kind, WriteResult::Kind::Ok);
    EXPECT_EQ(es.documentCount(), 1u);
    EXPECT_EQ(es.infoRequests(), 1);
  }
  EXPECT_FALSE(parseVersion("{\"name\":\"x\"}").has_value());
  EXPECT_FALSE(parseVersion("not json").has_value());
}

TEST(EsVersionTest, UnreachableAtStartStartsWithoutTypeAndSkipWhenAsked) {
  ElasticsearchStandIn es(ElasticsearchStandIn::Flavor::Es8);
  ASSERT_TRUE(es.start());
  int port = es.port();
  es.stop();
  PluginFactory f;
  auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch",
                                  "host 127.0.0.1\nport " + std::to_string(port) + "\nrequest_timeout 1s");
  ASSERT_TRUE(out->start().isOk());
  EXPECT_EQ(out->version().major, 0);
  EXPECT_EQ(formatRange(*out, 0, 1).bytes.bytes.find("_type"), std::string::npos);
  auto skip = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch",
                                   "port " + std::to_string(port) + "\nverify_es_version_at_startup false\n"
                                   "default_elasticsearch_version 8");
  ASSERT_TRUE(skip->start().isOk());
  EXPECT_EQ(skip->version().major, 8);
}

// The seed config's <match> block, unchanged but for the host.
TEST(EsOutputTest, SeedMatchBlockWritesDailyLogstashIndicesWithTheTag) {
  EsSetUp setup("logstash_format true\nlogstash_prefix agentarea\ninclude_tag_key true\ntag_key @log_name\n",
                ElasticsearchStandIn::Flavor::Es8);
  ASSERT_TRUE(setup.ok());
  auto& [es, f, out] = setup;
  Batch b;
  b.add("kubernetes.agentarea.api", kNov22, *parseJson(R"({"level":"info","msg":"a"})", b.arena()));
  b.add("kubernetes.agentarea.api", kNov22 + 86400LL * kNanosPerSecond + 5,
        *parseJson(R"({"level":"warn","msg":"b"})", b.arena()));
  b.add("kubernetes.agentarea.worker", kNov22 - 4 * 3600LL * kNanosPerSecond,
        *parseJson(R"({"msg":"c","@timestamp":"2026-11-20T10:00:00Z"})", b.arena()));
  Sent s;
  out->format(b, s.bytes);
  ASSERT_EQ(out->write(s.view()).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(es.indices(), (std::vector<std::string>{"agentarea-2026.11.20", "agentarea-2026.11.22", "agentarea-2026.11.23"}));
  auto day1 = es.documents("agentarea-2026.11.22");
  ASSERT_EQ(day1.size(), 1u);
  EXPECT_EQ(day1[0].source,
            R"({"level":"info","msg":"a","@log_name":"kubernetes.agentarea.api","@timestamp":"2026-11-22T01:02:03.000000000+00:00"})");
  auto day2 = es.documents("agentarea-2026.11.23");
  ASSERT_EQ(day2.size(), 1u);
  EXPECT_NE(day2[0].source.find("\"@timestamp\":\"2026-11-23T01:02:03.000000005+00:00\""), std::string::npos);
  // A record's own @timestamp decides its index and is kept as it is.
  auto own = es.documents("agentarea-2026.11.20");
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].source, R"({"msg":"c","@timestamp":"2026-11-20T10:00:00Z","@log_name":"kubernetes.agentarea.worker"})");
  EXPECT_EQ(day1[0].id.size(), 22u);
}

TEST(EsOutputTest, DeterministicIdsMakeResendsAndRereadsHarmless) {
  EsSetUp setup("index_name logs");
  ASSERT_TRUE(setup.ok());
  auto& [es, f, out] = setup;
  Sent a = formatRange(*out, 0, 100);
  Sent again = formatRange(*out, 0, 100);
  EXPECT_EQ(a.bytes.bytes, again.bytes.bytes) << "the same events must format to the same ids";
  ASSERT_EQ(out->write(a.view()).kind, WriteResult::Kind::Ok);
  ASSERT_EQ(out->write(again.view()).kind, WriteResult::Kind::Ok);  // every item 409: delivered
  EXPECT_EQ(es.documentCount(), 100u);
  EXPECT_EQ(f.metrics().valueForTest("sluice_output_elasticsearch_duplicates_total"), 100);

  // Identical lines read from different places are different documents; the same place is
  // the same document even if a filter changed the record between the two reads.
  Batch b;
  Value rec = *parseJson(R"({"msg":"same"})", b.arena());
  b.add("t", kNov22, rec, lineOrigin(1, 42, 0));
  b.add("t", kNov22, rec, lineOrigin(1, 42, 15));
  b.add("t", kNov22, *parseJson(R"({"msg":"same","k8s":"changed"})", b.arena()), lineOrigin(1, 42, 0));
  Sent s;
  out->format(b, s.bytes);
  ASSERT_EQ(out->write(s.view()).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(es.documentCount(), 102u);

  // Turned off: Elasticsearch picks ids, so a resend stores a second copy.
  auto plain = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch",
                                    hostPort(es) + "index_name plain\ndeterministic_id false\nwrite_operation index");
  ASSERT_TRUE(plain->start().isOk());
  Sent p = formatRange(*plain, 0, 3);
  EXPECT_EQ(p.bytes.bytes.find("_id"), std::string::npos);
  ASSERT_EQ(plain->write(p.view()).kind, WriteResult::Kind::Ok);
  ASSERT_EQ(plain->write(p.view()).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(es.documents("plain").size(), 6u);
}

// With a file buffer's splices (the pod metadata kept once per chunk), the events are the same
// once put back, _ids included (those hashed from the source too).
TEST(EsOutputTest, SplicedEventsAreTheSameDocumentsAndIds) {
  EsSetUp setup("logstash_format true");
  ASSERT_TRUE(setup.ok());
  auto& out = *setup.out;
  Arena meta_arena;
  Value pod = *parseJson(R"({"pod_name":"web-1","namespace_name":"prod","labels":{"app":"web"}})", meta_arena);
  const std::string pod_json = toJson(pod);
  JsonTemplate t{&pod, pod_json};
  Batch b;
  for (int i = 0; i < 4; ++i) {
    Value r = *parseJson("{\"n\":" + std::to_string(i) + "}", b.arena());
    r.setMember("kubernetes", Value::copyOfTemplate(t, b.arena()), b.arena());
    b.add("kubernetes.web", kNov22 + i, r, i % 2 ? lineOrigin(1, 2, i) : 0);  // ids from the origin or the source
  }
  FormattedEvents whole, spliced;
  spliced.splice_ok = true;
  out.format(b, whole);
  out.format(b, spliced);
  ASSERT_EQ(spliced.splices.size(), 4u);
  EXPECT_EQ(whole.bytes.find(pod_json) != std::string::npos, true);
  EXPECT_EQ(spliced.bytes.find(pod_json), std::string::npos);
  std::string put_back;
  size_t at = 0;
  for (const Splice& piece : spliced.splices) {
    put_back.append(spliced.bytes, at, piece.at - at);
    put_back += piece.text;
    at = piece.at;
  }
  put_back.append(spliced.bytes, at);
  EXPECT_EQ(put_back, whole.bytes);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(spliced.wholeEnd(i), whole.ends[i]);
}

TEST(EsOutputTest, IdKeyRemoveKeysUpsertAndDataStream) {
  EsSetUp setup("index_name users\nid_key uid\nremove_keys uid,secret\nwrite_operation upsert");
  ASSERT_TRUE(setup.ok());
  auto& [es, f, out] = setup;
  Batch b;
  b.add("t", kNov22, *parseJson(R"({"uid":"u-1","name":"Ann","secret":"x"})", b.arena()));
  b.add("t", kNov22, *parseJson(R"({"uid":"u-1","name":"Anna"})", b.arena()));
  Sent s;
  out->format(b, s.bytes);
  EXPECT_NE(s.bytes.bytes.find(R"({"update":{"_index":"users","_id":"u-1"}})"), std::string::npos) << s.bytes.bytes;
  ASSERT_EQ(out->write(s.view()).kind, WriteResult::Kind::Ok);
  auto docs = es.documents("users");
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].id, "u-1");
  EXPECT_EQ(docs[0].source, R"({"name":"Anna"})");

  auto ds = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch",
                                 hostPort(es) + "data_stream_name logs-App-default");
  ASSERT_TRUE(ds->start().isOk());
  Sent d = formatRange(*ds, 0, 2);
  EXPECT_NE(d.bytes.bytes.find(R"({"create":{"_index":"logs-app-default","_id":")"), std::string::npos);
  ASSERT_EQ(ds->write(d.view()).kind, WriteResult::Kind::Ok);
  auto stream = es.documents("logs-app-default");
  ASSERT_EQ(stream.size(), 2u);
  EXPECT_NE(stream[0].source.find("\"@timestamp\":\"2026-11-22T01:02:03.000000000+00:00\""), std::string::npos);

  auto bad = f.make(PluginKind::Output, "elasticsearch", "data_stream_name x\nwrite_operation index");
  EXPECT_FALSE(bad.isOk());
}

TEST(EsOutputTest, IndexNamePlaceholdersGoInTheUrl) {
  EsSetUp setup("index_name app-${tag}\npipeline my pipe");
  ASSERT_TRUE(setup.ok());
  auto& [es, f, out] = setup;
  Sent s = formatRange(*out, 0, 2, "Web");
  EXPECT_EQ(s.bytes.bytes.find("_index"), std::string::npos);
  ChunkKey key;
  key.tag = "Web";
  ASSERT_EQ(out->write(ChunkView(s.bytes.bytes, s.bytes.ends, &key)).kind, WriteResult::Kind::Ok);
  EXPECT_EQ(es.documents("app-web").size(), 2u);
}

// A tag (anyone who names a file or a pod chooses one) expanded into the index name must not
// reach another URL path: ".." or "." in a path is resolved away by the client (`/../_bulk` is
// `/_bulk`, and behind a proxy prefix `/es/../_bulk` leaves it), and a '/' would name another
// endpoint. Elasticsearch refuses such names anyway (invalid_index_name_exception, every item):
// sluice refuses them before sending, and the chunk's events fail for good with ES's reason.
TEST(EsOutputTest, ATagCannotEscapeThroughThePlaceholdersOfTheIndexName) {
  EsSetUp setup("index_name ${tag}");
  ASSERT_TRUE(setup.ok());
  auto& [es, f, out] = setup;
  for (const std::string& tag : std::vector<std::string>{"..", ".", "../x", "a/../../b", "_all", "a b", "a#b", "a:b", std::string(256, 'a')}) {
    Sent s = formatRange(*out, 0, 2, tag);
    ChunkKey key;
    key.tag = tag;
    const int before = es.bulkRequests();
    WriteResult r = out->write(ChunkView(s.bytes.bytes, s.bytes.ends, &key));
    EXPECT_EQ(r.kind, WriteResult::Kind::Fail) << tag;
    EXPECT_NE(r.reason.find("Elasticsearch does not accept it"), std::string::npos) << r.reason;
    EXPECT_EQ(es.bulkRequests(), before) << tag << ": nothing is sent";
  }
  EXPECT_EQ(es.documentCount(), 0u);
  // Names Elasticsearch takes go through, dots and all.
  // A tag with upper-case letters beyond ASCII is lowered as fluent-plugin-elasticsearch does
  // (Ruby's Unicode downcase), not refused by Elasticsearch item by item.
  for (const std::string tag : std::vector<std::string>{"kubernetes.var.log.containers.a", "..a", "a..", "x..", "\xC3\x9C" "ber"}) {
    Sent s = formatRange(*out, 0, 1, tag);
    ChunkKey key;
    key.tag = tag;
    EXPECT_EQ(out->write(ChunkView(s.bytes.bytes, s.bytes.ends, &key)).kind, WriteResult::Kind::Ok) << tag;
    EXPECT_EQ(es.documents(lower(tag)).size(), 1u) << tag;
  }
  // A fixed index name ES would refuse is a configuration error, as is a logstash prefix that
  // makes one.
  PluginFactory g;
  auto bad = g.make(PluginKind::Output, "elasticsearch", hostPort(es) + "index_name my/index");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("must not contain"), std::string::npos) << bad.status().message();
  bad = g.make(PluginKind::Output, "elasticsearch", hostPort(es) + "logstash_format true\nlogstash_prefix _logs");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("must not start with"), std::string::npos) << bad.status().message();
  EXPECT_TRUE(g.make(PluginKind::Output, "elasticsearch", hostPort(es) + "logstash_format true\nlogstash_prefix k8s").isOk());
}

TEST(EsIndexNameTest, FollowsElasticsearchsRules) {
  EXPECT_EQ(invalidIndexName("logstash-2026.11.27"), "");
  EXPECT_EQ(invalidIndexName(".hidden"), "");
  EXPECT_EQ(invalidIndexName(std::string(255, 'a')), "");
  EXPECT_NE(invalidIndexName(std::string(256, 'a')), "");
  EXPECT_NE(invalidIndexName(""), "");
  EXPECT_NE(invalidIndexName("Upper"), "");
  // Any upper-case letter, as Java's toLowerCase sees it, not only A-Z.
  EXPECT_EQ(invalidIndexName("logs-\xC3\x9C" "ber"), "must be lowercase");  // Über
  EXPECT_EQ(invalidIndexName("logs-\xC3\xBC" "ber"), "");                 // über
  EXPECT_EQ(lower("Logs-\xC3\x9C" "ber-\xCE\xA3\xCE\x91"), "logs-\xC3\xBC" "ber-\xCF\x83\xCE\xB1");  // Über-ΣΑ
  EXPECT_EQ(lower("A\xFF\xC3"), "a\xFF\xC3");  // bytes that are not UTF-8 stay
  for (std::string_view bad : {"a\\b", "a/b", "a*b", "a?b", "a\"b", "a<b", "a>b", "a|b", "a b", "a,b", "a#b", "a:b", "-a", "+a", "_a", ".", ".."}) {
    EXPECT_NE(invalidIndexName(bad), "") << bad;
  }
}

// After a cluster refused _type, it is cut out of the action lines, and only there; whatever
// an event holds, the cut stays inside the event (it read one byte before a _type at the start
// of an event, and past the end of an unterminated one).
TEST(EsTypeStripTest, CutsTypeOutOfTheActionLineWithinBounds) {
  auto strip = [](std::string_view event) {
    std::string out;
    appendWithoutType(event, out);
    return out;
  };
  EXPECT_EQ(strip("{\"create\":{\"_index\":\"a\",\"_type\":\"_doc\",\"_id\":\"x\"}}\n{\"n\":1}\n"),
            "{\"create\":{\"_index\":\"a\",\"_id\":\"x\"}}\n{\"n\":1}\n");
  EXPECT_EQ(strip("{\"create\":{\"_type\":\"_doc\",\"_id\":\"x\"}}\n{}\n"), "{\"create\":{\"_id\":\"x\"}}\n{}\n");
  EXPECT_EQ(strip("{\"index\":{\"_type\":\"fluentd\"}}\n{}\n"), "{\"index\":{}}\n{}\n");
  EXPECT_EQ(strip("\"_type\":\"x\""), "");
  EXPECT_EQ(strip("\"_type\":\"x\",y"), "y");
  EXPECT_EQ(strip("a,\"_type\":\"x\""), "a");
  // Unterminated, or only in the source line: as it was.
  EXPECT_EQ(strip("{\"create\":{\"_type\":\"abc"), "{\"create\":{\"_type\":\"abc");
  EXPECT_EQ(strip("\"_type\":\""), "\"_type\":\"");
  EXPECT_EQ(strip("{\"create\":{}}\n{\"_type\":\"kept\"}\n"), "{\"create\":{}}\n{\"_type\":\"kept\"}\n");
  EXPECT_EQ(strip(""), "");
}

// The enum and size-or-(-1) parameters are checked and converted when the configuration is
// bound: a bad value names the allowed ones; each choice has its effect.
TEST(EsConfigTest, ABadChoiceNamesTheAllowedValues) {
  PluginFactory f;
  for (auto [key, allowed] : {std::pair<std::string, std::string>{"compression_level", "no_compression,best_speed,default_compression,best_compression"},
                              {"write_operation", "index,create,update,upsert"},
                              {"scheme", "http,https"}}) {
    auto bad = f.make(PluginKind::Output, "elasticsearch", key + " fastest\n");
    ASSERT_FALSE(bad.isOk()) << key;
    EXPECT_NE(bad.status().message().find("parameter '" + key + "': valid options are " + allowed + " but got 'fastest'"),
              std::string::npos)
        << bad.status().message();
  }
  auto bad = f.make(PluginKind::Output, "elasticsearch", "bulk_message_request_threshold 20 megs\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("or -1 (no limit)"), std::string::npos) << bad.status().message();
  // update and upsert need an _id.
  bad = f.make(PluginKind::Output, "elasticsearch", "write_operation upsert\ndeterministic_id false\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("write_operation upsert needs id_key"), std::string::npos) << bad.status().message();
}

TEST(EsConfigTest, EachWriteOperationWritesItsAction) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  PluginFactory f;
  for (auto [op, action_line, tail] : {std::tuple{"index", R"({"index":{"_index":"ops")", R"("})"},
                                       std::tuple{"create", R"({"create":{"_index":"ops")", R"("})"},
                                       std::tuple{"update", R"({"update":{"_index":"ops")", R"({"doc":{)"},
                                       std::tuple{"upsert", R"({"update":{"_index":"ops")", R"(,"doc_as_upsert":true})"}}) {
    auto out = f.mustMake<EsOutput>(PluginKind::Output, "elasticsearch",
                                    hostPort(es) + "index_name ops\nid_key n\nwrite_operation " + op + "\n");
    ASSERT_TRUE(out->start().isOk());
    Sent s = formatRange(*out, 0, 1);
    const std::string& text = s.bytes.bytes;
    EXPECT_TRUE(text.starts_with(action_line)) << op << ": " << text;
    EXPECT_NE(text.find(tail), std::string::npos) << op << ": " << text;
    EXPECT_EQ(text.find("doc_as_upsert") != std::string::npos, std::string_view(op) == "upsert") << text;
    ASSERT_EQ(out->write(s.view()).kind, WriteResult::Kind::Ok) << op;
  }
  // index stored the document, create found it there (409, delivered), update and upsert
  // changed it: one document.
  ASSERT_EQ(es.documents("ops").size(), 1u);
  EXPECT_EQ(es.documents("ops")[0].id, "0");
}

// What a stand-in received when one output built from `config` wrote `events` documents (the
// stand-in's HTTP server inflates gzip bodies, so the sizes are those before compression).
struct Received {
  int requests = 0;
  std::vector<std::string> encodings;  // Content-Encoding of each request ("" for none)
};
Received sendTo(const std::string& config, int events) {
  EsSetUp setup("index_name z\n" + config + "\n");
  if (!setup.ok()) return {};
  auto& [es, f, out] = setup;
  EXPECT_EQ(out->write(formatRange(*out, 0, events).view()).kind, WriteResult::Kind::Ok) << config;
  EXPECT_EQ(es.documentCount(), static_cast<size_t>(events)) << config;
  return {es.bulkRequests(), es.requestHeaders("Content-Encoding")};
}

// The levels are zlib's, given to the gzip codec as they are.
static_assert(static_cast<int>(CompressionLevel::None) == -1 && static_cast<int>(CompressionLevel::BestSpeed) == 1 &&
              static_cast<int>(CompressionLevel::Default) == 6 && static_cast<int>(CompressionLevel::Best) == 9);

TEST(EsConfigTest, EachCompressionLevelAndThresholdHasItsEffect) {
  // no_compression sends plain bodies, every other level gzip ones that the stand-in reads.
  for (const char* level : {"no_compression", "best_speed", "default_compression", "best_compression"}) {
    const bool gzip = std::string_view(level) != "no_compression";
    EXPECT_EQ(sendTo(std::string("compression_level ") + level, 400).encodings,
              std::vector<std::string>{gzip ? "gzip" : ""})
        << level;
  }
  // -1: a chunk is never split; a size: split at it.
  EXPECT_EQ(sendTo("bulk_message_request_threshold -1", 200).requests, 1);
  EXPECT_GT(sendTo("bulk_message_request_threshold 1k", 200).requests, 10);
}

// Writing through @type elasticsearch_data_stream: op_type create, @timestamp added, the
// documents land in the stream it set up; write_operation other than create is refused.
TEST(EsOutputTest, DataStreamTypeWritesIntoItsStream) {
  ElasticsearchStandIn es;
  ASSERT_TRUE(es.start());
  PluginFactory f;
  auto out = f.mustMake<Output>(PluginKind::Output, "elasticsearch_data_stream", hostPort(es) + "data_stream_name logs-web\n");
  ASSERT_TRUE(out->start().isOk());
  ASSERT_TRUE(es.hasDataStream("logs-web"));
  Sent sent = formatRange(*out, 0, 3);
  EXPECT_EQ(sent.bytes.bytes.rfind(R"({"create":{"_index":"logs-web")", 0), 0u) << sent.bytes.bytes;
  ASSERT_EQ(out->write(sent.view()).kind, WriteResult::Kind::Ok);
  auto docs = es.documents("logs-web");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_NE(docs[0].source.find("\"@timestamp\":"), std::string::npos) << docs[0].source;
  auto bad = f.make(PluginKind::Output, "elasticsearch_data_stream", hostPort(es) + "data_stream_name logs-web\nwrite_operation index\n");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("data streams only take write_operation create"), std::string::npos);
  // fluent-plugin-elasticsearch expands placeholders per chunk; sluice refuses them clearly.
  for (const char* name : {"logs-${tag}", "logs-%Y.%m.%d"}) {
    bad = f.make(PluginKind::Output, "elasticsearch_data_stream", hostPort(es) + "data_stream_name " + name + "\n");
    ASSERT_FALSE(bad.isOk()) << name;
    EXPECT_NE(bad.status().message().find("placeholders are not supported"), std::string::npos) << bad.status().message();
  }
}

}  // namespace
}  // namespace sluice::plugins::out_elasticsearch
