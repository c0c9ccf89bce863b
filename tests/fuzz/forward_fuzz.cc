// SPDX-License-Identifier: Apache-2.0
// Fuzz target: in_forward's decoder (plugins/in_forward/forward_decode.h) over any bytes a
// client can send, cut into pieces where the first byte says. It never crashes, appends events
// only for a message it accepts (a refused message leaves the batch as it was), every event's
// record is a map, and every record sent on by out_forward's encoder decodes to the same JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/json.h"
#include "plugins/forward_common/forward_wire.h"
#include "plugins/in_forward/forward_decode.h"

namespace {

using sluice::Batch;
using sluice::plugins::forward_common::Packer;
using sluice::plugins::forward_common::StringSink;
using sluice::plugins::in_forward::DecodeOptions;
using sluice::plugins::in_forward::MessageInfo;
using sluice::plugins::in_forward::StreamDecoder;

// Re-encodes the batch as one Forward-mode message and decodes it again: the JSON must match.
void roundTrip(const Batch& batch) {
  if (batch.empty()) return;
  std::string msg;
  StringSink sink{&msg};
  Packer pk(sink);
  pk.pack_array(2);
  pk.pack(std::string("t"));
  pk.pack_array(static_cast<uint32_t>(batch.size()));
  for (const sluice::Event& e : batch.events()) {
    pk.pack_array(2);
    sluice::plugins::forward_common::packTime(pk, e.time_ns, false);
    sluice::plugins::forward_common::packValue(pk, e.record);
  }
  DecodeOptions o;
  o.chunk_size_limit = msg.size() + 16;
  StreamDecoder d(o);
  std::memcpy(d.reserve(msg.size()), msg.data(), msg.size());
  d.consumed(msg.size());
  if (d.next() != StreamDecoder::Next::Message) std::abort();
  Batch again;
  MessageInfo info;
  if (!d.decode(again, info).isOk() || again.size() != batch.size()) std::abort();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (sluice::toJson(batch.events()[i].record) != sluice::toJson(again.events()[i].record)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  DecodeOptions o;
  o.skip_invalid_event = data[0] & 1;
  if (data[0] & 2) o.add_tag_prefix = "fz";
  if (data[0] & 4) o.source_address_key = "addr", o.source_address = "127.0.0.1";
  o.chunk_size_limit = (data[0] & 8) ? 64 : 1 << 20;
  o.decompressed_limit = 4 << 20;
  const size_t cut = size > 2 ? 1 + data[1] % (size - 1) : 1;
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  StreamDecoder d(o);
  Batch batch;
  for (std::string_view part : {rest.substr(0, std::min(cut, rest.size())), rest.substr(std::min(cut, rest.size()))}) {
    std::memcpy(d.reserve(part.size() + 1), part.data(), part.size());
    d.consumed(part.size());
    while (true) {
      StreamDecoder::Next next = d.next();
      if (next == StreamDecoder::Next::Error) return 0;  // the connection would be closed
      if (next == StreamDecoder::Next::NeedMore) break;
      MessageInfo info;
      const size_t before = batch.size();
      sluice::Status s = d.decode(batch, info);
      if (!s.isOk() && batch.size() != before) std::abort();
      if (s.isOk() && batch.size() != before + info.events) std::abort();
      for (const sluice::Event& e : batch.events()) {
        if (!e.record.isObject()) std::abort();
      }
      roundTrip(batch);
      batch.clear();
    }
  }
  return 0;
}
