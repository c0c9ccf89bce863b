// SPDX-License-Identifier: Apache-2.0
// The kafka2 output's producer and write(): a chunk's messages are produced at once, then the
// writing thread polls librdkafka until every one of them has its delivery report.
#include <chrono>
#include <mutex>

#include "plugins/out_kafka2/kafka2_output.h"
#include "plugins/out_kafka2/kafka_line.h"

namespace sluice::plugins::out_kafka2 {

// What one message of a write became. Lives in the write's WriteState until every delivery
// report of the write arrived; librdkafka holds its address (msg_opaque) until then, and the
// partitioner may read it on a librdkafka thread.
struct Kafka2Output::Slot {
  WriteState* state = nullptr;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  enum class Outcome : uint8_t { None, Sent, Failed } outcome = Outcome::None;
  bool murmur2 = false;
  bool has_partition_key = false;
  std::string_view partition_key;  // into the chunk or the write's arena
  std::string reason;              // Failed: why (rare: built only on failure)
};

struct Kafka2Output::WriteState {
  std::atomic<size_t> outstanding{0};
  std::vector<Slot> slots;  // never resized once messages refer to it
  Arena arena{4096};
  KafkaMessage message;
  std::string topic_name;  // NUL-terminated copy of the topic of `topic`
  rd_kafka_topic_t* topic = nullptr;
  std::string_view default_topic;
  // Keyless messages of this write go to one partition (fewer, larger batches), chosen at
  // random: ruby-kafka's random partitioner, drawn once per chunk. -1: not drawn yet.
  std::atomic<int32_t> keyless_partition{-1};
};

namespace {

constexpr std::chrono::seconds kReportGrace(30);

// Kafka's rule for topic names (kafka.common.internals.Topic): 1 to 249 of [a-zA-Z0-9._-],
// not "." or "..". Names come from log content; checked before any is sent.
bool validTopic(std::string_view t) {
  if (t.empty() || t.size() > 249 || t == "." || t == "..") return false;
  for (char c : t) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Errors that sending again cannot fix: the message goes to <secondary> or the dead letters.
bool permanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return true;
    default:
      return false;
  }
}

bool unknownTopic(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
}

}  // namespace

Kafka2Output::~Kafka2Output() { destroyProducer(); }

Status Kafka2Output::start() {
  std::unique_lock lock(producer_mu_);
  if (producer_ != nullptr) return Status::ok();
  return createProducer();
}

void Kafka2Output::stop() {
  std::unique_lock lock(producer_mu_);
  destroyProducer();
}

// REQUIRES: producer_mu_ held exclusively (or no other thread can reach the output).
Status Kafka2Output::createProducer() {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The default topic configuration first: topic properties set on `conf` afterwards (acks,
  // message.timeout.ms, compression) go into it instead of being replaced by it.
  rd_kafka_topic_conf_t* tconf = rd_kafka_topic_conf_new();
  rd_kafka_topic_conf_set_partitioner_cb(tconf, &Kafka2Output::partitioner);
  rd_kafka_conf_set_default_topic_conf(conf, tconf);
  for (const auto& [k, v] : settings_) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::invalidConfig(k + ": " + err);
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &Kafka2Output::onDelivery);
  rd_kafka_conf_set_error_cb(conf, &Kafka2Output::onError);
  rd_kafka_conf_set_log_cb(conf, &Kafka2Output::onLog);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::invalidConfig(std::string("cannot create the Kafka producer: ") + err);
  }
  producer_ = rk;
  fatal_.store(false);
  return Status::ok();
}

// REQUIRES: producer_mu_ held exclusively, no write in progress.
void Kafka2Output::destroyProducer() {
  if (producer_ == nullptr) return;
  // No message of ours is outstanding (every write waited for its reports); flush serves what
  // callbacks are left.
  rd_kafka_flush(producer_, 5000);
  rd_kafka_destroy(producer_);
  producer_ = nullptr;
}

void Kafka2Output::resetAfterFatalError(rd_kafka_t* seen) {
  std::unique_lock lock(producer_mu_);
  if (producer_ != seen) return;  // another flush thread replaced it already
  char why[512] = "";
  rd_kafka_fatal_error(producer_, why, sizeof why);
  destroyProducer();
  Status s = createProducer();
  resets_.fetch_add(1);
  resets_counter_->add(1);
  if (s) {
    log_.warn(std::string("The Kafka producer had a fatal error (") + why +
              "); a new producer (a new idempotent session) replaces it");
  } else {
    log_.error("The Kafka producer had a fatal error and cannot be created again: " + s.message());
  }
}

