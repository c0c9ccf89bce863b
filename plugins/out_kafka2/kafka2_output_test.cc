// SPDX-License-Identifier: Apache-2.0
// The kafka2 output against librdkafka's mock cluster (real brokers speaking the Kafka
// protocol on 127.0.0.1, in this process): messages are consumed back with librdkafka's
// consumer and counted; broker errors are injected, leaders moved, the producer failed. The
// tests that need no broker (configuration, format, the line format) are in
// kafka2_config_test.cc.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <random>
#include <set>
#include <thread>

#include "buffer/buffer.h"
#include "plugins/out_kafka2/kafka2_output.h"
#include "plugins/out_kafka2/kafka_mock_support.h"
#include "support/buffer_support.h"
#include "support/test_support.h"

namespace sluice::plugins::out_kafka2 {
namespace {

using testing::consumeAll;
using testing::Consumed;
using testing::MockKafka;
using sluice::testing::PluginFactory;
using sluice::testing::TempDir;
using sluice::testing::waitFor;

constexpr int64_t kTime = 1795309323LL * kNanosPerSecond;  // 2026-11-22T01:02:03Z

struct Formatted {
  FormattedEvents events;
  ChunkView view() const { return ChunkView(events.bytes, events.ends, nullptr); }
};

// Events {"n":from..to-1} plus `extra` members, formatted by `out`.
Formatted formatRange(Output& out, int from, int to, const std::string& extra = "", std::string_view tag = "app") {
  Batch b;
  for (int i = from; i < to; ++i) {
    b.add(tag, kTime + int64_t(i) * 1000000,
          *parseJson("{\"n\":" + std::to_string(i) + extra + "}", b.arena()));
  }
  Formatted f;
  out.format(b, f.events);
  return f;
}

// A chunk holding only events `which` of `f`.
Formatted subset(const Formatted& f, const std::vector<size_t>& which) {
  Formatted s;
  for (size_t i : which) {
    s.events.bytes.append(f.view().event(i));
    s.events.endEvent();
  }
  return s;
}

// n → how many times it is in `msgs` (values are JSON objects with "n").
std::map<int, int> countN(const std::vector<Consumed>& msgs) {
  std::map<int, int> seen;
  for (const Consumed& c : msgs) {
    size_t at = c.value.find("\"n\":");
    if (at != std::string::npos) ++seen[std::atoi(c.value.c_str() + at + 4)];
  }
  return seen;
}

uint32_t crc32(std::string_view s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// The Java client's partitioner hash (Utils.murmur2), written from its definition.
uint32_t murmur2(std::string_view s) {
  const uint32_t m = 0x5bd1e995u;
  uint32_t h = 0x9747b28cu ^ static_cast<uint32_t>(s.size());
  const auto* d = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  for (; i + 4 <= s.size(); i += 4) {
    uint32_t k = d[i] | (d[i + 1] << 8) | (d[i + 2] << 16) | (uint32_t(d[i + 3]) << 24);
    k *= m;
    k ^= k >> 24;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (s.size() % 4) {
    case 3: h ^= d[i + 2] << 16; [[fallthrough]];
    case 2: h ^= d[i + 1] << 8; [[fallthrough]];
    case 1: h ^= d[i]; h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

class Kafka2Test : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(kafka_.ok()); }
  std::unique_ptr<Kafka2Output> make(const std::string& body) {
    auto out = factory_.mustMake<Kafka2Output>(PluginKind::Output, "kafka2",
                                               "brokers " + kafka_.bootstraps() + "\n" + body);
    EXPECT_TRUE(out->start().isOk());
    return out;
  }
  // Kafka holds messages n = 0..count-1 of `topic`, each exactly once.
  void expectEachOnce(const std::string& topic, int partitions, int count) {
    auto seen = countN(consume(topic, partitions));
    EXPECT_EQ(seen.size(), size_t(count));
    for (const auto& [n, times] : seen) EXPECT_EQ(times, 1) << "message " << n;
  }
  std::vector<Consumed> consume(const std::string& topic, int partitions) {
    std::string error;
    auto msgs = consumeAll(kafka_.bootstraps(), topic, partitions, &error);
    EXPECT_EQ(error, "");
    return msgs;
  }
  MockKafka kafka_{3};
  PluginFactory factory_;
};

TEST_F(Kafka2Test, DeliversEveryMessageOnceWithKeysHeadersPartitionsAndTimes) {
  ASSERT_TRUE(kafka_.createTopic("logs", 4, 3));
  auto out = make("default_topic logs\nuse_event_time true\nheaders env:test,dc:eu\n"
                  "headers_from_record pod:$.pod\n");
  constexpr int kEvents = 2000;
  Formatted f;
  {
    Batch b;
    for (int i = 0; i < kEvents; ++i) {
      std::string rec = "{\"n\":" + std::to_string(i) + ",\"pod\":\"p" + std::to_string(i % 7) + "\"";
      if (i % 3 == 0) rec += ",\"message_key\":\"user-" + std::to_string(i % 11) + "\"";
      if (i % 3 == 1) rec += ",\"partition_key\":\"tenant-" + std::to_string(i % 5) + "\"";
      b.add("app", kTime + int64_t(i) * 1000000, *parseJson(rec + "}", b.arena()));
    }
    out->format(b, f.events);
  }
  WriteResult r = out->write(f.view());
  ASSERT_EQ(r.kind, WriteResult::Kind::Ok) << r.reason;
  auto msgs = consume("logs", 4);
  ASSERT_EQ(msgs.size(), size_t(kEvents));
  auto seen = countN(msgs);
  EXPECT_EQ(seen.size(), size_t(kEvents));
  for (const Consumed& c : msgs) {
    int n = std::atoi(c.value.c_str() + c.value.find("\"n\":") + 4);
    ASSERT_EQ(c.headers.size(), 3u);
    EXPECT_EQ(c.headers[0], (std::pair<std::string, std::optional<std::string>>("env", "test")));
    EXPECT_EQ(c.headers[2].second, "p" + std::to_string(n % 7));
    EXPECT_EQ(c.timestamp_ms, kTime / 1000000 + n);
    // crc32 of the partition key, else of the message key: ruby-kafka's partitioner.
    if (n % 3 == 0) {
      EXPECT_EQ(c.key, "user-" + std::to_string(n % 11));
      EXPECT_EQ(c.partition, int32_t(crc32("user-" + std::to_string(n % 11)) % 4));
    } else if (n % 3 == 1) {
      EXPECT_FALSE(c.key.has_value());
      EXPECT_EQ(c.partition, int32_t(crc32("tenant-" + std::to_string(n % 5)) % 4));
    }
  }
  EXPECT_EQ(factory_.metrics().valueForTest("sluice_output_kafka2_messages_total"), kEvents);
}

TEST_F(Kafka2Test, Murmur2PlacesKeysAsTheJavaClientDoes) {
  ASSERT_TRUE(kafka_.createTopic("logs", 5, 1));
  auto out = make("default_topic logs\npartitioner_hash_function murmur2\n");
  Batch b;
  for (int i = 0; i < 40; ++i) {
    b.add("app", kTime, *parseJson("{\"n\":" + std::to_string(i) + ",\"message_key\":\"order-" + std::to_string(i) + "\"}", b.arena()));
  }
  Formatted f;
  out->format(b, f.events);
  ASSERT_EQ(out->write(f.view()).kind, WriteResult::Kind::Ok);
  auto msgs = consume("logs", 5);
  ASSERT_EQ(msgs.size(), 40u);
  std::set<int32_t> used;
  for (const Consumed& c : msgs) {
    ASSERT_TRUE(c.key.has_value());
    EXPECT_EQ(c.partition, int32_t((murmur2(*c.key) & 0x7fffffffu) % 5)) << *c.key;
    used.insert(c.partition);
  }
  EXPECT_GT(used.size(), 2u);
}

// Flush threads write concurrently through the one producer; each write waits for its own
// delivery reports, whichever thread's poll serves them.
TEST_F(Kafka2Test, ConcurrentWritesEachWaitForTheirOwnReports) {
  ASSERT_TRUE(kafka_.createTopic("logs", 3, 1));
  auto out = make("default_topic logs\n");
  constexpr int kThreads = 4, kChunks = 10, kPer = 250;
  std::atomic<int> not_ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int c = 0; c < kChunks; ++c) {
        const int from = (t * kChunks + c) * kPer;
        Formatted f = formatRange(*out, from, from + kPer);
        if (out->write(f.view()).kind != WriteResult::Kind::Ok) ++not_ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(not_ok.load(), 0);
  expectEachOnce("logs", 3, kThreads * kChunks * kPer);
  EXPECT_EQ(factory_.metrics().valueForTest("sluice_output_kafka2_messages_total"), kThreads * kChunks * kPer);
}

// Errors injected into the brokers' produce responses: librdkafka retries them itself
// (max_send_retries) and the idempotent producer keeps every message once and in order.
TEST_F(Kafka2Test, InjectedBrokerErrorsAreRetriedWithoutDuplicates) {
  ASSERT_TRUE(kafka_.createTopic("logs", 2, 3));
  auto out = make("default_topic logs\nmax_send_retries 5\nrdkafka_options {\"retry.backoff.ms\":\"10\"}\n");
  rd_kafka_mock_push_request_errors(kafka_.cluster(), 0 /* Produce */, 4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
  Formatted f = formatRange(*out, 0, 500);
  WriteResult r = out->write(f.view());
  ASSERT_EQ(r.kind, WriteResult::Kind::Ok) << r.reason;
  expectEachOnce("logs", 2, 500);
}

// More errors than librdkafka's retries: the chunk is answered for retry, and the messages
// are delivered once when it is written again.
TEST_F(Kafka2Test, ErrorsBeyondTheRetriesAnswerRetryAndTheResendDuplicatesNothing) {
  ASSERT_TRUE(kafka_.createTopic("logs", 1, 1));
  // (linger.ms: a write's messages for a partition go in one produce request even on a slow
  // machine, so the injected errors meet all of them.)
  auto out = make("default_topic logs\nmax_send_retries 1\n"
                  "rdkafka_options {\"retry.backoff.ms\":\"10\",\"linger.ms\":\"100\"}\n");
  std::vector<rd_kafka_resp_err_t> errs(20, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors_array(kafka_.cluster(), 0, errs.size(), errs.data());
  Formatted f = formatRange(*out, 0, 300);
  WriteResult r = out->write(f.view());
  ASSERT_EQ(r.kind, WriteResult::Kind::Retry) << r.reason;
  EXPECT_NE(r.reason.find("300 messages not delivered"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("in-sync replicas"), std::string::npos) << r.reason;
  EXPECT_EQ(factory_.metrics().valueForTest("sluice_output_kafka2_delivery_errors_total"), 300);
  rd_kafka_mock_clear_request_errors(kafka_.cluster(), 0);
  r = out->write(f.view());
  ASSERT_EQ(r.kind, WriteResult::Kind::Ok) << r.reason;
  expectEachOnce("logs", 1, 300);
}

// One broker fails every produce request; the partitions it leads fail, the others are
// delivered: write() answers Partial with exactly the failed messages, and a real file buffer
// keeps only those (on disk) and retries them alone until the broker recovers.
TEST_F(Kafka2Test, PartialFailureRetriesOnlyTheFailedMessagesThroughAFileBuffer) {
  ASSERT_TRUE(kafka_.createTopic("logs", 3, 1));
  for (int p = 0; p < 3; ++p) rd_kafka_mock_partition_set_leader(kafka_.cluster(), "logs", p, p + 1);
  // (linger.ms: a write's messages for a partition go in one produce request even on a slow
  // machine, so the injected errors meet all of them.)
  auto out = make("default_topic logs\nmax_send_retries 1\n"
                  "rdkafka_options {\"retry.backoff.ms\":\"10\",\"linger.ms\":\"100\"}\n");
  auto numbered = [](int from, int to) {
    Batch b;
    for (int i = from; i < to; ++i) {
      b.add("app", kTime, *parseJson("{\"n\":" + std::to_string(i) + ",\"partition\":" + std::to_string(i % 3) + "}", b.arena()));
    }
    return b;
  };
  {  // warm up: metadata known, every leader connected
    Formatted f;
    out->format(numbered(100000, 100003), f.events);
    ASSERT_EQ(out->write(f.view()).kind, WriteResult::Kind::Ok);
  }
  // Broker 2 (partition 1) fails the next two produce requests: the first try and the retry.
  auto failBroker2 = [&] {
    rd_kafka_mock_broker_push_request_error_rtts(kafka_.cluster(), 2, 0, 2, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 0,
                                                 RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, 0);
  };
  failBroker2();
  Formatted f;
  out->format(numbered(0, 90), f.events);
  WriteResult r = out->write(f.view());
  ASSERT_EQ(r.kind, WriteResult::Kind::Partial) << r.reason;
  std::vector<size_t> expected;
  for (size_t i = 1; i < 90; i += 3) expected.push_back(i);
  EXPECT_EQ(r.retry_events, expected);
  EXPECT_TRUE(r.failed_events.empty());
  EXPECT_EQ(r.reason, "30 of 90 messages not delivered: Broker: Not enough in-sync replicas");

  // Through a file buffer: the failed third goes to a chunk of its own, on disk, retried alone.
  TempDir dir;
  BufferConfig c = sluice::testing::testBufferConfig("file");
  c.path = dir.file("buf");
  sluice::testing::OutputBuffer buf(c, *out, "kafka", dir.file("dead"));
  ASSERT_TRUE(buf.started());
  const double errors_before = factory_.metrics().valueForTest("sluice_output_kafka2_delivery_errors_total");
  failBroker2();
  ASSERT_TRUE(buf->append(numbered(1000, 1300)).isOk());
  ASSERT_TRUE(waitFor([&] {
    auto st = buf->stats();
    return st.queued_chunks == 0 && st.staged_chunks == 0 &&
           factory_.metrics().valueForTest("sluice_output_kafka2_messages_total") >= 3 + 60 + 300;
  }, std::chrono::seconds(60))) << "the retried chunk was not delivered";
  EXPECT_EQ(factory_.metrics().valueForTest("sluice_output_kafka2_delivery_errors_total") - errors_before, 100)
      << "partition 1's hundred messages failed once";
  auto seen = countN(consume("logs", 3));
  for (int i = 0; i < 90; ++i) EXPECT_EQ(seen[i], i % 3 == 1 ? 0 : 1) << i;
  for (int i = 1000; i < 1300; ++i) EXPECT_EQ(seen[i], 1) << i << ": the delivered two thirds were not sent again";
}

// Partition leaders move between brokers while chunks are being written: librdkafka follows
// the leaders; every message arrives once.
TEST_F(Kafka2Test, LeaderChangesMidStreamLoseAndDuplicateNothing) {
  ASSERT_TRUE(kafka_.createTopic("logs", 4, 3));
  auto out = make("default_topic logs\n");
  std::atomic<bool> done{false};
  std::thread mover([&] {
    int round = 0;
    while (!done.load()) {
      for (int p = 0; p < 4; ++p) rd_kafka_mock_partition_set_leader(kafka_.cluster(), "logs", p, 1 + (p + round) % 3);
      ++round;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the pace of the moves (the load)
    }
  });
  constexpr int kChunks = 30, kPer = 200;
  for (int c = 0; c < kChunks; ++c) {
    Formatted f;
    {
      Batch b;
      for (int i = c * kPer; i < (c + 1) * kPer; ++i) {
        b.add("app", kTime, *parseJson("{\"n\":" + std::to_string(i) + ",\"message_key\":\"k" + std::to_string(i % 13) + "\"}", b.arena()));
      }
      out->format(b, f.events);
    }
    WriteResult r = out->write(f.view());
    for (int attempt = 0; r.kind != WriteResult::Kind::Ok && attempt < 5; ++attempt) {
      ASSERT_NE(r.kind, WriteResult::Kind::Fail) << r.reason;
      std::vector<size_t> again = r.retry_events;
      if (r.kind == WriteResult::Kind::Retry) {
        again.clear();
        for (size_t i = 0; i < f.view().events(); ++i) again.push_back(i);
      }
      f = subset(f, again);
      r = out->write(f.view());
    }
    ASSERT_EQ(r.kind, WriteResult::Kind::Ok) << r.reason;
  }
  done = true;
  mover.join();
  expectEachOnce("logs", 4, kChunks * kPer);
}

TEST_F(Kafka2Test, UnknownAndInvalidTopicsFallBackToDefaultTopicOrFailAlone) {
  ASSERT_TRUE(kafka_.createTopic("logs", 1, 1));
  ASSERT_TRUE(kafka_.createTopic("missing", 1, 1));
  rd_kafka_mock_topic_set_error(kafka_.cluster(), "missing", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  // (librdkafka calls a topic unknown once the cluster said so for topic.metadata.propagation.max.ms.)
  auto out = make("default_topic logs\nuse_default_for_unknown_topic true\n"
                  "rdkafka_options {\"topic.metadata.propagation.max.ms\":\"300\"}\n");
  Batch b;
  b.add("app", kTime, *parseJson(R"({"n":1,"topic":"missing"})", b.arena()));
  b.add("app", kTime, *parseJson(R"({"n":2,"topic":"../etc/\u001b[2J"})", b.arena()));
  b.add("app", kTime, *parseJson(R"({"n":3})", b.arena()));
  Formatted f;
  out->format(b, f.events);
  WriteResult r = out->write(f.view());
  ASSERT_EQ(r.kind, WriteResult::Kind::Ok) << r.reason;
  EXPECT_EQ(countN(consume("logs", 1)).size(), 3u);
  EXPECT_GE(factory_.metrics().valueForTest("sluice_output_kafka2_default_topic_fallbacks_total"), 2);

  // Without the fallback, the invalid name fails for good (dead letters), alone.
  auto strict = make("default_topic logs\n");
  Formatted g;
  strict->format(b, g.events);
  r = strict->write(subset(g, {1, 2}).view());
  ASSERT_EQ(r.kind, WriteResult::Kind::Partial) << r.reason;
  ASSERT_EQ(r.failed_events.size(), 1u);
  EXPECT_EQ(r.failed_events[0].first, 0u);
  EXPECT_NE(r.failed_events[0].second.find("topic name not allowed"), std::string::npos);
  EXPECT_EQ(r.failed_events[0].second.find('\x1b'), std::string::npos) << "log content reaches the log escaped";
  EXPECT_TRUE(r.retry_events.empty());
}

// A fatal producer error (the idempotent producer's sequence broken) replaces the producer:
// the chunk is retried and the next write goes through a new producer session.
TEST_F(Kafka2Test, FatalErrorReplacesTheProducer) {
  ASSERT_TRUE(kafka_.createTopic("logs", 1, 1));
  auto out = make("default_topic logs\n");
  ASSERT_EQ(out->write(formatRange(*out, 0, 10).view()).kind, WriteResult::Kind::Ok);
  rd_kafka_test_fatal_error(out->producerForTest(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "injected by the test");
  WriteResult r = out->write(formatRange(*out, 10, 20).view());
  EXPECT_NE(r.kind, WriteResult::Kind::Ok);
  EXPECT_EQ(out->producerResetsForTest(), 1);
  r = out->write(formatRange(*out, 10, 20).view());
  ASSERT_EQ(r.kind, WriteResult::Kind::Ok) << r.reason;
  expectEachOnce("logs", 1, 20);
  EXPECT_EQ(factory_.metrics().valueForTest("sluice_output_kafka2_producer_resets_total"), 1);
}

// A chunk of garbage (a damaged dead-letter file replayed, bytes that are not this format):
// each bad event fails alone with the reason; the good ones are delivered; nothing crashes.
TEST_F(Kafka2Test, GarbageEventsFailAloneAndNeverCrash) {
  ASSERT_TRUE(kafka_.createTopic("logs", 1, 1));
  auto out = make("default_topic logs\n");
  Formatted good = formatRange(*out, 0, 2);
  FormattedEvents fe;
  fe.bytes.append(good.view().event(0));
  fe.endEvent();
  for (std::string_view junk : {std::string_view("\x00\xff\x01garbage", 10), std::string_view("{\"topic\":"),
                                std::string_view("{\"error\":\"record_key missing\",\"value\":{}}\n")}) {
    fe.bytes.append(junk);
    fe.endEvent();
  }
  fe.bytes.append(good.view().event(1));
  fe.endEvent();
  WriteResult r = out->write(ChunkView(fe.bytes, fe.ends, nullptr));
  ASSERT_EQ(r.kind, WriteResult::Kind::Partial) << r.reason;
  ASSERT_EQ(r.failed_events.size(), 3u);
  EXPECT_NE(r.failed_events[0].second.find("not a kafka2 event"), std::string::npos);
  EXPECT_EQ(r.failed_events[2].second, "record_key missing");
  EXPECT_EQ(countN(consume("logs", 1)).size(), 2u);
}

// A "broker" that answers every request with garbage: oversized frames, frames of random
// bytes, frames cut short. librdkafka drops each connection; the write times out into a retry;
// nothing crashes.
TEST(Kafka2GarbageBrokerTest, GarbageAnswersTimeOutIntoARetry) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::thread server([&] {
    std::mt19937 rng(16);
    while (!stop.load()) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) continue;
      char buf[4096];
      pollfd q{c, POLLIN, 0};
      if (::poll(&q, 1, 500) > 0 && ::read(c, buf, sizeof buf) > 0) {
        std::string junk;
        switch (answered.fetch_add(1) % 3) {
          case 0: junk = std::string("\x7f\xff\xff\xff", 4) + "not a response"; break;   // a 2 GB frame
          case 1: junk = std::string("\x00\x00\x00\x40", 4) + std::string(64, '\xff'); break;  // a frame of junk
          default: for (int i = 0; i < 300; ++i) junk += static_cast<char>(rng()); break;  // random bytes
        }
        (void)!::write(c, junk.data(), junk.size());
      }
      ::close(c);
    }
  });
  PluginFactory f;
  auto out = f.mustMake<Kafka2Output>(PluginKind::Output, "kafka2",
                                      "brokers 127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) +
                                          "\ndefault_topic logs\ndelivery_timeout 2s\n");
  ASSERT_TRUE(out->start().isOk());
  WriteResult r = out->write(formatRange(*out, 0, 10).view());
  EXPECT_EQ(r.kind, WriteResult::Kind::Retry) << r.reason;
  EXPECT_NE(r.reason.find("10 messages not delivered"), std::string::npos) << r.reason;
  EXPECT_GE(answered.load(), 2);
  out->stop();
  stop = true;
  server.join();
  ::close(fd);
}

// Every broker down: the messages time out (delivery_timeout) and the chunk is retried; once
// the brokers are back the same chunk goes through.
TEST_F(Kafka2Test, BrokersDownTimesOutIntoARetryThenDelivers) {
  ASSERT_TRUE(kafka_.createTopic("logs", 1, 3));
  auto out = make("default_topic logs\ndelivery_timeout 2s\n");
  ASSERT_EQ(out->write(formatRange(*out, 0, 5).view()).kind, WriteResult::Kind::Ok);
  for (int id = 1; id <= 3; ++id) rd_kafka_mock_broker_set_down(kafka_.cluster(), id);
  Formatted f = formatRange(*out, 5, 50);
  auto t0 = std::chrono::steady_clock::now();
  WriteResult r = out->write(f.view());
  EXPECT_EQ(r.kind, WriteResult::Kind::Retry) << r.reason;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  for (int id = 1; id <= 3; ++id) rd_kafka_mock_broker_set_up(kafka_.cluster(), id);
  r = out->write(f.view());
  for (int attempt = 0; r.kind != WriteResult::Kind::Ok && attempt < 10; ++attempt) r = out->write(f.view());
  ASSERT_EQ(r.kind, WriteResult::Kind::Ok) << r.reason;
  expectEachOnce("logs", 1, 50);
}

}  // namespace
}  // namespace sluice::plugins::out_kafka2
