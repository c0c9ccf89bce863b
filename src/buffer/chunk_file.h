// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "codec/codec.h"
#include "core/chunk_view.h"
#include "core/status.h"
#include "monitor/log.h"

namespace sluice::buffer {

// The buffer compresses sealed chunks with the codec library (codec/codec.h).
using codec::Compression;
using codec::compress;
using codec::compressionFromName;
using codec::compressionName;
using codec::decompress;

// A chunk's metadata, kept beside it and written atomically (temporary file, rename).
struct ChunkMeta {
  std::string id;
  ChunkKey key;
  int64_t created_ns = 0;
  int64_t sealed_ns = 0;  // 0 while staged
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint32_t attempts = 0;  // failed writes so far: survives restarts
  int64_t first_failure_ns = 0;
  int64_t next_retry_ns = 0;
  std::string compress = "text";  // of a sealed chunk's file: text, gzip or zstd

  std::string toJson() const;
  static Result<ChunkMeta> fromJson(std::string_view text);
};

// The events of a chunk as an output reads them: their formatted bytes back to back, and
// where each event ends.
using ChunkData = FormattedEvents;

// When written data is fsync'ed. `write()` alone survives SIGKILL (the page cache belongs to
// the kernel); fsync makes it survive power loss. Seal: a flush thread fsyncs each sealed
// chunk (settle()) before sending it; Append: every append; None: never.
enum class SyncPolicy { None, Seal, Append };

// A file-buffer chunk: an append-only file of framed events (`<id>.b.chunk` while staged,
// `<id>.q.chunk` once sealed) and its metadata (`<id>.meta`), in a 0700 directory, files 0600.
// Frame: a 4-byte little-endian word (the payload's length, and in its two high bits the kind
// of frame), 4-byte CRC-32C of the payload, the payload. Kinds:
//  - an event: its formatted bytes (the only kind before splices; such files read as before);
//  - an entry (kEntryFrame): text that events after it in the file splice in (the JSON of a pod's
//    metadata: written once per chunk instead of once per event); entries are numbered 0, 1, ...
//    in the order of the file;
//  - a spliced event (kSplicedFrame): a 4-byte count n, n pairs of 4-byte numbers (where in the
//    event's bytes, which entry: in order), then the event's bytes without the entries.
// Readers put the entries back: outputs read whole events as they were formatted.
// Not thread-safe: the buffer serialises access.
class FileChunk {
 public:
  static Result<std::unique_ptr<FileChunk>> create(const std::string& dir, ChunkKey key, SyncPolicy sync);
  ~FileChunk();

  // Appends one frame per event: `bytes` split at `ends`, with writev() (512 frames a call).
  Status append(std::string_view bytes, std::span<const uint32_t> ends);
  // Appends events [first, first + count) of `events`, with their splices: an entry frame
  // before the first event of this chunk that uses a text, spliced event frames. On an error
  // the chunk is left as it was.
  Status append(const FormattedEvents& events, size_t first, size_t count);
  // Seals: renames to the queued name (the metadata on disk follows at settle()). Cheap: the
  // input's thread calls it when a chunk fills.
  Status seal(int64_t now_ns);
  // On a flush thread, once per sealed chunk before it is sent: compresses it (`compression`
  // other than "text"), and fsyncs data and metadata unless SyncPolicy::None.
  Status settle(std::string_view compression);
  // Reads all events back, checking every frame.
  Result<ChunkData> read() const;
  // read() into `out`, reusing its memory (a flush thread's buffer: no fresh pages per chunk).
  Status readInto(ChunkData& out) const;
  // Appends the events to those already in `out` (a flush thread sending several chunks in one
  // request); on an error `out` is left as it was.
  Status appendInto(ChunkData& out) const;
  Status saveMeta() const;
  // Deletes the chunk and its metadata (it was delivered).
  Status remove();
  // Moves the chunk and its metadata to `<dir>/corrupt/` (damaged frames found when sending);
  // returns that folder.
  std::string quarantine();

  const ChunkMeta& meta() const { return meta_; }
  ChunkMeta& mutableMeta() { return meta_; }
  bool sealed() const { return meta_.sealed_ns != 0; }
  uint64_t fileSize() const { return file_size_; }
  const std::string& chunkPath() const { return chunk_path_; }

