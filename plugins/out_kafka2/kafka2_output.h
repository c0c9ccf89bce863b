// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/field_path.h"
#include "core/plugin_api.h"

namespace sluice::plugins::out_kafka2 {

// The enums of the table (fluent-plugin-kafka's spellings), bound at config time (enumMember).
enum class PartitionerHash { Crc32, Murmur2 };
inline constexpr Choice<PartitionerHash> kPartitionerHashes[] = {{"crc32", PartitionerHash::Crc32},
                                                                 {"murmur2", PartitionerHash::Murmur2}};
// Spelt as librdkafka's compression.codec values.
enum class CompressionCodec { None, Gzip, Snappy, Lz4, Zstd };
inline constexpr Choice<CompressionCodec> kCompressionCodecs[] = {
    {"none", CompressionCodec::None}, {"gzip", CompressionCodec::Gzip}, {"snappy", CompressionCodec::Snappy},
    {"lz4", CompressionCodec::Lz4}, {"zstd", CompressionCodec::Zstd}};
// None: SASL PLAIN (scram_mechanism unset).
enum class ScramMechanism { None, Sha256, Sha512 };
inline constexpr Choice<ScramMechanism> kScramMechanisms[] = {{"sha256", ScramMechanism::Sha256},
                                                              {"sha512", ScramMechanism::Sha512}};

struct Kafka2Config {
  StringList brokers;
  std::optional<std::string> topic;
  std::string topic_key;
  std::optional<std::string> default_topic;
  bool use_default_for_unknown_topic = false;
  std::string message_key_key;
  std::optional<std::string> default_message_key;
  std::string partition_key_key;
  std::optional<std::string> default_partition_key;
  std::string partition_key;
  int64_t default_partition = -1;
  bool exclude_topic_key = false;
  bool exclude_partition_key = false;
  bool exclude_partition = false;
  bool exclude_message_key = false;
  StringList exclude_fields;
  std::optional<std::string> record_key;
  bool use_event_time = false;
  StringMap headers;
  StringMap headers_from_record;
  PartitionerHash partitioner_hash_function = PartitionerHash::Crc32;
  std::string client_id;
  bool idempotent = true;
  int64_t max_send_retries = 2;
  int64_t required_acks = -1;
  Duration ack_timeout;  // 0: librdkafka's default
  CompressionCodec compression_codec = CompressionCodec::None;
  ByteSize max_send_limit_bytes;  // 0: no limit
  bool discard_kafka_delivery_failed = false;
  Duration delivery_timeout;
  Duration connect_timeout;
  Duration socket_timeout;
  bool get_kafka_client_log = false;
  std::optional<std::string> ssl_ca_cert;
  std::optional<std::string> ssl_client_cert;
  std::optional<std::string> ssl_client_cert_key;
  std::optional<std::string> ssl_client_cert_key_password;
  bool ssl_verify_hostname = true;
  std::optional<std::string> username;
  std::optional<std::string> password;
  ScramMechanism scram_mechanism = ScramMechanism::None;
  bool sasl_over_ssl = true;
  StringMap rdkafka_options;
};

// The librdkafka configuration (name, value) a Kafka2Config asks for, without creating a
// producer; the checks that need no broker are made here. Exposed for tests.
Result<std::vector<std::pair<std::string, std::string>>> producerSettings(const Kafka2Config& config);

// Sends events to Kafka with librdkafka's idempotent producer (fluent-plugin-kafka's
// out_kafka2 parameters). format() decides each event's topic, partition, key, headers and
// value (see kafka_line.h); write() produces a chunk's messages, waits for every delivery
// report and answers Ok, or Partial with only the messages that failed (the buffer keeps those
// in a chunk of their own, on disk with a file buffer, and retries them alone).
// Threading: format() on input threads (one batch at a time per thread, no shared mutable
// state); write() on flush threads, concurrently: the producer is thread-safe and each write
// waits for its own messages' delivery reports, whichever thread's poll serves them. The
// producer is replaced (under producer_mu_, exclusively) after a fatal error.
class Kafka2Output final : public Output {
 public:
  static Result<std::unique_ptr<Kafka2Output>> create(const Kafka2Config& config, PluginContext& ctx);
  ~Kafka2Output() override;

  // sluice::Plugin
  Status start() override;
  void stop() override;
  // sluice::Output
  void format(const Batch& batch, FormattedEvents& out) override;
  WriteResult write(const ChunkView& chunk) override;

  // For tests: the producer in use (to inject a fatal error), how often it was replaced.
  rd_kafka_t* producerForTest() { return producer_; }
  int producerResetsForTest() const { return resets_.load(); }

 private:
  Kafka2Output(const Kafka2Config& config, PluginContext& ctx, FormatterPtr formatter);
  struct WriteState;
  struct Slot;

  void formatOne(const Event& event, std::string_view topic, Arena& scratch, std::string& value, std::string& out);
  Status createProducer();
  void destroyProducer();
  // Produces the messages of `chunk` whose slots in `state` have no outcome yet (the fallback
  // round: to default_topic) and waits for their delivery reports.
  // REQUIRES: producer_mu_ held shared, `rk` the producer.
  void produceAndWait(WriteState& state, const ChunkView& chunk, rd_kafka_t* rk, bool fallback_round);
  void resetAfterFatalError(rd_kafka_t* seen);

  static void onDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  static void onError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void onLog(const rd_kafka_t* rk, int level, const char* facility, const char* message);
  static int32_t partitioner(const rd_kafka_topic_t* rkt, const void* key, size_t keylen, int32_t partitions,
                             void* rkt_opaque, void* msg_opaque);

  const Kafka2Config cfg_;
  const SourceLogger log_;
  const FormatterPtr formatter_;
  std::vector<std::pair<std::string, std::string>> settings_;  // librdkafka properties
  bool value_is_json_ = true;      // the <format> writes JSON: embedded raw, newline cut
  bool topic_from_record_ = true;  // the buffer's chunk keys let topic_key choose the topic
  bool murmur2_ = false;
  std::optional<FieldPath> record_key_;
  std::vector<FieldPath> exclude_fields_;
  bool exclude_nested_ = false;  // some exclude_fields path is below the top level
  std::vector<std::pair<std::string, FieldPath>> header_paths_;

  std::shared_mutex producer_mu_;  // shared: writes; exclusive: replacing the producer
  rd_kafka_t* producer_ = nullptr;  // guarded by producer_mu_
  std::atomic<bool> fatal_{false};
  std::atomic<int> resets_{0};

  Counter* messages_;
  Counter* delivery_errors_;
  Counter* fallbacks_;
  Counter* resets_counter_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_kafka2
