// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_forward/forward_decode.h"

namespace sluice::plugins::in_forward {
namespace {

using forward_common::bytesOf;
using forward_common::timeOf;

// Strings, binaries and ext values are not copied: they point into the stream's buffer (or the
// decompressed entries), which live until the next message.
bool referenceAll(msgpack::type::object_type, std::size_t, void*) { return true; }

msgpack::unpack_limit limitsFor(size_t bytes) {
  // A count can never exceed the bytes that carry it; nesting is bounded like records are.
  const size_t n = std::max<size_t>(bytes, 16);
  return msgpack::unpack_limit(n, n, n, n, n, forward_common::kMaxDepth + 8);
}

}  // namespace

StreamDecoder::StreamDecoder(const DecodeOptions& options)
    : options_(options), unpacker_(&referenceAll, nullptr, 64 * 1024, limitsFor(options.chunk_size_limit)) {}

char* StreamDecoder::reserve(size_t n) {
  unpacker_.reserve_buffer(n);
  return unpacker_.buffer();
}

void StreamDecoder::consumed(size_t n) { unpacker_.buffer_consumed(n); }

size_t StreamDecoder::pendingBytes() const { return unpacker_.nonparsed_size(); }

StreamDecoder::Next StreamDecoder::next() {
  zone_.clear();
  decompressed_.clear();
  try {
    if (unpacker_.next(handle_)) return Next::Message;
  } catch (const msgpack::depth_size_overflow&) {
    error_ = "invalid msgpack: nested deeper than " + std::to_string(forward_common::kMaxDepth + 8) + " levels";
    return Next::Error;
  } catch (const msgpack::size_overflow&) {
    // An array, map, string or binary announced as longer than any message may be.
    error_ = "message larger than chunk_size_limit (" + std::to_string(options_.chunk_size_limit) + " bytes)";
    return Next::Error;
  } catch (const std::exception& e) {
    error_ = std::string("invalid msgpack: ") + e.what();
    return Next::Error;
  }
  if (unpacker_.nonparsed_size() > options_.chunk_size_limit) {
    error_ = "message larger than chunk_size_limit (" + std::to_string(options_.chunk_size_limit) + " bytes)";
    return Next::Error;
  }
  return Next::NeedMore;
}

bool StreamDecoder::addEvent(std::string_view tag, const msgpack::object& time, const msgpack::object& record,
                             Batch& batch, MessageInfo& info) {
  std::optional<int64_t> t = timeOf(time);
  const char* why = nullptr;
  if (!t || time.type == msgpack::type::FLOAT32 || time.type == msgpack::type::FLOAT64) {
    why = "time is not an integer or EventTime";  // Fluentd: Integer or EventTime only
  } else if (record.type != msgpack::type::MAP) {
    why = "record is not a map";
  }
  Value value;
  const size_t extra = (options_.source_address_key.empty() ? 0 : 1) + (options_.source_hostname_key.empty() ? 0 : 1);
  if (why == nullptr) {
    const uint32_t n = record.via.map.size;
    Arena& arena = batch.arena();
    Member* members = arena.allocArray<Member>(n + extra);
    uint32_t used = 0;
    for (uint32_t i = 0; i < n && why == nullptr; ++i) {
      auto key = bytesOf(record.via.map.ptr[i].key);
      if (!key) {
        why = "a record key is not a string";
        break;
      }
      new (&members[used]) Member{*key, Value()};
      if (!forward_common::toValue(record.via.map.ptr[i].val, arena, members[used].value, 1)) {
        why = "a record nests deeper than 128 levels";
        break;
      }
      ++used;
    }
    if (why == nullptr) {
      if (!options_.source_address_key.empty()) {
        new (&members[used++]) Member{options_.source_address_key, Value::string(options_.source_address)};
      }
      if (!options_.source_hostname_key.empty()) {
        new (&members[used++]) Member{options_.source_hostname_key, Value::string(options_.source_hostname)};
      }
      value = Value::object(members, used);
    }
  }
  if (why != nullptr) {
    if (info.invalid++ == 0) info.first_invalid = why;
    return options_.skip_invalid_event;
  }
  // Fluentd: a time of 0 means "now".
  batch.add(tag, *t == 0 ? nowNs() : *t, value);
  ++info.events;
  return true;
}

Status StreamDecoder::decodeEntries(std::string_view tag, std::string_view packed, Batch& batch, MessageInfo& info) {
  size_t off = 0;
  const msgpack::unpack_limit limit = limitsFor(packed.size());
  while (off < packed.size()) {
    msgpack::object entry;
    bool referenced = false;
    msgpack::parse_return rc;
    try {
      rc = msgpack::v2::detail::unpack_imp(packed.data(), packed.size(), off, zone_, entry, referenced, &referenceAll,
                                           nullptr, limit);
    } catch (const std::exception& e) {
      return Status::corruption(std::string("invalid msgpack in entries: ") + e.what());
    }
    if (rc != msgpack::PARSE_SUCCESS && rc != msgpack::PARSE_EXTRA_BYTES) {
      return Status::corruption(rc == msgpack::PARSE_CONTINUE ? "entries end inside an entry" : "invalid msgpack in entries");
    }
    if (entry.type != msgpack::type::ARRAY || entry.via.array.size != 2) {
      if (info.invalid++ == 0) info.first_invalid = "an entry is not [time, record]";
      if (!options_.skip_invalid_event) return Status::rejected("an entry is not [time, record]");
      continue;
    }
    if (!addEvent(tag, entry.via.array.ptr[0], entry.via.array.ptr[1], batch, info)) {
      return Status::rejected("invalid event: " + info.first_invalid);
    }
  }
  return Status::ok();
}

Status StreamDecoder::decode(Batch& batch, MessageInfo& info) {
  info = MessageInfo{};
  const size_t before = batch.size();
  auto refuse = [&](Status s) {
    batch.events().resize(before);
    info.events = 0;
    return s;
  };
  const msgpack::object& m = handle_.get();
  if (m.type != msgpack::type::ARRAY || m.via.array.size < 2 || m.via.array.size > 4) {
    return Status::corruption("a message is not an array of 2 to 4 items");
  }
  const msgpack::object* items = m.via.array.ptr;
  auto raw_tag = bytesOf(items[0]);
  if (!raw_tag || items[0].type != msgpack::type::STR) return Status::corruption("a message's tag is not a string");
  std::string_view tag = *raw_tag;
  if (!options_.tag.empty()) {
    tag = options_.tag;
  } else if (!options_.add_tag_prefix.empty()) {
    tag_scratch_.assign(options_.add_tag_prefix).append(".").append(*raw_tag);
    tag = batch.arena().copy(tag_scratch_);
  }
  const msgpack::object& second = items[1];
  // The option map: the last item of Forward/PackedForward ([tag, entries, option]) or of
  // Message mode ([tag, time, record, option]).
  const msgpack::object* option = nullptr;
  const bool message_mode = second.type != msgpack::type::ARRAY && second.type != msgpack::type::STR &&
                            second.type != msgpack::type::BIN;
  if (message_mode) {
    if (m.via.array.size < 3) return Status::corruption("a Message-mode message has no record");
    if (m.via.array.size == 4) option = &items[3];
  } else if (m.via.array.size >= 3) {
    if (m.via.array.size == 4) return Status::corruption("a Forward-mode message has 4 items");
    option = &items[2];
  }
  std::string_view compressed;
  if (option != nullptr && option->type != msgpack::type::NIL) {
    if (option->type != msgpack::type::MAP) return Status::corruption("a message's option is not a map");
    for (uint32_t i = 0; i < option->via.map.size; ++i) {
      auto key = bytesOf(option->via.map.ptr[i].key);
      if (!key) continue;
      if (*key == "chunk") info.chunk_id = bytesOf(option->via.map.ptr[i].val).value_or("");
      if (*key == "compressed") compressed = bytesOf(option->via.map.ptr[i].val).value_or("");
    }
  }
  Status s;
  if (message_mode) {
    if (!addEvent(tag, second, items[2], batch, info)) s = Status::rejected("invalid event: " + info.first_invalid);
  } else if (second.type == msgpack::type::ARRAY) {
    for (uint32_t i = 0; i < second.via.array.size && s; ++i) {
      const msgpack::object& e = second.via.array.ptr[i];
      if (e.type != msgpack::type::ARRAY || e.via.array.size != 2) {
        if (info.invalid++ == 0) info.first_invalid = "an entry is not [time, record]";
        if (!options_.skip_invalid_event) s = Status::rejected("an entry is not [time, record]");
        continue;
      }
      if (!addEvent(tag, e.via.array.ptr[0], e.via.array.ptr[1], batch, info)) {
        s = Status::rejected("invalid event: " + info.first_invalid);
      }
    }
  } else {
    std::string_view packed = *bytesOf(second);
    if (compressed == "gzip") {
      auto raw = forward_common::gunzipMembers(packed, options_.decompressed_limit);
      if (!raw) return refuse(raw.takeStatus());
      decompressed_ = std::move(*raw);
      packed = decompressed_;
    } else if (!compressed.empty() && compressed != "text") {
      return refuse(Status::corruption("unknown compression '" + std::string(compressed) + "'"));
    }
    s = decodeEntries(tag, packed, batch, info);
  }
  if (!s) return refuse(s);
  return Status::ok();
}

}  // namespace sluice::plugins::in_forward
