// SPDX-License-Identifier: Apache-2.0
// The kafka2 output's configuration, create() and format(); the producer and write() are in
// kafka2_write.cc.
#include "plugins/out_kafka2/kafka2_output.h"

#include <charconv>
#include <limits>

#include "plugins/out_kafka2/kafka_line.h"

namespace sluice::plugins::out_kafka2 {
namespace {

using C = Kafka2Config;

const std::array<Param<C>, 52> kParams = {{
    {"brokers", &C::brokers, "localhost:9092", "Seed brokers, host:port, comma separated (librdkafka's bootstrap.servers)."},
    {"topic", &C::topic, nullptr, "The topic of every event; ${tag} and ${tag[N]} are expanded per event. Overrides topic_key and default_topic."},
    {"topic_key", &C::topic_key, "topic", "Record field naming the event's topic (read when the <buffer> chunk keys include it, or name none: Fluentd's default chunk key is topic)."},
    {"default_topic", &C::default_topic, nullptr, "Topic of events without a topic_key field; when unset, the tag."},
    {"use_default_for_unknown_topic", &C::use_default_for_unknown_topic, "false", "Send to default_topic the events whose topic the cluster does not know (or whose name Kafka does not allow)."},
    {"message_key_key", &C::message_key_key, "message_key", "Record field holding the message key."},
    {"default_message_key", &C::default_message_key, nullptr, "Message key of events without a message_key_key field."},
    {"partition_key_key", &C::partition_key_key, "partition_key", "Record field holding the partition key: hashed (partitioner_hash_function) to choose the partition. Without one, the message key is hashed; without either, the partition is random."},
    {"default_partition_key", &C::default_partition_key, nullptr, "Partition key of events without a partition_key_key field."},
    {"partition_key", &C::partition_key, "partition", "Record field holding an explicit partition number (it wins over partition keys)."},
    {"default_partition", &C::default_partition, nullptr, "Partition of events without a partition_key field."},
    {"exclude_topic_key", &C::exclude_topic_key, "false", "Leave the topic_key field out of the message."},
    {"exclude_partition_key", &C::exclude_partition_key, "false", "Leave the partition_key_key field out of the message."},
    {"exclude_partition", &C::exclude_partition, "false", "Leave the partition_key field out of the message."},
    {"exclude_message_key", &C::exclude_message_key, "false", "Leave the message_key_key field out of the message."},
    {"exclude_fields", &C::exclude_fields, nullptr, "Fields left out of the message: record_accessor paths ($.a.b), comma separated. Applied after headers_from_record reads the record."},
    {"record_key", &C::record_key, nullptr, "Send only this field ($.data) as the message; an event without it goes to <secondary> or the dead letters."},
    {"use_event_time", &C::use_event_time, "false", "Give each message the event's time as its Kafka timestamp (CreateTime); otherwise the time of sending."},
    {"headers", &C::headers, nullptr, "Headers added to every message: name:value,name2:value2."},
    {"headers_from_record", &C::headers_from_record, nullptr, "Headers taken from the record: name:$.path,... (a missing field gives a header with a null value)."},
    {"partitioner_hash_function", enumMember<&C::partitioner_hash_function, kPartitionerHashes>(), "crc32", "Hash of partition and message keys: crc32 (ruby-kafka's and fluent-plugin-kafka's default) or murmur2 (the Java client's)."},
    {"client_id", &C::client_id, "fluentd", "The client.id the brokers see (quotas, logs)."},
    {"idempotent", &C::idempotent, "true", "librdkafka's idempotent producer: its retries never duplicate or reorder a message within one producer session. Needs required_acks -1 and max_send_retries > 0. (fluent-plugin-kafka's default is false.)"},
    {"max_send_retries", &C::max_send_retries, "2", "Times librdkafka resends a failed produce request before the message's delivery fails (the chunk is then retried by the buffer)."},
    {"required_acks", &C::required_acks, "-1", "Acknowledgements the partition leader waits for: -1 (all in-sync replicas), 0 or 1 (with idempotent false only)."},
    {"ack_timeout", &C::ack_timeout, nullptr, "How long a broker may take to acknowledge a produce request (request.timeout.ms); librdkafka's default 30s."},
    {"compression_codec", enumMember<&C::compression_codec, kCompressionCodecs>(), "none", "Compression of message batches."},
    {"max_send_limit_bytes", &C::max_send_limit_bytes, nullptr, "Messages larger than this go to <secondary> or the dead letters instead of Kafka (Fluentd drops them)."},
    {"discard_kafka_delivery_failed", &C::discard_kafka_delivery_failed, "false", "Messages whose delivery failed after librdkafka's retries go to <secondary> or the dead letters instead of being retried (Fluentd drops them)."},
    {"delivery_timeout", &C::delivery_timeout, "60s", "Longest time a message may wait for its delivery, retries included (librdkafka's message.timeout.ms); then it is retried by the buffer. sluice's own."},
    {"connect_timeout", &C::connect_timeout, nullptr, "Timeout of a connection to a broker (socket.connection.setup.timeout.ms)."},
    {"socket_timeout", &C::socket_timeout, nullptr, "Timeout of network requests (socket.timeout.ms)."},
    {"get_kafka_client_log", &C::get_kafka_client_log, "false", "Log librdkafka's own log lines (connections, retries). Its errors are always logged, as warnings, and every failed delivery is counted."},
    {"ssl_ca_cert", &C::ssl_ca_cert, nullptr, "CA certificates (PEM file) to verify the brokers with; setting any ssl_ option connects with TLS."},
    {"ssl_client_cert", &C::ssl_client_cert, nullptr, "Client certificate (PEM file) for mutual TLS."},
    {"ssl_client_cert_key", &C::ssl_client_cert_key, nullptr, "Client key (PEM file) for mutual TLS.", {}, kSecret},
    {"ssl_client_cert_key_password", &C::ssl_client_cert_key_password, nullptr, "Password of ssl_client_cert_key.", {}, kSecret},
    {"ssl_verify_hostname", &C::ssl_verify_hostname, "true", "Check that a broker's certificate names the broker."},
    {"username", &C::username, nullptr, "SASL user name (PLAIN, or SCRAM with scram_mechanism)."},
    {"password", &C::password, nullptr, "SASL password.", {}, kSecret},
    {"scram_mechanism", enumMember<&C::scram_mechanism, kScramMechanisms>(), nullptr, "SASL SCRAM (SCRAM-SHA-256 or SCRAM-SHA-512) instead of PLAIN."},
    {"sasl_over_ssl", &C::sasl_over_ssl, "true", "SASL over TLS (false: over plaintext)."},
    {"rdkafka_options", &C::rdkafka_options, nullptr, "More librdkafka producer properties, as a hash: {\"linger.ms\":\"20\"}. Applied last; an unknown property is a configuration error."},
    {"share_producer", {}, nullptr, "Accepted for Fluentd compatibility: sluice always shares one producer among its flush threads.", {}, kIgnored},
    {"ignore_exceptions", {}, nullptr, "Accepted for Fluentd compatibility: failures are retried, or sent to <secondary> when they cannot succeed.", {}, kIgnored},
    {"exception_backup", {}, nullptr, "Accepted for Fluentd compatibility (see ignore_exceptions).", {}, kIgnored},
    {"kafka_agg_max_bytes", {}, nullptr, "Accepted for Fluentd compatibility: librdkafka batches by itself (rdkafka_options batch.size).", {}, kIgnored},
    {"kafka_agg_max_messages", {}, nullptr, "Accepted for Fluentd compatibility: librdkafka batches by itself (rdkafka_options batch.num.messages).", {}, kIgnored},
    {"active_support_notification_regex", {}, nullptr, "Accepted for Fluentd compatibility; sluice's metrics cover delivery.", {}, kIgnored},
    {"monitoring_list", {}, nullptr, "Accepted for Fluentd compatibility; sluice's metrics cover delivery.", {}, kIgnored},
    {"sasl_plain_username", {}, nullptr, "Accepted for Fluentd compatibility; use username.", {}, kIgnored},
    {"output_data_type", {}, nullptr, "Accepted for Fluentd compatibility (kafka_buffered); use <format>.", {}, kIgnored},
}};

// Appends the text of a record value: a string as it is, anything else as JSON.
void appendText(std::string& out, const Value& v) {
  if (v.isString()) {
    out.append(v.asString());
  } else {
    appendJson(out, v);
  }
}

// A non-negative int32 from an integer or a string of digits.
std::optional<int32_t> partitionNumber(const Value& v) {
  int64_t n = -1;
  if (v.isInt()) {
    n = v.asInt();
  } else if (v.isString()) {
    std::string_view s = v.asString();
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (n < 0 || n > std::numeric_limits<int32_t>::max()) return std::nullopt;
  return static_cast<int32_t>(n);
}

}  // namespace

Kafka2Output::Kafka2Output(const Kafka2Config& config, PluginContext& ctx, FormatterPtr formatter)
    : cfg_(config),
      log_(ctx.log()),
      formatter_(std::move(formatter)),
      messages_(&ctx.metrics().pluginCounter("messages_total", "Messages Kafka acknowledged.")),
      delivery_errors_(&ctx.metrics().pluginCounter(
          "delivery_errors_total", "Messages whose delivery failed (retried by the buffer, or sent to <secondary>).")),
      fallbacks_(&ctx.metrics().pluginCounter(
          "default_topic_fallbacks_total", "Messages sent to default_topic because their topic was unknown or not a valid name.")),
      resets_counter_(&ctx.metrics().pluginCounter(
          "producer_resets_total", "Producers replaced after a fatal error (a new idempotent producer session).")) {}

Result<std::unique_ptr<Kafka2Output>> Kafka2Output::create(const Kafka2Config& config, PluginContext& ctx) {
  auto settings = producerSettings(config);
  if (!settings) return settings.takeStatus();
  auto formatter = ctx.formatter({"json", false});
  if (!formatter) return formatter.takeStatus();
  std::unique_ptr<Kafka2Output> out(new Kafka2Output(config, ctx, std::move(*formatter)));
  out->settings_ = std::move(*settings);
  auto formats = ctx.element().children("format");
  if (!formats.empty()) {
    auto type = formats.front()->get("@type");
    out->value_is_json_ = !type || *type == "json";
  }
  // Fluentd reads the topic from the chunk's `topic` variable: the buffer's chunk keys must
  // name topic_key (they do by default).
  for (const config::Element* b : ctx.element().children("buffer")) {
    if (b->arg.empty()) continue;
    bool named = false;
    std::string_view keys = b->arg;
    while (!keys.empty()) {
      size_t comma = keys.find(',');
      std::string_view k = keys.substr(0, comma);
      while (!k.empty() && k.front() == ' ') k.remove_prefix(1);
      while (!k.empty() && k.back() == ' ') k.remove_suffix(1);
      if (k == config.topic_key || k == "$." + config.topic_key) named = true;
      keys = comma == std::string_view::npos ? std::string_view() : keys.substr(comma + 1);
    }
    out->topic_from_record_ = named;
  }
  out->murmur2_ = config.partitioner_hash_function == PartitionerHash::Murmur2;
  if (config.record_key) {
    auto path = FieldPath::parse(*config.record_key);
    if (!path) return Status::invalidConfig("record_key: " + path.status().message());
    out->record_key_ = std::move(*path);
  }
  for (const std::string& f : config.exclude_fields) {
    auto path = FieldPath::parse(f);
    if (!path) return Status::invalidConfig("exclude_fields: " + path.status().message());
    if (!path->isTopLevel()) out->exclude_nested_ = true;
    out->exclude_fields_.push_back(std::move(*path));
  }
  for (const auto& [name, path_text] : config.headers_from_record) {
    auto path = FieldPath::parse(path_text);
    if (!path) return Status::invalidConfig("headers_from_record: " + name + ": " + path.status().message());
    out->header_paths_.emplace_back(name, std::move(*path));
  }
  if (config.default_partition < -1 || config.default_partition > std::numeric_limits<int32_t>::max()) {
    return Status::invalidConfig("default_partition: " + std::to_string(config.default_partition) +
                                 " is not a partition number (0 or more)");
  }
  if (config.use_default_for_unknown_topic && !config.default_topic) {
    return Status::invalidConfig("use_default_for_unknown_topic needs default_topic");
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> producerSettings(const Kafka2Config& c) {
  std::vector<std::pair<std::string, std::string>> s;
  std::string bootstrap;
  for (const std::string& b : c.brokers) {
    std::string_view hp = b;
    while (!hp.empty() && hp.front() == ' ') hp.remove_prefix(1);
    while (!hp.empty() && hp.back() == ' ') hp.remove_suffix(1);
    if (hp.empty()) continue;
    std::string_view host = hp;
    size_t colon = hp.rfind(':');
    if (colon != std::string_view::npos && hp.find(']', colon) == std::string_view::npos) {
      std::string_view port = hp.substr(colon + 1);
      int64_t n = 0;
      auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
      if (ec != std::errc() || p != port.data() + port.size() || n <= 0 || n > 65535) {
        return Status::invalidConfig("brokers: bad port in '" + std::string(hp) + "' (host:port expected)");
      }
      host = hp.substr(0, colon);
    }
    if (host.empty() || host.find_first_of(" /@") != std::string_view::npos) {
      return Status::invalidConfig("brokers: bad host in '" + std::string(hp) + "' (host:port expected)");
    }
    if (!bootstrap.empty()) bootstrap += ',';
    bootstrap += hp;
  }
  if (bootstrap.empty()) return Status::invalidConfig("brokers: no broker given (host:port, comma separated)");
  s.emplace_back("bootstrap.servers", bootstrap);
  s.emplace_back("client.id", c.client_id);
  if (c.idempotent) {
    if (c.required_acks != -1) {
      return Status::invalidConfig("required_acks " + std::to_string(c.required_acks) +
                                   ": the idempotent producer needs -1 (all in-sync replicas); set idempotent false to use 0 or 1");
    }
    if (c.max_send_retries <= 0) {
      return Status::invalidConfig("max_send_retries " + std::to_string(c.max_send_retries) +
                                   ": the idempotent producer needs at least 1; set idempotent false to never resend");
    }
  }
  if (c.required_acks < -1 || c.required_acks > 1000) {
    return Status::invalidConfig("required_acks " + std::to_string(c.required_acks) + ": -1, 0, 1 or a number of replicas");
  }
  if (c.max_send_retries < 0 || c.max_send_retries > std::numeric_limits<int32_t>::max()) {
    return Status::invalidConfig("max_send_retries " + std::to_string(c.max_send_retries) + ": 0 or more");
  }
  s.emplace_back("enable.idempotence", c.idempotent ? "true" : "false");
  s.emplace_back("acks", std::to_string(c.required_acks));
  s.emplace_back("message.send.max.retries", std::to_string(c.max_send_retries));
  s.emplace_back("compression.codec", std::string(choiceName(kCompressionCodecs, c.compression_codec)));
  // librdkafka's sticky partitioning would place keyless messages itself, never asking the
  // partitioner that reads partition keys; the partitioner keeps a chunk's keyless messages
  // together instead.
  s.emplace_back("sticky.partitioning.linger.ms", "0");
  auto ms = [](const Duration& d) { return std::to_string(static_cast<int64_t>(d.seconds * 1000 + 0.5)); };
  if (c.delivery_timeout.seconds < 0.001) return Status::invalidConfig("delivery_timeout: must be at least 1ms");
  s.emplace_back("message.timeout.ms", ms(c.delivery_timeout));
  if (c.ack_timeout.seconds > 0) s.emplace_back("request.timeout.ms", ms(c.ack_timeout));
  if (c.connect_timeout.seconds > 0) s.emplace_back("socket.connection.setup.timeout.ms", ms(c.connect_timeout));
  if (c.socket_timeout.seconds > 0) s.emplace_back("socket.timeout.ms", ms(c.socket_timeout));
  const bool tls = c.ssl_ca_cert || c.ssl_client_cert || c.ssl_client_cert_key;
  if (c.ssl_client_cert.has_value() != c.ssl_client_cert_key.has_value()) {
    return Status::invalidConfig("ssl_client_cert and ssl_client_cert_key go together");
  }
  // Empty counts as unset: configs fill both from the environment, set or not.
  const bool has_user = c.username && !c.username->empty(), has_password = c.password && !c.password->empty();
  const bool sasl = has_user || has_password;
  if (sasl && !(has_user && has_password)) return Status::invalidConfig("username and password go together");
  if (sasl) {
    s.emplace_back("security.protocol", c.sasl_over_ssl || tls ? "sasl_ssl" : "sasl_plaintext");
    s.emplace_back("sasl.mechanisms", c.scram_mechanism == ScramMechanism::Sha256   ? "SCRAM-SHA-256"
                                      : c.scram_mechanism == ScramMechanism::Sha512 ? "SCRAM-SHA-512"
                                                                                    : "PLAIN");
    s.emplace_back("sasl.username", *c.username);
    s.emplace_back("sasl.password", *c.password);
  } else if (tls) {
    s.emplace_back("security.protocol", "ssl");
  }
  if (tls || (sasl && c.sasl_over_ssl)) {
    if (c.ssl_ca_cert) s.emplace_back("ssl.ca.location", *c.ssl_ca_cert);
    if (c.ssl_client_cert) s.emplace_back("ssl.certificate.location", *c.ssl_client_cert);
    if (c.ssl_client_cert_key) s.emplace_back("ssl.key.location", *c.ssl_client_cert_key);
    if (c.ssl_client_cert_key_password) s.emplace_back("ssl.key.password", *c.ssl_client_cert_key_password);
    s.emplace_back("ssl.endpoint.identification.algorithm", c.ssl_verify_hostname ? "https" : "none");
  }
  for (const auto& [k, v] : c.rdkafka_options) s.emplace_back(k, v);
  // Every property is checked now (an unknown name, a bad value), not at start.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : s) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::invalidConfig(std::string(c.rdkafka_options.empty() ? "" : "rdkafka_options: ") + k + ": " + err);
    }
  }
  rd_kafka_conf_destroy(conf);
  return s;
}

// ---- format -------------------------------------------------------------------------------

void Kafka2Output::format(const Batch& batch, FormattedEvents& out) {
  // Per batch: records without exclusions allocate nothing more once the strings are warm.
  Arena scratch(4096);
  std::string value;
  std::string topic;           // `topic` expanded for…
  std::string_view topic_tag;  // …this tag
  bool expanded = false;
  for (const Event& e : batch.events()) {
    if (cfg_.topic && (!expanded || topic_tag != e.tag)) {
      ChunkKey key;
      key.tag = std::string(e.tag);
      topic = expandPlaceholders(*cfg_.topic, key, true);
      topic_tag = e.tag;
      expanded = true;
    }
    formatOne(e, topic, scratch, value, out.bytes);
    out.endEvent();
    scratch.reset();
  }
}

void Kafka2Output::formatOne(const Event& event, std::string_view topic, Arena& scratch, std::string& value,
                             std::string& out) {
  const size_t start = out.size();
  const Value& rec = event.record;
  auto refuse = [&](std::string_view why) {
    out.resize(start);
    out += "{\"error\":";
    appendJsonString(out, why);
    out += ",\"value\":";
    appendJson(out, rec);
    out += "}\n";
  };

  // Partition first: a bad one refuses the event before anything is written.
  int32_t partition = static_cast<int32_t>(cfg_.default_partition);
  if (const Value* p = rec.find(cfg_.partition_key); p != nullptr && !p->isNull()) {
    auto n = partitionNumber(*p);
    if (!n) {
      refuse("the " + cfg_.partition_key + " field is not a partition number");
      return;
    }
    partition = *n;
  }

  out += "{\"topic\":";
  if (cfg_.topic) {
    appendJsonString(out, topic);
  } else {
    const Value* t = topic_from_record_ ? rec.find(cfg_.topic_key) : nullptr;
    if (t != nullptr && !t->isNull() && !(t->isString() && t->asString().empty())) {
      if (t->isString()) {
        appendJsonString(out, t->asString());
      } else {
        value.clear();
        appendJson(value, *t);
        appendJsonString(out, value);
      }
    } else if (cfg_.default_topic) {
      appendJsonString(out, *cfg_.default_topic);
    } else {
      appendJsonString(out, event.tag);
    }
  }
  if (partition >= 0) {
    out += ",\"partition\":";
    out += std::to_string(partition);
  }
  auto field = [&](std::string_view name, const std::string& key, const std::optional<std::string>& fallback) {
    const Value* v = rec.find(key);
    if (v != nullptr && !v->isNull()) {
      out += name;
      if (v->isString()) {
        appendJsonString(out, v->asString());
      } else {
        value.clear();
        appendJson(value, *v);
        appendJsonString(out, value);
      }
    } else if (fallback) {
      out += name;
      appendJsonString(out, *fallback);
    }
  };
  field(",\"key\":", cfg_.message_key_key, cfg_.default_message_key);
  field(",\"partition_key\":", cfg_.partition_key_key, cfg_.default_partition_key);
  if (cfg_.use_event_time) {
    out += ",\"timestamp\":";
    int64_t ms = event.time_ns / 1000000;
    out += std::to_string(ms > 0 ? ms : 0);
  }

  // The record as sent: Fluentd's order is the four key exclusions, headers_from_record,
  // exclude_fields, then record_key.
  Value work = rec;
  bool copied = false;
  auto drop = [&](bool flag, const std::string& key) {
    if (!flag || !work.isObject() || work.find(key) == nullptr) return;
    if (!copied) {
      work = work.shallowCopy(scratch);
      copied = true;
    }
    work.removeMember(key);
  };
  drop(cfg_.exclude_topic_key, cfg_.topic_key);
  drop(cfg_.exclude_partition_key, cfg_.partition_key_key);
  drop(cfg_.exclude_partition, cfg_.partition_key);
  drop(cfg_.exclude_message_key, cfg_.message_key_key);
  if (!header_paths_.empty()) {
    out += ",\"headers\":{";
    bool first = true;
    for (const auto& [name, path] : header_paths_) {
      if (!first) out += ',';
      first = false;
      appendJsonString(out, name);
      out += ':';
      const Value* v = path.find(work);
      if (v == nullptr || v->isNull()) {
        out += "null";
      } else if (v->isString()) {
        appendJsonString(out, v->asString());
      } else {
        value.clear();
        appendText(value, *v);
        appendJsonString(out, value);
      }
    }
    out += '}';
  }
  if (!exclude_fields_.empty() && work.isObject()) {
    work = exclude_nested_ ? work.copyStructure(scratch) : (copied ? work : work.shallowCopy(scratch));
    for (const FieldPath& f : exclude_fields_) f.remove(work);
  }
  const Value* target = &work;
  if (record_key_) {
    target = record_key_->find(work);
    if (target == nullptr) {
      refuse("record_key " + record_key_->text() + " is not in the record");
      return;
    }
    if (!value_is_json_ && !target->isObject()) {
      refuse("record_key " + record_key_->text() + " is not an object (the <format> needs one)");
      return;
    }
  }
  value.clear();
  formatter_->formatEvent(Event{event.tag, event.time_ns, *target, event.origin}, value);
  if (value_is_json_ && !value.empty() && value.back() == '\n') value.pop_back();
  if (cfg_.max_send_limit_bytes.bytes > 0 && value.size() > cfg_.max_send_limit_bytes.bytes) {
    refuse("the message (" + std::to_string(value.size()) + " bytes) exceeds max_send_limit_bytes");
    return;
  }
  if (value_is_json_) {
    out += ",\"value\":";
    out += value;
  } else {
    out += ",\"value_text\":";
    appendJsonString(out, value);
  }
  out += "}\n";
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = [] {
    PluginDescriptor d = makeDescriptor<Kafka2Output>(
        PluginKind::Output, "kafka2",
        "Sends events to Kafka (fluent-plugin-kafka's out_kafka2) with librdkafka's idempotent producer.", kParams,
        {formatSection("json", "How each message's value is written (default @type json, without a newline).")});
    d.aliases = {"kafka_buffered", "rdkafka2"};
    return d;
  }();
  return kDescriptor;
}

}  // namespace sluice::plugins::out_kafka2
