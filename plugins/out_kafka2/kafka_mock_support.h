// SPDX-License-Identifier: Apache-2.0
#pragma once

// For the kafka2 tests and benchmark: librdkafka's own mock cluster (a real Kafka protocol
// implementation with brokers listening on 127.0.0.1, in this process) and a consumer that
// reads every message of a topic back. Not part of the plugin.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice::plugins::out_kafka2::testing {

// A mock Kafka cluster of `brokers` brokers (ids 1..brokers). Thread-safe: the mock runs on
// its own thread; the set-up calls below may come from any thread.
class MockKafka {
 public:
  explicit MockKafka(int brokers = 3) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (handle_ == nullptr) {
      std::fprintf(stderr, "mock kafka handle: %s\n", err);
      return;
    }
    cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
  }
  ~MockKafka() {
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (handle_ != nullptr) rd_kafka_destroy(handle_);
  }
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;

  bool ok() const { return cluster_ != nullptr; }
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  bool createTopic(const std::string& topic, int partitions, int replication = 1) {
    return rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, replication) == RD_KAFKA_RESP_ERR_NO_ERROR;
  }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// How many messages were ever appended to `topic`: the sum of its partitions' high watermarks
// (offsets start at 0; the mock cluster keeps only the last few MB of each partition, so the
// low watermark moves and high - low would count only what is still kept); -1 when the cluster
// does not answer.
inline int64_t messagesIn(const std::string& bootstraps, const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return -1;
  }
  int64_t total = 0;
  for (int p = 0; p < partitions && total >= 0; ++p) {
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      total += hi;
    } else {
      total = -1;
    }
  }
  rd_kafka_destroy(rk);
  return total;
}

struct Consumed {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp_ms = -1;
};

// Reads every message of `topic` (partitions 0..partitions-1) from the start up to the high
// watermark as it is now: what Kafka holds, duplicates included. Empty with `error` set when
// the cluster cannot be read within `timeout`.
inline std::vector<Consumed> consumeAll(const std::string& bootstraps, const std::string& topic, int partitions,
                                        std::string* error = nullptr,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  std::vector<Consumed> out;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "sluice-test-reader", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    if (error) *error = err;
    rd_kafka_conf_destroy(conf);
    return out;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<int64_t> high(static_cast<size_t>(partitions), 0);
  int64_t total = 0;
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 5000)) != RD_KAFKA_RESP_ERR_NO_ERROR &&
           std::chrono::steady_clock::now() < deadline) {
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (error) *error = std::string("watermarks: ") + rd_kafka_err2str(e);
      rd_kafka_destroy(rk);
      return out;
    }
    high[static_cast<size_t>(p)] = hi;
    total += hi - lo;
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    if (high[static_cast<size_t>(p)] > 0) {
      rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  while (static_cast<int64_t>(out.size()) < total && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->offset < high[static_cast<size_t>(m->partition)]) {
      Consumed c;
      c.topic = rd_kafka_topic_name(m->rkt);
      c.partition = m->partition;
      c.offset = m->offset;
      if (m->key != nullptr) c.key = std::string(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) c.value.assign(static_cast<const char*>(m->payload), m->len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
          c.headers.emplace_back(name, value == nullptr ? std::nullopt
                                                        : std::optional<std::string>(std::string(static_cast<const char*>(value), size)));
        }
      }
      rd_kafka_timestamp_type_t tstype;
      c.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
      out.push_back(std::move(c));
    }
    rd_kafka_message_destroy(m);
  }
  if (static_cast<int64_t>(out.size()) < total && error) {
    *error = "read " + std::to_string(out.size()) + " of " + std::to_string(total) + " messages before the deadline";
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

}  // namespace sluice::plugins::out_kafka2::testing