void Kafka2Output::onDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* slot = static_cast<Slot*>(msg->_private);
  if (slot == nullptr) return;
  slot->err = msg->err;
  // The last touch of the slot: the writer may free it as soon as the count is 0.
  slot->state->outstanding.fetch_sub(1, std::memory_order_acq_rel);
}

void Kafka2Output::onError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Kafka2Output*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char why[512] = "";
    rd_kafka_fatal_error(rk, why, sizeof why);
    self->fatal_.store(true);
    self->log_.error(std::string("Kafka producer: fatal error: ") + why);
    return;
  }
  self->log_.warn(std::string("Kafka producer: ") + rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)) + ": " +
                  reason);
}

void Kafka2Output::onLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  auto* self = static_cast<Kafka2Output*>(rd_kafka_opaque(rk));
  if (self == nullptr) return;
  // What matters reaches onError (and the delivery reports); the rest is librdkafka's detail.
  if (!self->cfg_.get_kafka_client_log) return;
  std::string text = std::string("librdkafka ") + facility + ": " + message;
  if (level <= 4) {
    self->log_.warn(text);
  } else {
    level <= 6 ? self->log_.info(text) : self->log_.debug(text);
  }
}

int32_t Kafka2Output::partitioner(const rd_kafka_topic_t* rkt, const void* key, size_t keylen, int32_t partitions,
                                  void* rkt_opaque, void* msg_opaque) {
  const auto* slot = static_cast<const Slot*>(msg_opaque);
  if (slot != nullptr && slot->has_partition_key) {
    key = slot->partition_key.data();
    keylen = slot->partition_key.size();
  } else if (key == nullptr) {
    if (slot == nullptr) return rd_kafka_msg_partitioner_random(rkt, key, keylen, partitions, rkt_opaque, msg_opaque);
    int32_t p = slot->state->keyless_partition.load(std::memory_order_relaxed);
    if (p < 0 || p >= partitions || !rd_kafka_topic_partition_available(rkt, p)) {
      p = rd_kafka_msg_partitioner_random(rkt, key, keylen, partitions, rkt_opaque, msg_opaque);
      slot->state->keyless_partition.store(p, std::memory_order_relaxed);
    }
    return p;
  }
  return slot != nullptr && slot->murmur2
             ? rd_kafka_msg_partitioner_murmur2(rkt, key, keylen, partitions, rkt_opaque, msg_opaque)
             : rd_kafka_msg_partitioner_consistent(rkt, key, keylen, partitions, rkt_opaque, msg_opaque);
}

void Kafka2Output::produceAndWait(WriteState& st, const ChunkView& chunk, rd_kafka_t* rk, bool fallback_round) {
  KafkaMessage& m = st.message;
  rd_kafka_topic_t* rkt = nullptr;
  auto fail = [](Slot& s, std::string why) {
    s.outcome = Slot::Outcome::Failed;
    s.reason = std::move(why);
  };
  size_t fallbacks = 0;
  for (size_t i = 0; i < st.slots.size(); ++i) {
    Slot& s = st.slots[i];
    if (s.outcome != Slot::Outcome::None) continue;
    if (const char* bad = decodeLine(chunk.event(i), st.arena, m)) {
      fail(s, bad);
      continue;
    }
    if (!m.error.empty()) {
      fail(s, std::string(m.error));
      continue;
    }
    std::string_view topic = fallback_round ? st.default_topic : m.topic;
    if (!validTopic(topic)) {
      if (cfg_.use_default_for_unknown_topic && validTopic(st.default_topic)) {
        topic = st.default_topic;
        ++fallbacks;
      } else {
        std::string why = "topic name not allowed by Kafka (1 to 249 of a-z A-Z 0-9 . _ -): ";
        appendVisible(why, topic.substr(0, 100));
        fail(s, std::move(why));
        continue;
      }
    } else if (fallback_round) {
      ++fallbacks;
    }
    if (rkt == nullptr || topic != st.topic_name) {
      if (rkt != nullptr) rd_kafka_topic_destroy(rkt);
      st.topic_name.assign(topic);
      rkt = rd_kafka_topic_new(rk, st.topic_name.c_str(), nullptr);
      if (rkt == nullptr) {
        fail(s, std::string("cannot use topic: ") + rd_kafka_err2str(rd_kafka_last_error()));
        continue;
      }
    }
    rd_kafka_headers_t* headers = nullptr;
    if (!cfg_.headers.empty() || !m.headers.empty()) {
      headers = rd_kafka_headers_new(cfg_.headers.size() + m.headers.size());
      for (const auto& [name, value] : cfg_.headers) {
        rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                            static_cast<ssize_t>(value.size()));
      }
      for (const KafkaMessage::Header& h : m.headers) {
        rd_kafka_header_add(headers, h.name.data(), static_cast<ssize_t>(h.name.size()),
                            h.null ? nullptr : h.value.data(), h.null ? 0 : static_cast<ssize_t>(h.value.size()));
      }
    }
    s.has_partition_key = m.has_partition_key;
    s.partition_key = m.partition_key;
    s.err = RD_KAFKA_RESP_ERR_NO_ERROR;
    s.outcome = Slot::Outcome::Sent;
    st.outstanding.fetch_add(1, std::memory_order_acq_rel);
    rd_kafka_resp_err_t err;
    for (;;) {
      err = rd_kafka_producev(
          rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(m.partition >= 0 ? m.partition : RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(const_cast<char*>(m.value.data()), m.value.size()),
          RD_KAFKA_V_KEY(m.has_key ? m.key.data() : nullptr, m.has_key ? m.key.size() : 0),
          RD_KAFKA_V_TIMESTAMP(m.timestamp_ms), RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(&s), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(rk, 100);  // the local queue is full: serve delivery reports, try again
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Not queued: no report will come; the headers stay ours.
      st.outstanding.fetch_sub(1, std::memory_order_acq_rel);
      s.err = err;
      if (headers != nullptr) rd_kafka_headers_destroy(headers);
      if (err == RD_KAFKA_RESP_ERR__FATAL) fatal_.store(true);
    }
  }
  if (rkt != nullptr) rd_kafka_topic_destroy(rkt);
  if (fallbacks > 0) {
    fallbacks_->add(fallbacks);
    log_.warn(std::to_string(fallbacks) + " messages had an unknown or invalid topic; sent to default_topic " +
              std::string(st.default_topic));
  }

  // Every queued message gets exactly one report, at the latest when delivery_timeout ends.
  // Past that and a grace, the messages still queued are purged (their reports say so).
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(cfg_.delivery_timeout.seconds * 1000)) +
                        kReportGrace;
  bool purged = false;
  while (st.outstanding.load(std::memory_order_acquire) > 0) {
    rd_kafka_poll(rk, 10);
    if (!purged && std::chrono::steady_clock::now() > deadline) {
      log_.error("Kafka delivery reports overdue; purging the producer's queues (the messages are retried)");
      rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      purged = true;
    }
  }
}