  // Recovery at start: every chunk left in `dir`. A torn last frame (a crash during a write)
  // is cut off; a chunk whose metadata does not parse, whose file is missing, or whose frames
  // are damaged before the last is moved to `dir/corrupt/`, and said so in the log.
  struct Recovered {
    std::vector<std::unique_ptr<FileChunk>> staged;
    std::vector<std::unique_ptr<FileChunk>> queued;
    std::vector<std::string> quarantined;  // chunk ids moved aside
    uint64_t cut_bytes = 0;                // torn tails removed
  };
  static Recovered recover(const std::string& dir, SyncPolicy sync, const SourceLogger& log);

 private:
  FileChunk(std::string dir, ChunkMeta meta, SyncPolicy sync);
  std::string metaPath() const { return dir_ + "/" + meta_.id + ".meta"; }
  Status appendTextInto(ChunkData& out) const;  // appendInto() of an uncompressed chunk
  // The frames of events [first, first + count): `ends` are where events end in `bytes`
  // (event i starts where event i - 1 ends, or at `bytes`' start for i == 0); `splices` (or
  // null) holds their splices (FormattedEvents' splices/splice_ends, at in `bytes`).
  Status appendFrames(std::string_view bytes, const uint32_t* ends, size_t first, size_t count,
                      const FormattedEvents* splices);
  std::string pathFor(bool sealed) const { return dir_ + "/" + meta_.id + (sealed ? ".q.chunk" : ".b.chunk"); }

  std::string dir_;
  ChunkMeta meta_;
  SyncPolicy sync_;
  std::string chunk_path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  // The entry frames in the file: how many, and which texts this process wrote (by Splice::id;
  // a chunk recovered at start has entries that no id names, and gets new ones).
  uint32_t entry_count_ = 0;
  std::unordered_map<uint64_t, uint32_t> entries_;
};

// Creates `dir` (and its parents, 0700) if missing and checks that a file can be made in it:
// state that cannot be kept is found at start, not at the first chunk. With `create` false
// (--dry-run) nothing is made: the nearest existing folder from `dir` up must be writable.
Status checkWritableDir(const std::string& dir, bool create = true);

// Bytes of a frame before its payload: 4 of length, 4 of CRC-32C.
inline constexpr uint64_t kFrameHeaderBytes = 8;
// The kinds of frame, in the high bits of the length word (see FileChunk).
inline constexpr uint32_t kEntryFrame = 0x80000000u;
inline constexpr uint32_t kSplicedFrame = 0x40000000u;
inline constexpr uint32_t kFrameLengthMask = 0x3FFFFFFFu;

// CRC-32C (Castagnoli) of `data`: SSE4.2 when the processor has it, else a table. `prev`: the
// CRC of bytes before `data`, to checksum pieces as if they were one (0: none).
uint32_t crc32Of(std::string_view data, uint32_t prev = 0);
// Each path alone, for tests that compare them (the hardware one only where crc32HasSse42()).
bool crc32HasSse42();
uint32_t crc32OfSse42(std::string_view data);
uint32_t crc32OfTable(std::string_view data);

// Scans framed bytes: returns how many bytes hold whole, valid frames and the events found
// (whole: their splices put back). `damaged` is set when a complete frame fails its CRC or its
// length is absurd before the end, or a checksummed frame cannot be read (an unknown kind, a
// splice of an entry not seen before it).
struct FrameScan {
  uint64_t valid_bytes = 0;
  ChunkData data;
  bool damaged = false;
  uint32_t entries = 0;  // entry frames among the valid ones
};
FrameScan scanFrames(std::string_view file_bytes);
// The same, appending the events to `out` (FrameScan::data is left empty).
FrameScan decodeFrames(std::string_view file_bytes, ChunkData& out);

// Reads one chunk's frames in order, each already whole and checked against its CRC: events
// are appended to `out` whole, entries kept for the spliced events after them.
class FrameDecoder {
 public:
  explicit FrameDecoder(ChunkData& out) : out_(out) {}
  // False when the frame cannot be read (see FrameScan::damaged); `out` is then as before.
  bool take(uint32_t word, std::string_view payload);
  uint32_t entries() const { return static_cast<uint32_t>(entries_.size()); }

 private:
  ChunkData& out_;
  std::vector<std::string> entries_;
};

}  // namespace sluice::buffer
