// SPDX-License-Identifier: Apache-2.0
#include "plugins/forward_common/forward_wire.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zlib.h>

#include <charconv>
#include <cstring>

namespace sluice::plugins::forward_common {

void packValue(Packer& pk, const Value& v) {
  switch (v.kind()) {
    case Kind::Null: pk.pack_nil(); return;
    case Kind::Bool: v.asBool() ? pk.pack_true() : pk.pack_false(); return;
    case Kind::Int: pk.pack_int64(v.asInt()); return;
    case Kind::Double: pk.pack_double(v.asDouble()); return;
    case Kind::String: {
      std::string_view s = v.asString();
      if (v.isNumberText()) {
        uint64_t u = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), u);
        if (ec == std::errc() && end == s.data() + s.size()) {
          pk.pack_uint64(u);
        } else {
          pk.pack_double(std::strtod(std::string(s).c_str(), nullptr));  // rare: -0, 1e999
        }
        return;
      }
      pk.pack_str(static_cast<uint32_t>(s.size()));
      pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
      return;
    }
    case Kind::Array:
      pk.pack_array(v.size());
      for (const Value& item : v.items()) packValue(pk, item);
      return;
    case Kind::Object:
      pk.pack_map(v.size());
      for (const Member& m : v.members()) {
        pk.pack_str(static_cast<uint32_t>(m.key.size()));
        pk.pack_str_body(m.key.data(), static_cast<uint32_t>(m.key.size()));
        packValue(pk, m.value);
      }
      return;
  }
}

void packTime(Packer& pk, int64_t time_ns, bool as_integer) {
  int64_t sec = time_ns / 1'000'000'000;
  int64_t nsec = time_ns % 1'000'000'000;
  if (nsec < 0) {
    nsec += 1'000'000'000;
    --sec;
  }
  if (as_integer) {
    pk.pack_int64(sec);
    return;
  }
  // EventTime: ext type 0, fixext 8, seconds and nanoseconds as big-endian uint32.
  const uint32_t s = static_cast<uint32_t>(sec), n = static_cast<uint32_t>(nsec);
  const char body[8] = {static_cast<char>(s >> 24), static_cast<char>(s >> 16), static_cast<char>(s >> 8),
                        static_cast<char>(s), static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                        static_cast<char>(n >> 8), static_cast<char>(n)};
  pk.pack_ext(8, 0);
  pk.pack_ext_body(body, 8);
}

namespace {

std::optional<int64_t> eventTimeNs(const msgpack::object& o) {
  if (o.type != msgpack::type::EXT || o.via.ext.type() != 0 || o.via.ext.size != 8) return std::nullopt;
  const auto* b = reinterpret_cast<const unsigned char*>(o.via.ext.data());
  const uint32_t s = (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
  const uint32_t n = (uint32_t(b[4]) << 24) | (uint32_t(b[5]) << 16) | (uint32_t(b[6]) << 8) | b[7];
  return static_cast<int64_t>(s) * 1'000'000'000 + static_cast<int64_t>(n % 1'000'000'000u);
}

}  // namespace

std::optional<std::string_view> bytesOf(const msgpack::object& o) {
  if (o.type == msgpack::type::STR) return std::string_view(o.via.str.ptr, o.via.str.size);
  if (o.type == msgpack::type::BIN) return std::string_view(o.via.bin.ptr, o.via.bin.size);
  return std::nullopt;
}

std::optional<int64_t> timeOf(const msgpack::object& o) {
  constexpr int64_t kMaxSeconds = INT64_MAX / 1'000'000'000 - 1;
  switch (o.type) {
    case msgpack::type::POSITIVE_INTEGER:
      if (o.via.u64 > static_cast<uint64_t>(kMaxSeconds)) return std::nullopt;
      return static_cast<int64_t>(o.via.u64) * 1'000'000'000;
    case msgpack::type::NEGATIVE_INTEGER:
      if (o.via.i64 < -kMaxSeconds) return std::nullopt;
      return o.via.i64 * 1'000'000'000;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      if (!(o.via.f64 > -9.2e9 && o.via.f64 < 9.2e9)) return std::nullopt;  // NaN too
      return static_cast<int64_t>(o.via.f64 * 1e9);
    case msgpack::type::EXT: return eventTimeNs(o);
    default: return std::nullopt;
  }
}

