// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
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
// Frame: 4-byte little-endian length, 4-byte CRC-32C of the payload, the payload (one event's
// formatted bytes). Not thread-safe: the buffer serialises access.
class FileChunk {
 public:
  static Result<std::unique_ptr<FileChunk>> create(const std::string& dir, ChunkKey key, SyncPolicy sync);
  ~FileChunk();

  // Appends one frame per event: `bytes` split at `ends`, with writev() (512 frames a call).
  Status append(std::string_view bytes, std::span<const uint32_t> ends);
  // Seals: renames to the queued name and updates the metadata. Cheap: the input's thread
  // calls it when a chunk fills.
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
  std::string pathFor(bool sealed) const { return dir_ + "/" + meta_.id + (sealed ? ".q.chunk" : ".b.chunk"); }

  std::string dir_;
  ChunkMeta meta_;
  SyncPolicy sync_;
  std::string chunk_path_;
  int fd_ = -1;
  uint64_t file_size_ = 0;
};

// Creates `dir` (and its parents, 0700) if missing and checks that a file can be made in it:
// state that cannot be kept is found at start, not at the first chunk. With `create` false
// (--dry-run) nothing is made: the nearest existing folder from `dir` up must be writable.
Status checkWritableDir(const std::string& dir, bool create = true);

// Bytes of a frame before its payload: 4 of length, 4 of CRC-32C.
inline constexpr uint64_t kFrameHeaderBytes = 8;

// CRC-32C (Castagnoli) of `data`: SSE4.2 when the processor has it, else a table.
uint32_t crc32Of(std::string_view data);
// Each path alone, for tests that compare them (the hardware one only where crc32HasSse42()).
bool crc32HasSse42();
uint32_t crc32OfSse42(std::string_view data);
uint32_t crc32OfTable(std::string_view data);

// Scans framed bytes: returns how many bytes hold whole, valid frames and the events found.
// `damaged` is set when a complete frame fails its CRC or its length is absurd before the end.
struct FrameScan {
  uint64_t valid_bytes = 0;
  ChunkData data;
  bool damaged = false;
};
FrameScan scanFrames(std::string_view file_bytes);
// The same in place: the payloads of the valid frames are moved to the front of `bytes`, which is
// cut to them, and `ends` says where each event ends (FrameScan::data is left empty).
FrameScan compactFrames(std::string& bytes, std::vector<uint32_t>& ends);

}  // namespace sluice::buffer
