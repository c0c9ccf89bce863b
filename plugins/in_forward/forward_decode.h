// SPDX-License-Identifier: Apache-2.0
#pragma once

// in_forward's decoder: a byte stream of Forward protocol messages into batches, without
// sockets (the in_forward fuzz target drives it). One per connection; used by one thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/plugin_api.h"
#include "plugins/forward_common/forward_wire.h"

namespace sluice::plugins::in_forward {

struct DecodeOptions {
  std::string tag;             // replaces the message's tag when set
  std::string add_tag_prefix;  // "prefix." is put before the tag when set
  bool skip_invalid_event = true;
  size_t chunk_size_limit = 32 << 20;  // a message's bytes, at most
  size_t decompressed_limit = 128 << 20;
  // Keys added to each record (empty: not added) and their values, for this connection.
  std::string source_address_key, source_address;
  std::string source_hostname_key, source_hostname;
};

// What one message held, besides its events.
struct MessageInfo {
  std::string_view chunk_id;  // option "chunk": ack it once the events are accepted
  size_t events = 0;          // events appended to the batch
  size_t invalid = 0;         // events skipped (skip_invalid_event)
  std::string first_invalid;  // why the first was invalid
};

// Splits a stream into msgpack objects and decodes each Forward message into a batch. A
// message's events and the bytes they point into stay valid until the next call of next().
class StreamDecoder {
 public:
  explicit StreamDecoder(const DecodeOptions& options);

  // Where the caller copies bytes read from the connection: reserve(n), then consumed(got).
  char* reserve(size_t n);
  void consumed(size_t n);
  size_t pendingBytes() const;

  enum class Next { Message, NeedMore, Error };
  // Takes the next whole object. Message: `object()` holds it; Error: error() says why (the
  // stream cannot go on: the connection is to be closed).
  Next next();
  const msgpack::object& object() const { return handle_.get(); }
  const std::string& error() const { return error_; }

  // Decodes object() as a Forward message (Message, Forward, PackedForward or
  // CompressedPackedForward mode), appending its events to `batch`. An error refuses the whole
  // message (nothing appended): the connection is to be closed.
  Status decode(Batch& batch, MessageInfo& info);

 private:
  bool addEvent(std::string_view tag, const msgpack::object& time, const msgpack::object& record, Batch& batch,
                MessageInfo& info);
  Status decodeEntries(std::string_view tag, std::string_view packed, Batch& batch, MessageInfo& info);

  const DecodeOptions& options_;
  msgpack::unpacker unpacker_;
  msgpack::object_handle handle_;
  msgpack::zone zone_;          // entries of PackedForward messages, until the next message
  std::string decompressed_;    // CompressedPackedForward entries, until the next message
  std::string tag_scratch_;
  std::string error_;
};

}  // namespace sluice::plugins::in_forward
