// SPDX-License-Identifier: Apache-2.0
#pragma once

// The Forward protocol's wire pieces (Fluentd's Forward Protocol Specification v1), shared by
// out_forward and in_forward: records to and from msgpack (through msgpack-cxx), EventTime
// (ext type 0: big-endian seconds and nanoseconds), the SHA-512 hex digests of the
// HELO/PING/PONG handshake, gzip members (CompressedPackedForward) and base64 chunk ids.
// Stateless functions; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#define MSGPACK_NO_BOOST 1
#include <msgpack.hpp>

#include "core/plugin_api.h"

namespace sluice::plugins::forward_common {

// msgpack-cxx's packer writing into a std::string.
struct StringSink {
  std::string* out;
  void write(const char* p, size_t n) { out->append(p, n); }
};
using Packer = msgpack::packer<StringSink>;

// A record (any Value) as msgpack. Numbers kept as text (beyond int64) are written as uint64
// when they fit, else as doubles.
void packValue(Packer& pk, const Value& value);
// Event time: EventTime ext (nanoseconds kept) or, with `as_integer`, whole seconds (Fluentd's
// time_as_integer, for receivers older than v0.14).
void packTime(Packer& pk, int64_t time_ns, bool as_integer);

// Limits of a decoded record: deeper nesting is refused (the event is invalid), not recursed.
inline constexpr int kMaxDepth = 128;

// A msgpack object as a Value: arrays and maps are built in `arena`, strings and binaries point
// where the object's own do (REQUIRES: the msgpack buffer or zone outlives the value). An
// EventTime inside a record becomes float seconds, another ext a string of its bytes. Returns
// false when nesting is deeper than kMaxDepth or a map key is not a str or bin.
bool toValue(const msgpack::object& o, Arena& arena, Value& out, int depth = 0);
// An event's time: an integer (seconds), a float (seconds) or EventTime. nullopt otherwise.
std::optional<int64_t> timeOf(const msgpack::object& o);
// A str or bin object's bytes; nullopt for other types.
std::optional<std::string_view> bytesOf(const msgpack::object& o);

// Lower-case hex SHA-512 of the concatenated parts (the handshake's digests).
std::string sha512Hex(std::initializer_list<std::string_view> parts);
// `n` random bytes from OpenSSL's generator.
std::string randomBytes(size_t n);
// RFC 4648 base64, padded.
std::string base64(std::string_view data);

// gzip of `data` as one member.
Result<std::string> gzip(std::string_view data);
// Every gzip member of `data` decompressed and concatenated (Fluentd's CompressedPackedForward
// may hold several); refuses output beyond `limit` bytes.
Result<std::string> gunzipMembers(std::string_view data, size_t limit);

}  // namespace sluice::plugins::forward_common
