// SPDX-License-Identifier: Apache-2.0
#pragma once

// out_loki's protobuf push body: a PushRequest (loki_wire.proto) written in the protobuf wire
// format straight from the chunk's entries, then snappy-compressed. Called by write() on the
// flush threads; each call uses its own PushEncoder.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plugins/out_loki/loki_output.h"

namespace sluice::plugins::out_loki {

// Encodes pushes. Measured on the DaemonSet pipeline: building the request as generated
// protobuf messages (each line copied into the message, copied again by serialisation, checked
// for UTF-8, zero-filled buffers) cost ~13% of the whole pipeline's CPU; this writes each line
// once, into a buffer that is reused. Not thread-safe: one per write() call.
class PushEncoder {
 public:
  // The PushRequest of `ids` (indexes into `entries`), a new stream wherever `stream_of` changes
  // between neighbours (so `ids` go stream after stream, each in time order); byte for byte what
  // the protobuf library serialises for the same message. The view lasts until the next call.
  // False when an entry's structured metadata cannot be read.
  bool encode(std::span<const LokiEntry> entries, std::span<const uint32_t> ids, std::span<const uint32_t> stream_of,
              std::string_view& out);
  // encode(), then snappy (the body Loki takes). The view lasts until the next call.
  bool encodeCompressed(std::span<const LokiEntry> entries, std::span<const uint32_t> ids,
                        std::span<const uint32_t> stream_of, std::string_view& out);

 private:
  struct Bytes {  // a buffer that grows without zero-filling
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
    char* reserve(size_t n);
  };
  Bytes raw_;
  Bytes compressed_;
  std::vector<uint32_t> entry_sizes_;  // per id: the Entry message's size
  std::vector<uint32_t> meta_begin_;   // per id + 1: its pairs in meta_
  std::vector<std::pair<std::string_view, std::string_view>> meta_;
  std::vector<std::pair<std::string_view, std::string_view>> pairs_;
  std::vector<std::pair<std::string, std::string>> owned_;  // metadata of old chunks
  std::vector<std::vector<std::pair<std::string, std::string>>> kept_owned_;
};

}  // namespace sluice::plugins::out_loki