WriteResult Kafka2Output::write(const ChunkView& chunk) {
  const size_t n = chunk.events();
  if (n == 0) return WriteResult::ok();
  WriteState st;
  st.slots.resize(n);
  if (cfg_.default_topic) st.default_topic = *cfg_.default_topic;
  for (Slot& s : st.slots) {
    s.state = &st;
    s.murmur2 = murmur2_;
  }
  rd_kafka_t* rk = nullptr;
  bool fatal = false;
  {
    std::shared_lock lock(producer_mu_);
    rk = producer_;
    if (rk == nullptr) return WriteResult::retry("the Kafka producer is not running");
    produceAndWait(st, chunk, rk, /*fallback_round=*/false);
    if (cfg_.use_default_for_unknown_topic) {
      bool again = false;
      for (Slot& s : st.slots) {
        if (s.outcome == Slot::Outcome::Sent && unknownTopic(s.err)) {
          s.outcome = Slot::Outcome::None;  // sent again, to default_topic
          again = true;
        }
      }
      if (again) produceAndWait(st, chunk, rk, /*fallback_round=*/true);
    }
    fatal = fatal_.load() || rd_kafka_fatal_error(rk, nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  if (fatal) resetAfterFatalError(rk);

  WriteResult r;
  size_t delivered = 0;
  std::string first_error;
  for (size_t i = 0; i < n; ++i) {
    Slot& s = st.slots[i];
    if (s.outcome == Slot::Outcome::Failed) {
      r.failed_events.emplace_back(i, std::move(s.reason));
      continue;
    }
    if (s.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++delivered;
      continue;
    }
    if (first_error.empty()) first_error = rd_kafka_err2str(s.err);
    if (permanent(s.err) || cfg_.discard_kafka_delivery_failed) {
      r.failed_events.emplace_back(i, std::string("Kafka refused the message: ") + rd_kafka_err2str(s.err));
    } else {
      r.retry_events.push_back(i);
    }
  }
  messages_->add(delivered);
  delivery_errors_->add(n - delivered);
  if (delivered == n) return WriteResult::ok();
  if (r.failed_events.empty() && r.retry_events.size() == n) {
    return WriteResult::retry(std::to_string(n) + " messages not delivered: " + first_error);
  }
  r.kind = WriteResult::Kind::Partial;
  r.reason = std::to_string(n - delivered) + " of " + std::to_string(n) + " messages not delivered" +
             (first_error.empty() ? std::string() : ": " + first_error);
  return r;
}

}  // namespace sluice::plugins::out_kafka2