bool toValue(const msgpack::object& o, Arena& arena, Value& out, int depth) {
  if (depth > kMaxDepth) return false;
  switch (o.type) {
    case msgpack::type::NIL: out = Value(); return true;
    case msgpack::type::BOOLEAN: out = Value::boolean(o.via.boolean); return true;
    case msgpack::type::POSITIVE_INTEGER:
      if (o.via.u64 > static_cast<uint64_t>(INT64_MAX)) {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof(buf), o.via.u64);
        out = Value::numberText(arena.copy(std::string_view(buf, static_cast<size_t>(r.ptr - buf))));
      } else {
        out = Value::integer(static_cast<int64_t>(o.via.u64));
      }
      return true;
    case msgpack::type::NEGATIVE_INTEGER: out = Value::integer(o.via.i64); return true;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: out = Value::real(o.via.f64); return true;
    case msgpack::type::STR:
    case msgpack::type::BIN: out = Value::string(*bytesOf(o)); return true;
    case msgpack::type::EXT:
      if (auto ns = eventTimeNs(o)) {
        out = Value::real(static_cast<double>(*ns) / 1e9);
      } else {
        out = Value::string(std::string_view(o.via.ext.data(), o.via.ext.size));
      }
      return true;
    case msgpack::type::ARRAY: {
      const uint32_t n = o.via.array.size;
      Value* items = arena.allocArray<Value>(n);
      for (uint32_t i = 0; i < n; ++i) {
        new (&items[i]) Value();
        if (!toValue(o.via.array.ptr[i], arena, items[i], depth + 1)) return false;
      }
      out = Value::array(items, n);
      return true;
    }
    case msgpack::type::MAP: {
      const uint32_t n = o.via.map.size;
      Member* members = arena.allocArray<Member>(n);
      for (uint32_t i = 0; i < n; ++i) {
        auto key = bytesOf(o.via.map.ptr[i].key);
        if (!key) return false;
        new (&members[i]) Member{*key, Value()};
        if (!toValue(o.via.map.ptr[i].val, arena, members[i].value, depth + 1)) return false;
      }
      out = Value::object(members, n);
      return true;
    }
  }
  return false;
}

std::string sha512Hex(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha512(), nullptr);
  for (std::string_view p : parts) EVP_DigestUpdate(ctx, p.data(), p.size());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 15];
  }
  return out;
}

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    // OpenSSL's generator failed (no entropy source): never hand out a predictable nonce.
    std::abort();
  }
  return out;
}

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::internal("deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::internal("gzip failed");
  return out;
}

Result<std::string> gunzipMembers(std::string_view data, size_t limit) {
  std::string out;
  size_t pos = 0;
  char buf[64 * 1024];
  while (pos < data.size()) {
    z_stream zs{};
    if (inflateInit2(&zs, 15 + 16) != Z_OK) return Status::internal("inflateInit2 failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + pos));
    zs.avail_in = static_cast<uInt>(data.size() - pos);
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof(buf);
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        inflateEnd(&zs);
        return Status::corruption(std::string("invalid gzip data: ") + (zs.msg ? zs.msg : "truncated"));
      }
      const size_t got = sizeof(buf) - zs.avail_out;
      if (out.size() + got > limit) {
        inflateEnd(&zs);
        return Status::rejected("gzip data decompresses beyond " + std::to_string(limit) + " bytes");
      }
      out.append(buf, got);
      if (rc == Z_OK && zs.avail_in == 0 && got == 0) {
        inflateEnd(&zs);
        return Status::corruption("invalid gzip data: truncated member");
      }
    }
    pos += zs.total_in;
    inflateEnd(&zs);
  }
  return out;
}

}  // namespace sluice::plugins::forward_common
