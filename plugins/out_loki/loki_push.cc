// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_loki/loki_push.h"

#include <google/protobuf/io/coded_stream.h>
#include <snappy.h>

#include <algorithm>
#include <cstring>

#include "loki_wire.pb.h"

namespace sluice::plugins::out_loki {
namespace {

using google::protobuf::io::CodedOutputStream;

// Wire types and the tags of the fields written (every field number is below 16: one byte).
constexpr uint8_t tagOf(int field, int wire_type) { return static_cast<uint8_t>((field << 3) | wire_type); }
constexpr int kVarint = 0, kLengthDelimited = 2;
constexpr uint8_t kStreamsTag = tagOf(loki_wire::PushRequest::kStreamsFieldNumber, kLengthDelimited);
constexpr uint8_t kLabelsTag = tagOf(loki_wire::Stream::kLabelsFieldNumber, kLengthDelimited);
constexpr uint8_t kEntriesTag = tagOf(loki_wire::Stream::kEntriesFieldNumber, kLengthDelimited);
constexpr uint8_t kTimestampTag = tagOf(loki_wire::Entry::kTimestampFieldNumber, kLengthDelimited);
constexpr uint8_t kLineTag = tagOf(loki_wire::Entry::kLineFieldNumber, kLengthDelimited);
constexpr uint8_t kMetadataTag = tagOf(loki_wire::Entry::kStructuredMetadataFieldNumber, kLengthDelimited);
constexpr uint8_t kNameTag = tagOf(loki_wire::LabelPair::kNameFieldNumber, kLengthDelimited);
constexpr uint8_t kValueTag = tagOf(loki_wire::LabelPair::kValueFieldNumber, kLengthDelimited);
constexpr uint8_t kSecondsTag = tagOf(google::protobuf::Timestamp::kSecondsFieldNumber, kVarint);
constexpr uint8_t kNanosTag = tagOf(google::protobuf::Timestamp::kNanosFieldNumber, kVarint);

// A length-delimited field of `n` bytes, tag and length included.
size_t fieldSize(size_t n) { return 1 + CodedOutputStream::VarintSize64(n) + n; }
// A string field as proto3 writes it: absent when empty.
size_t stringSize(std::string_view s) { return s.empty() ? 0 : fieldSize(s.size()); }

struct Time {
  int64_t seconds;
  int32_t nanos;
};
// As the message was built before: seconds and nanos by C++ division (negative nanos for
// instants before 1970, which Loki never accepts anyway).
Time timeOf(int64_t ns) { return {ns / kNanosPerSecond, static_cast<int32_t>(ns % kNanosPerSecond)}; }
size_t timestampSize(Time t) {
  return (t.seconds != 0 ? 1 + CodedOutputStream::VarintSize64(static_cast<uint64_t>(t.seconds)) : 0) +
         (t.nanos != 0 ? 1 + CodedOutputStream::VarintSize32SignExtended(t.nanos) : 0);
}
size_t pairSize(std::string_view name, std::string_view value) { return stringSize(name) + stringSize(value); }

uint8_t* header(uint8_t* p, uint8_t tag, size_t n) {
  *p++ = tag;
  return CodedOutputStream::WriteVarint64ToArray(n, p);
}
uint8_t* bytes(uint8_t* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
uint8_t* stringField(uint8_t* p, uint8_t tag, std::string_view s) {
  if (s.empty()) return p;
  return bytes(header(p, tag, s.size()), s);
}

}  // namespace

char* PushEncoder::Bytes::reserve(size_t n) {
  if (n > capacity) {
    capacity = std::max(n, capacity + capacity / 2);
    data.reset(new char[capacity]);  // not zero-filled: every byte used is written
  }
  return data.get();
}

bool PushEncoder::encode(std::span<const LokiEntry> entries, std::span<const uint32_t> ids,
                         std::span<const uint32_t> stream_of, std::string_view& out) {
  // Pass 1: the size of every entry and stream (a length comes before its message).
  entry_sizes_.resize(ids.size());
  meta_begin_.assign(1, 0);
  meta_.clear();
  kept_owned_.clear();
  size_t total = 0, stream_body = 0;
  for (size_t k = 0; k < ids.size(); ++k) {
    const LokiEntry& e = entries[ids[k]];
    if (k == 0 || stream_of[ids[k]] != stream_of[ids[k - 1]]) {
      if (k > 0) total += fieldSize(stream_body);
      stream_body = stringSize(entries[ids[k]].labels);
    }
    size_t size = fieldSize(timestampSize(timeOf(e.time_ns))) + stringSize(e.line);
    if (e.metadata.size() > 2) {
      if (!metadataPairs(e.metadata, pairs_, owned_)) return false;
      if (!owned_.empty()) kept_owned_.push_back(std::move(owned_));  // the views point into it
      owned_.clear();
      for (const auto& [name, value] : pairs_) {
        size += fieldSize(pairSize(name, value));
        meta_.emplace_back(name, value);
      }
    }
    meta_begin_.push_back(static_cast<uint32_t>(meta_.size()));
    entry_sizes_[k] = static_cast<uint32_t>(size);
    stream_body += fieldSize(size);
  }
  if (!ids.empty()) total += fieldSize(stream_body);

  // Pass 2: the bytes. A stream's size is summed again from its entries.
  uint8_t* const start = reinterpret_cast<uint8_t*>(raw_.reserve(total));
  uint8_t* p = start;
  for (size_t k = 0; k < ids.size();) {
    size_t end = k + 1;
    while (end < ids.size() && stream_of[ids[end]] == stream_of[ids[k]]) ++end;
    const std::string_view labels = entries[ids[k]].labels;
    size_t body = stringSize(labels);
    for (size_t j = k; j < end; ++j) body += fieldSize(entry_sizes_[j]);
    p = header(p, kStreamsTag, body);
    p = stringField(p, kLabelsTag, labels);
    for (; k < end; ++k) {
      const LokiEntry& e = entries[ids[k]];
      p = header(p, kEntriesTag, entry_sizes_[k]);
      const Time t = timeOf(e.time_ns);
      p = header(p, kTimestampTag, timestampSize(t));
      if (t.seconds != 0) {
        *p++ = kSecondsTag;
        p = CodedOutputStream::WriteVarint64ToArray(static_cast<uint64_t>(t.seconds), p);
      }
      if (t.nanos != 0) {
        *p++ = kNanosTag;
        p = CodedOutputStream::WriteVarint32SignExtendedToArray(t.nanos, p);
      }
      p = stringField(p, kLineTag, e.line);
      for (uint32_t m = meta_begin_[k]; m < meta_begin_[k + 1]; ++m) {
        const auto& [name, value] = meta_[m];
        p = header(p, kMetadataTag, pairSize(name, value));
        p = stringField(p, kNameTag, name);
        p = stringField(p, kValueTag, value);
      }
    }
  }
  out = std::string_view(reinterpret_cast<const char*>(start), static_cast<size_t>(p - start));
  return out.size() == total;
}

bool PushEncoder::encodeCompressed(std::span<const LokiEntry> entries, std::span<const uint32_t> ids,
                                   std::span<const uint32_t> stream_of, std::string_view& out) {
  std::string_view raw;
  if (!encode(entries, ids, stream_of, raw)) return false;
  char* z = compressed_.reserve(snappy::MaxCompressedLength(raw.size()));
  size_t n = 0;
  snappy::RawCompress(raw.data(), raw.size(), z, &n);
  out = std::string_view(z, n);
  return true;
}

}  // namespace sluice::plugins::out_loki
