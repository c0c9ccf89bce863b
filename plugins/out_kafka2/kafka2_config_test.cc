// SPDX-License-Identifier: Apache-2.0
// The kafka2 output without a broker: the configuration (refusals naming the reason, the enums
// and their librdkafka properties), format() (topics, keys, headers, exclusions, record_key,
// other formats, no allocation per event) and the line format write() reads back
// (kafka_line.h). Delivery against librdkafka's mock cluster is in kafka2_output_test.cc. Test
// thread only.

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "plugins/out_kafka2/kafka2_output.h"
#include "plugins/out_kafka2/kafka_line.h"
#include "support/alloc_counter.h"
#include "support/test_support.h"

namespace sluice::plugins::out_kafka2 {
namespace {

using sluice::testing::PluginFactory;

constexpr int64_t kTime = 1795309323LL * kNanosPerSecond;  // 2026-11-22T01:02:03Z

TEST(Kafka2ConfigTest, BadConfigurationIsRefusedWithTheReason) {
  PluginFactory f;
  auto error = [&](const std::string& body) {
    auto p = f.make(PluginKind::Output, "kafka2", body);
    return p.isOk() ? std::string("accepted") : p.status().message();
  };
  EXPECT_NE(error("brokers k1:9092,k2:nope").find("bad port in 'k2:nope'"), std::string::npos);
  EXPECT_NE(error("brokers :9092").find("bad host"), std::string::npos);
  EXPECT_NE(error("brokers ,").find("no broker given"), std::string::npos);
  EXPECT_NE(error("required_acks 1").find("idempotent producer needs -1"), std::string::npos);
  EXPECT_EQ(error("required_acks 1\nidempotent false"), "accepted");
  EXPECT_NE(error("max_send_retries 0").find("needs at least 1"), std::string::npos);
  // The enums name their allowed values.
  EXPECT_NE(error("compression_codec brotli").find("parameter 'compression_codec': valid options are none,gzip,snappy,lz4,zstd but got 'brotli'"),
            std::string::npos);
  EXPECT_NE(error("rdkafka_options {\"no.such.property\":\"1\"}").find("no.such.property"), std::string::npos);
  EXPECT_NE(error("rdkafka_options {\"linger.ms\":\"soon\"}").find("linger.ms"), std::string::npos);
  EXPECT_EQ(error("rdkafka_options {\"linger.ms\":\"20\"}"), "accepted");
  EXPECT_NE(error("use_default_for_unknown_topic true").find("needs default_topic"), std::string::npos);
  EXPECT_NE(error("record_key $.a[").find("record_key"), std::string::npos);
  EXPECT_NE(error("default_partition -4").find("not a partition number"), std::string::npos);
  EXPECT_NE(error("username u").find("go together"), std::string::npos);
  EXPECT_NE(error("scram_mechanism md5\nusername u\npassword p").find("valid options are sha256,sha512 but got 'md5'"),
            std::string::npos);
  EXPECT_NE(error("ssl_client_cert /c.pem").find("go together"), std::string::npos);
  EXPECT_NE(error("partitioner_hash_function fnv").find("valid options are crc32,murmur2 but got 'fnv'"), std::string::npos);
}

TEST(Kafka2ConfigTest, FluentdSettingsBecomeLibrdkafkaProperties) {
  Kafka2Config c;
  c.brokers = {"k1:9092", " k2:9093 "};
  c.client_id = "fluentd";
  c.idempotent = true;
  c.required_acks = -1;
  c.max_send_retries = 3;
  c.compression_codec = CompressionCodec::Zstd;
  c.delivery_timeout.seconds = 60;
  c.ack_timeout.seconds = 5;
  c.username = "u";
  c.password = "p";
  c.scram_mechanism = ScramMechanism::Sha512;
  c.ssl_ca_cert = "/ca.pem";
  c.rdkafka_options = {{"linger.ms", "20"}};
  auto s = producerSettings(c);
  ASSERT_TRUE(s.isOk()) << s.status().message();
  std::map<std::string, std::string> m(s->begin(), s->end());
  EXPECT_EQ(m["bootstrap.servers"], "k1:9092,k2:9093");
  EXPECT_EQ(m["enable.idempotence"], "true");
  EXPECT_EQ(m["acks"], "-1");
  EXPECT_EQ(m["message.send.max.retries"], "3");
  EXPECT_EQ(m["compression.codec"], "zstd");
  EXPECT_EQ(m["message.timeout.ms"], "60000");
  EXPECT_EQ(m["request.timeout.ms"], "5000");
  EXPECT_EQ(m["security.protocol"], "sasl_ssl");
  EXPECT_EQ(m["sasl.mechanisms"], "SCRAM-SHA-512");
  EXPECT_EQ(m["ssl.ca.location"], "/ca.pem");
  EXPECT_EQ(m["linger.ms"], "20");
  // Each spelling of the enums as the configuration binds it.
  PluginFactory f;
  for (const char* codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    EXPECT_TRUE(f.make(PluginKind::Output, "kafka2", std::string("compression_codec ") + codec).isOk()) << codec;
  }
  for (const auto& choice : kCompressionCodecs) {
    c.compression_codec = choice.value;
    auto codec = producerSettings(c);
    ASSERT_TRUE(codec.isOk());
    const std::map<std::string, std::string> m(codec->begin(), codec->end());
    EXPECT_EQ(m.at("compression.codec"), choice.name);
  }
  for (auto [mechanism, sasl] : {std::pair{ScramMechanism::None, "PLAIN"}, std::pair{ScramMechanism::Sha256, "SCRAM-SHA-256"},
                                 std::pair{ScramMechanism::Sha512, "SCRAM-SHA-512"}}) {
    c.scram_mechanism = mechanism;
    auto settings = producerSettings(c);
    ASSERT_TRUE(settings.isOk());
    const std::map<std::string, std::string> m(settings->begin(), settings->end());
    EXPECT_EQ(m.at("sasl.mechanisms"), sasl);
  }
}

TEST(Kafka2FormatTest, TopicKeysHeadersAndExclusionsAsFluentPluginKafka) {
  PluginFactory f;
  auto out = f.mustMake<Kafka2Output>(PluginKind::Output, "kafka2",
                                      "default_topic fallback\nuse_event_time true\nexclude_topic_key true\n"
                                      "exclude_message_key true\nexclude_fields $.secret,$.k8s.token\n"
                                      "headers_from_record pod:$.k8s.pod,gone:$.nothing,mk:$.message_key\n");
  Batch b;
  b.add("app", kTime + 5'000'000, *parseJson(R"({"topic":"orders","message_key":"k1","partition_key":"pk","partition":2,"n":1,"secret":"x","k8s":{"pod":"p-1","token":"t"}})", b.arena()));
  b.add("app", kTime, *parseJson(R"({"n":2,"topic":"","message_key":7})", b.arena()));
  b.add("app", kTime, *parseJson(R"({"n":3,"partition":"x"})", b.arena()));
  FormattedEvents fe;
  out->format(b, fe);
  ChunkView v(fe.bytes, fe.ends, nullptr);
  ASSERT_EQ(v.events(), 3u);
  Arena arena;
  KafkaMessage m;
  ASSERT_EQ(decodeLine(v.event(0), arena, m), nullptr) << v.event(0);
  EXPECT_EQ(m.topic, "orders");
  EXPECT_EQ(m.partition, 2);
  EXPECT_TRUE(m.has_key);
  EXPECT_EQ(m.key, "k1");
  EXPECT_EQ(m.partition_key, "pk");
  EXPECT_EQ(m.timestamp_ms, kTime / 1000000 + 5);
  ASSERT_EQ(m.headers.size(), 3u);
  EXPECT_EQ(m.headers[0].value, "p-1");
  EXPECT_TRUE(m.headers[1].null);
  EXPECT_TRUE(m.headers[2].null) << "read after exclude_message_key, as Fluentd does";
  // topic and message_key left out, partition fields kept, exclude_fields applied (nested too).
  EXPECT_EQ(m.value, R"({"partition_key":"pk","partition":2,"n":1,"k8s":{"pod":"p-1"}})");
  ASSERT_EQ(decodeLine(v.event(1), arena, m), nullptr) << v.event(1);
  EXPECT_EQ(m.topic, "fallback");  // an empty topic field counts as none
  EXPECT_EQ(m.key, "7");
  EXPECT_EQ(m.partition, -1);
  ASSERT_EQ(decodeLine(v.event(2), arena, m), nullptr) << v.event(2);
  EXPECT_NE(m.error.find("not a partition number"), std::string_view::npos);
  EXPECT_EQ(b.events()[0].record.find("secret") != nullptr, true) << "the batch's records are not changed";

  // <buffer tag>: the chunk keys do not name topic, so Fluentd would not read the field either.
  auto by_tag = f.mustMake<Kafka2Output>(PluginKind::Output, "kafka2", "<buffer tag>\n</buffer>\n");
  FormattedEvents fe2;
  by_tag->format(b, fe2);
  ASSERT_EQ(decodeLine(ChunkView(fe2.bytes, fe2.ends, nullptr).event(0), arena, m), nullptr);
  EXPECT_EQ(m.topic, "app");
}

TEST(Kafka2FormatTest, RecordKeyLimitsTemplatedTopicAndOtherFormats) {
  PluginFactory f;
  auto out = f.mustMake<Kafka2Output>(PluginKind::Output, "kafka2",
                                      "topic logs-${tag[1]}\nrecord_key $.data\nmax_send_limit_bytes 40\n");
  Batch b;
  b.add("k8s.web", kTime, *parseJson(R"({"data":{"a":1},"meta":1})", b.arena()));
  b.add("k8s.db", kTime, *parseJson(R"({"meta":1})", b.arena()));
  b.add("k8s.db", kTime, *parseJson(R"({"data":{"big":"0123456789012345678901234567890123456789"}})", b.arena()));
  FormattedEvents fe;
  out->format(b, fe);
  ChunkView v(fe.bytes, fe.ends, nullptr);
  Arena arena;
  KafkaMessage m;
  ASSERT_EQ(decodeLine(v.event(0), arena, m), nullptr);
  EXPECT_EQ(m.topic, "logs-web");
  EXPECT_EQ(m.value, R"({"a":1})");
  ASSERT_EQ(decodeLine(v.event(1), arena, m), nullptr);
  EXPECT_NE(m.error.find("record_key $.data is not in the record"), std::string_view::npos);
  EXPECT_EQ(m.value, R"({"meta":1})") << "the record is kept for the dead letter";
  ASSERT_EQ(decodeLine(v.event(2), arena, m), nullptr);
  EXPECT_NE(m.error.find("exceeds max_send_limit_bytes"), std::string_view::npos);

  auto ltsv = f.mustMake<Kafka2Output>(PluginKind::Output, "kafka2", "<format>\n @type ltsv\n</format>\n");
  FormattedEvents fl;
  ltsv->format(b, fl);
  ASSERT_EQ(decodeLine(ChunkView(fl.bytes, fl.ends, nullptr).event(1), arena, m), nullptr);
  EXPECT_EQ(m.value, "meta:1\n");
}

// format() allocates per batch (its scratch value and arena), never per event: a warm batch of
// 1,000 events with keys, record headers and exclusions costs what a batch of 10 costs.
TEST(Kafka2FormatTest, AWarmBatchAllocatesNothingPerEvent) {
  PluginFactory f;
  auto out = f.mustMake<Kafka2Output>(PluginKind::Output, "kafka2",
                                      "default_topic logs\nexclude_message_key true\nuse_event_time true\n"
                                      "headers_from_record pod:$.k8s.pod\n");
  auto allocationsFor = [&](int events) {
    Batch b;
    for (int i = 0; i < events; ++i) {
      b.add("app", kTime + i, *parseJson("{\"n\":" + std::to_string(i) + ",\"message_key\":\"u" + std::to_string(i % 9) +
                                             "\",\"partition_key\":\"t\",\"k8s\":{\"pod\":\"p\"},\"msg\":\"hello world\"}",
                                         b.arena()));
    }
    FormattedEvents fe;
    out->format(b, fe);  // warm: the output's buffers reach their size
    fe.clear();
    sluice::testing::AllocationCounter counter;
    out->format(b, fe);
    EXPECT_EQ(fe.ends.size(), size_t(events));
    return counter.count();
  };
  const uint64_t small = allocationsFor(10);
  EXPECT_EQ(allocationsFor(1000), small) << "allocations grow with the events";
  EXPECT_LE(small, 6u);
}

TEST(Kafka2LineTest, DecodesEscapesAndRefusesAnythingElse) {
  Arena arena;
  KafkaMessage m;
  ASSERT_EQ(decodeLine(R"({"topic":"t\u00e9\ud83d\ude00","key":"a\"b\\c\n","headers":{"h":"\u0000x"},"value":{"v":1}})", arena, m),
            nullptr);
  EXPECT_EQ(m.topic, "t\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(m.key, "a\"b\\c\n");
  EXPECT_EQ(m.headers[0].value, std::string_view("\0x", 2));
  EXPECT_EQ(m.value, R"({"v":1})");
  for (std::string_view bad : {"", "{}", "not json", R"({"topic":"t"})", R"({"topic":"t","value":})",
                               R"({"topic":"t,"value":1})", R"({"topic":"t","partition":-1,"value":1})",
                               R"({"topic":"t","partition":99999999999,"value":1})", R"({"topic":"t\x","value":1})",
                               R"({"topic":"t","headers":{"a":1},"value":1})", R"({"topic":"t","value_text":"a"x})"}) {
    EXPECT_NE(decodeLine(bad, arena, m), nullptr) << bad;
  }
  // Random damage to a valid line: refused or read, never a crash or a read out of bounds.
  std::string good = R"({"topic":"t","partition":1,"key":"k","partition_key":"p","timestamp":5,"headers":{"a":"b","c":null},"value":{"x":"y"}})";
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string s = good;
    for (int k = 0; k < 1 + int(rng() % 4); ++k) {
      switch (rng() % 3) {
        case 0: s[rng() % s.size()] = static_cast<char>(rng()); break;
        case 1: s.erase(rng() % s.size(), 1 + rng() % 5); break;
        default: s.insert(rng() % s.size(), 1, "\"\\{},:u"[rng() % 7]); break;
      }
      if (s.empty()) s = "x";
    }
    arena.reset();
    (void)decodeLine(s, arena, m);
  }
}

}  // namespace
}  // namespace sluice::plugins::out_kafka2
