// SPDX-License-Identifier: Apache-2.0
// Fuzz target: whatever a crash or a bad disk leaves in a buffer directory, recovery reads it
// without crashing. The frame scanner accepts only whole frames with a good CRC; framing the
// events it found again gives back exactly the bytes it accepted (plain frames) or the same
// events (entries and spliced frames put back); chunk metadata that parses survives a round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "buffer/chunk_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  buffer::FrameScan scan = buffer::scanFrames(input);
  if (scan.valid_bytes > input.size()) std::abort();
  std::string reframed;
  uint32_t start = 0;
  for (uint32_t end : scan.data.ends) {
    if (end < start || end > scan.data.bytes.size()) std::abort();
    std::string_view payload(scan.data.bytes.data() + start, end - start);
    uint32_t header[2] = {static_cast<uint32_t>(payload.size()), buffer::crc32Of(payload)};
    reframed.append(reinterpret_cast<const char*>(header), sizeof(header));  // little-endian host
    reframed.append(payload);
    start = end;
  }
  // Plain frames (no entry or spliced frame among the accepted ones) frame again to exactly the
  // bytes accepted. Whatever the frames, the events they decode to, framed plainly and scanned
  // again, come back the same.
  bool plain = true;
  for (size_t at = 0; at + buffer::kFrameHeaderBytes <= scan.valid_bytes;) {
    uint32_t word;
    std::memcpy(&word, input.data() + at, sizeof(word));  // little-endian host
    if ((word & ~buffer::kFrameLengthMask) != 0) plain = false;
    at += buffer::kFrameHeaderBytes + (word & buffer::kFrameLengthMask);
  }
  if (plain && reframed != input.substr(0, scan.valid_bytes)) std::abort();
  buffer::FrameScan again = buffer::scanFrames(reframed);
  if (again.damaged || again.valid_bytes != reframed.size() || again.data.bytes != scan.data.bytes ||
      again.data.ends != scan.data.ends) {
    std::abort();
  }

  auto meta = buffer::ChunkMeta::fromJson(input);
  if (meta) {
    std::string once = meta->toJson();
    auto again = buffer::ChunkMeta::fromJson(once);
    if (!again || again->toJson() != once) std::abort();
  }
  return 0;
}
