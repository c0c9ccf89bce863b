// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_elasticsearch_genid/genid_filter.h"

// OpenSSL's digests on stack contexts (SHA256_Init/Update/Final, ...) are deprecated in 3.0 in
// favour of EVP, but EVP_DigestInit_ex allocates twice per digest there and the one-shot
// SHA256() three times (measured by the no-allocation test over 200 records); these allocate
// nothing.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <charconv>

namespace sluice::plugins::filter_elasticsearch_genid {
namespace {

using C = GenidConfig;

const std::array<Param<C>, 8> kParams = {{
    {"hash_id_key", &C::hash_id_key, "_hash", "Record field the id is written to (give the same name to the elasticsearch output's id_key, and list it in its remove_keys)."},
    {"use_record_as_seed", &C::use_record_as_seed, "false", "Derive the id from the record (a digest of record_keys, or of the whole record with use_entire_record) instead of a random UUID, so a record sent twice gets the same id."},
    {"use_entire_record", &C::use_entire_record, "false", "With use_record_as_seed: the seed is \"|key|value\" for every member of the record (nested values as JSON)."},
    {"record_keys", &C::record_keys, "[]", "With use_record_as_seed: the fields whose values, joined by separator, are the seed (required unless use_entire_record)."},
    {"separator", &C::separator, "_", "Between the seed's parts."},
    {"hash_type", enumMember<&C::hash_type, kHashTypes>(), "sha1", "Digest of the seed (base64 of its bytes)."},
    {"include_tag_in_seed", &C::include_tag_in_seed, "false", "Start the seed with the tag and separator."},
    {"include_time_in_seed", &C::include_time_in_seed, "false", "Add the event time (whole seconds) and separator to the seed, after the tag."},
}};

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Strict base64 (padded), as Ruby's Base64.strict_encode64, appended to `out`.
void appendBase64(std::string& out, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b0 = p[i], b1 = i + 1 < n ? p[i + 1] : 0, b2 = i + 2 < n ? p[i + 2] : 0;
    const uint32_t v = (b0 << 16) | (b1 << 8) | b2;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < n ? kBase64[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kBase64[v & 63] : '=';
  }
}

// A value as Ruby's to_s writes it for the scalars records hold (nil: "", strings as they
// are, integers and booleans alike); arrays and hashes as JSON (Ruby would write inspect).
void appendText(std::string& out, const Value& v) {
  if (v.isNull()) return;
  if (v.isString()) {
    out += v.asString();
  } else if (v.isInt()) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof(buf), v.asInt());
    out.append(buf, r.ptr);
  } else {
    appendJson(out, v);
  }
}

}  // namespace

Result<std::unique_ptr<GenidFilter>> GenidFilter::create(const GenidConfig& config, PluginContext& ctx) {
  (void)ctx;
  if (config.use_record_as_seed && !config.use_entire_record && config.record_keys.empty()) {
    return Status::invalidConfig("use_record_as_seed needs record_keys (or use_entire_record true)");
  }
  if (config.hash_id_key.empty()) return Status::invalidConfig("hash_id_key: empty");
  std::unique_ptr<GenidFilter> f(new GenidFilter(config));
  if (config.use_record_as_seed) {
    const HashType t = config.hash_type;
    f->hash_ = t == HashType::Md5      ? Hash::Md5
               : t == HashType::Sha256 ? Hash::Sha256
               : t == HashType::Sha512 ? Hash::Sha512
                                       : Hash::Sha1;
  }
  return f;
}

void GenidFilter::process(Batch& batch) {
  if (batch.events().empty()) return;
  Arena& arena = batch.arena();
  std::string seed;  // reused for every record of the batch
  unsigned char digest[SHA512_DIGEST_LENGTH];
  for (Event& e : batch.events()) {
    if (!e.record.isObject()) continue;
    seed.clear();
    if (hash_ == Hash::Random) {
      // Ruby's SecureRandom.uuid: 16 random bytes as a version 4 UUID, then its text in base64.
      unsigned char b[16];
      if (RAND_bytes(b, sizeof(b)) != 1) {
        batch.emitError(e, "elasticsearch_genid: the random generator failed");
        continue;
      }
      b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
      b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
      char text[36];
      static constexpr char kHex[] = "0123456789abcdef";
      for (int i = 0, o = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) text[o++] = '-';
        text[o++] = kHex[b[i] >> 4];
        text[o++] = kHex[b[i] & 15];
      }
      appendBase64(seed, reinterpret_cast<const unsigned char*>(text), sizeof(text));
    } else {
      if (cfg_.include_tag_in_seed) {
        seed += e.tag;
        seed += cfg_.separator;
      }
      if (cfg_.include_time_in_seed) {
        // Fluent::EventTime#to_s: the whole seconds.
        const int64_t s = e.time_ns >= 0 ? e.time_ns / kNanosPerSecond : (e.time_ns - kNanosPerSecond + 1) / kNanosPerSecond;
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof(buf), s);
        seed.append(buf, r.ptr);
        seed += cfg_.separator;
      }
      if (cfg_.use_entire_record) {
        for (const Member& m : e.record.members()) {
          seed += '|';
          seed += m.key;
          seed += '|';
          appendText(seed, m.value);
        }
      } else {
        for (size_t k = 0; k < cfg_.record_keys.size(); ++k) {
          if (k > 0) seed += cfg_.separator;
          if (const Value* v = e.record.find(cfg_.record_keys[k])) appendText(seed, *v);
        }
      }
      const auto* in = reinterpret_cast<const unsigned char*>(seed.data());
      size_t len = 0;
      switch (hash_) {
        case Hash::Md5: {
          MD5_CTX c;
          MD5_Init(&c);
          MD5_Update(&c, in, seed.size());
          MD5_Final(digest, &c);
          len = MD5_DIGEST_LENGTH;
          break;
        }
        case Hash::Sha1: {
          SHA_CTX c;
          SHA1_Init(&c);
          SHA1_Update(&c, in, seed.size());
          SHA1_Final(digest, &c);
          len = SHA_DIGEST_LENGTH;
          break;
        }
        case Hash::Sha256: {
          SHA256_CTX c;
          SHA256_Init(&c);
          SHA256_Update(&c, in, seed.size());
          SHA256_Final(digest, &c);
          len = SHA256_DIGEST_LENGTH;
          break;
        }
        default: {
          SHA512_CTX c;
          SHA512_Init(&c);
          SHA512_Update(&c, in, seed.size());
          SHA512_Final(digest, &c);
          len = SHA512_DIGEST_LENGTH;
          break;
        }
      }
      seed.clear();
      appendBase64(seed, digest, len);
    }
    e.record.setMember(cfg_.hash_id_key, Value::string(arena.copy(seed)), arena);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<GenidFilter>(
      PluginKind::Filter, "elasticsearch_genid",
      "Adds an id to each record (a random UUID, or a digest of the record) for the elasticsearch output's id_key "
      "(fluent-plugin-elasticsearch's hash id).",
      kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_elasticsearch_genid
