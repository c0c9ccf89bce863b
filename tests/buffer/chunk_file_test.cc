// SPDX-License-Identifier: Apache-2.0
// File-buffer chunks: framing, sealing, permissions, recovery of what a crash leaves behind.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "buffer/chunk_file.h"
#include "core/time.h"
#include "support/buffer_support.h"
#include "support/test_support.h"

namespace sluice::buffer {
namespace {

using testing::TempDir;

std::vector<std::string> events(const ChunkData& d) { return testing::eventsOf(d); }

Status appendEvents(FileChunk& c, const std::vector<std::string>& evs) {
  std::string bytes;
  std::vector<uint32_t> ends;
  for (const auto& e : evs) {
    bytes += e;
    ends.push_back(static_cast<uint32_t>(bytes.size()));
  }
  return c.append(bytes, ends);
}

const SourceLogger kLog("[test]");

TEST(FileChunkTest, AppendSealReadAndRemove) {
  TempDir dir;
  std::string path = dir.file("buf");
  auto c = FileChunk::create(path, ChunkKey{"app.web", 1795309200, {{"ns", "prod"}}}, SyncPolicy::Seal);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  ASSERT_TRUE(appendEvents(**c, {"{\"a\":1}\n", "{\"b\":2}\n"}).isOk());
  ASSERT_TRUE(appendEvents(**c, {"third\n"}).isOk());
  EXPECT_EQ((*c)->meta().records, 3u);
  EXPECT_FALSE((*c)->sealed());
  ASSERT_TRUE((*c)->seal(nowNs()).isOk());
  EXPECT_TRUE((*c)->sealed());
  EXPECT_TRUE((*c)->chunkPath().ends_with(".q.chunk"));
  auto data = (*c)->read();
  ASSERT_TRUE(data.isOk());
  EXPECT_EQ(events(*data), (std::vector<std::string>{"{\"a\":1}\n", "{\"b\":2}\n", "third\n"}));
  // Buffer files hold log data: a 0700 directory, 0600 files.
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((*c)->chunkPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE((*c)->remove().isOk());
  EXPECT_TRUE(std::filesystem::is_empty(path));
}

TEST(FileChunkTest, RecoveryResumesStagedAndQueuesSealedChunks) {
  TempDir dir;
  std::string path = dir.file("buf");
  std::string staged_id, queued_id;
  {
    auto a = FileChunk::create(path, ChunkKey{"t1", 0, {}}, SyncPolicy::Seal);
    ASSERT_TRUE(appendEvents(**a, {"x1", "x2"}).isOk());
    staged_id = (*a)->meta().id;
    auto b = FileChunk::create(path, ChunkKey{"t2", 0, {}}, SyncPolicy::Seal);
    ASSERT_TRUE(appendEvents(**b, {"y1"}).isOk());
    ASSERT_TRUE((*b)->seal(nowNs()).isOk());
    (*b)->mutableMeta().attempts = 7;  // a chunk that failed before the restart, saved as the flush does
    ASSERT_TRUE((*b)->saveMeta().isOk());
    queued_id = (*b)->meta().id;
  }  // the process "ends" without removing anything
  auto r = FileChunk::recover(path, SyncPolicy::Seal, kLog);
  ASSERT_EQ(r.staged.size(), 1u);
  ASSERT_EQ(r.queued.size(), 1u);
  EXPECT_EQ(r.staged[0]->meta().id, staged_id);
  EXPECT_EQ(r.staged[0]->meta().records, 2u);
  EXPECT_EQ(r.queued[0]->meta().id, queued_id);
  EXPECT_EQ(r.queued[0]->meta().attempts, 7u);  // retry state survives
  EXPECT_EQ(r.queued[0]->meta().key.tag, "t2");
  // The resumed staged chunk takes more events.
  ASSERT_TRUE(appendEvents(*r.staged[0], {"x3"}).isOk());
  EXPECT_EQ(events(*r.staged[0]->read()), (std::vector<std::string>{"x1", "x2", "x3"}));
}

// read() goes through the file in pieces of 256 KiB: events of every size cross the pieces'
// edges, one is larger than a piece, several appends (writev, 512 frames a call) make the file;
// every event comes back as written. A byte changed afterwards, in the middle of the large
// event or of the last one, makes the read fail, never hands back a changed event.
TEST(FileChunkTest, ReadsBackEventsAcrossReadPiecesAndRefusesDamage) {
  TempDir dir;
  auto c = FileChunk::create(dir.file("buf"), ChunkKey{"t", 0, {}}, SyncPolicy::None);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  std::vector<std::string> all;
  uint32_t x = 7;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> evs;
    for (int i = 0; i < 700; ++i) {
      x = x * 1103515245u + 12345u;
      evs.push_back(std::string(1 + (x >> 16) % 2000, static_cast<char>('a' + i % 26)) + "\n");
    }
    if (round == 1) evs.push_back(std::string(600 * 1024, 'L'));  // larger than a read piece
    ASSERT_TRUE(appendEvents(**c, evs).isOk());
    all.insert(all.end(), evs.begin(), evs.end());
  }
  ASSERT_TRUE((*c)->seal(nowNs()).isOk());
  auto data = (*c)->read();
  ASSERT_TRUE(data.isOk()) << data.status().message();
  EXPECT_EQ(events(*data), all);
  const std::string path = (*c)->chunkPath();
  const auto size = std::filesystem::file_size(path);
  for (uint64_t at : {size / 2, size - 2}) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(at));
    const char was = static_cast<char>(f.get());
    f.seekp(static_cast<std::streamoff>(at));
    f.put(static_cast<char>(was ^ 0x20));
    f.close();
    auto bad = (*c)->read();
    EXPECT_FALSE(bad.isOk()) << "byte " << at << " of " << size;
    // Appended to the events of another chunk (one request for several): those stay as they were.
    ChunkData before;
    before.bytes = "kept\n";
    before.ends = {5};
    EXPECT_FALSE((*c)->appendInto(before).isOk());
    EXPECT_EQ(events(before), (std::vector<std::string>{"kept\n"}));
    std::fstream g(path, std::ios::binary | std::ios::in | std::ios::out);
    g.seekp(static_cast<std::streamoff>(at));
    g.put(was);
  }
  EXPECT_TRUE((*c)->read().isOk());
  ChunkData two;
  ASSERT_TRUE((*c)->appendInto(two).isOk());
  ASSERT_TRUE((*c)->appendInto(two).isOk());
  std::vector<std::string> twice = all;
  twice.insert(twice.end(), all.begin(), all.end());
  EXPECT_EQ(events(two), twice);
}

TEST(FileChunkTest, TornLastFrameIsCutNeverMisread) {
  TempDir dir;
  std::string path = dir.file("buf");
  std::string chunk_path;
  {
    auto c = FileChunk::create(path, ChunkKey{"t", 0, {}}, SyncPolicy::None);
    ASSERT_TRUE(appendEvents(**c, {"complete event"}).isOk());
    chunk_path = (*c)->chunkPath();
  }
  // A crash in the middle of the next write: a header and part of a payload.
  std::ofstream(chunk_path, std::ios::binary | std::ios::app).write("\x20\x00\x00\x00\x01\x02\x03\x04partial", 15);
  auto r = FileChunk::recover(path, SyncPolicy::None, kLog);
  ASSERT_EQ(r.staged.size(), 1u);
  EXPECT_EQ(r.cut_bytes, 15u);
  EXPECT_EQ(events(*r.staged[0]->read()), (std::vector<std::string>{"complete event"}));
}

TEST(FileChunkTest, DamagedChunksAreMovedAsideAndTheRestRecovered) {
  TempDir dir;
  std::string path = dir.file("buf");
  std::string good_id, bad_id, bad_path;
  {
    auto good = FileChunk::create(path, ChunkKey{"t", 0, {}}, SyncPolicy::None);
    ASSERT_TRUE(appendEvents(**good, {"fine"}).isOk());
    ASSERT_TRUE((*good)->seal(nowNs()).isOk());
    good_id = (*good)->meta().id;
    auto bad = FileChunk::create(path, ChunkKey{"t", 0, {}}, SyncPolicy::None);
    ASSERT_TRUE(appendEvents(**bad, {"first", "second"}).isOk());
    bad_id = (*bad)->meta().id;
    bad_path = (*bad)->chunkPath();
  }
  // Flip a byte of the first payload: damage before the end.
  {
    std::fstream f(bad_path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(9);
    f.put('X');
  }
  // And metadata that is not JSON for a third chunk.
  std::ofstream(path + "/ffff0000ffff0000deadbeef.meta") << "garbage";
  std::ofstream(path + "/ffff0000ffff0000deadbeef.q.chunk") << "";
  std::string log_text;
  Logger::global().captureForTest(&log_text);
  auto r = FileChunk::recover(path, SyncPolicy::None, kLog);
  Logger::global().captureForTest(nullptr);
  ASSERT_EQ(r.queued.size(), 1u);
  EXPECT_EQ(r.queued[0]->meta().id, good_id);
  EXPECT_EQ(r.quarantined.size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(path + "/corrupt/" + bad_id + ".b.chunk"));
  EXPECT_NE(log_text.find("moved to " + path + "/corrupt"), std::string::npos) << log_text;
}

TEST(FileChunkTest, MetadataRoundTrips) {
  ChunkMeta m;
  m.id = "00ab";
  m.key = ChunkKey{"kube.\"x\"", 60, {{"$.kubernetes.namespace_name", "prod"}}};
  m.created_ns = 1;
  m.sealed_ns = 2;
  m.records = 3;
  m.bytes = 4;
  m.attempts = 5;
  m.first_failure_ns = 6;
  m.next_retry_ns = 7;
  auto back = ChunkMeta::fromJson(m.toJson());
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(back->toJson(), m.toJson());
  EXPECT_TRUE(back->key == m.key);
  EXPECT_FALSE(ChunkMeta::fromJson("{\"id\":\"../../etc\",\"key\":{}}").isOk());
}

}  // namespace
}  // namespace sluice::buffer

namespace sluice::buffer {
namespace {

// CRC-32C bit by bit, straight from the definition (reflected polynomial 0x82F63B78): a
// reference apart from both of crc32Of's paths (SSE4.2 and the table).
uint32_t crc32cReference(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string frame(std::string_view payload, uint32_t crc) {
  std::string out;
  for (uint32_t v : {static_cast<uint32_t>(payload.size()), crc}) {
    for (int k = 0; k < 4; ++k) out += static_cast<char>(v >> (8 * k));
  }
  return out.append(payload);
}

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(crc32Of(""), 0u);
  EXPECT_EQ(crc32Of("123456789"), 0xE3069283u);  // the CRC-32C check value
  // RFC 3720 (iSCSI), appendix B.4.
  std::string zeros(32, '\0'), ones(32, '\xff'), up(32, '\0'), down(32, '\0');
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<char>(i);
    down[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(crc32Of(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32Of(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32Of(up), 0x46DD794Eu);
  EXPECT_EQ(crc32Of(down), 0x113FDB5Cu);
  EXPECT_EQ(crc32cReference(up), 0x46DD794Eu);  // the reference itself is right
}

// Every length from 0 to 300 at every alignment 0..7: the 8-byte steps and the byte tail of
// the SSE4.2 path (or the table path on a processor without it) against the bitwise reference;
// then lengths around the SSE4.2 path's three-block steps (3 x 128 and 3 x 4096 bytes).
TEST(Crc32cTest, MatchesTheBitwiseDefinitionAtEveryLengthAndAlignment) {
  std::string data(30000, '\0');
  uint32_t x = 12345;
  for (char& c : data) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 16);
  }
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t len = 0; len <= 300; ++len) {
      std::string_view piece(data.data() + offset, len);
      ASSERT_EQ(crc32Of(piece), crc32cReference(piece)) << "offset " << offset << " length " << len;
      // Both paths, whichever crc32Of picks here: the table always, SSE4.2 where present.
      ASSERT_EQ(crc32OfTable(piece), crc32cReference(piece)) << "table, offset " << offset << " length " << len;
      if (crc32HasSse42()) {
        ASSERT_EQ(crc32OfSse42(piece), crc32OfTable(piece)) << "sse4.2, offset " << offset << " length " << len;
      }
    }
  }
  for (size_t offset = 0; offset < 8; offset += 3) {
    for (size_t len : {383, 384, 385, 767, 768, 769, 1439, 1440, 1447, 12287, 12288, 12289, 12288 + 384 + 13, 29000}) {
      std::string_view piece(data.data() + offset, len);
      ASSERT_EQ(crc32Of(piece), crc32cReference(piece)) << "offset " << offset << " length " << len;
      if (crc32HasSse42()) {
        ASSERT_EQ(crc32OfSse42(piece), crc32OfTable(piece)) << "sse4.2, offset " << offset << " length " << len;
      }
    }
  }
  EXPECT_EQ(crc32OfTable("123456789"), 0xE3069283u);  // the check value on the table path
  if (crc32HasSse42()) EXPECT_EQ(crc32OfSse42("123456789"), 0xE3069283u);
}

// A complete last frame whose CRC is wrong is a torn write: cut, not damage; the same frame
// with another after it is damage. Either way no byte of it is read as an event.
TEST(Crc32cTest, ACompleteFrameWithABadCrcIsNeverRead) {
  const std::string good = frame("first event", crc32cReference("first event"));
  const std::string bad = frame("second event", crc32cReference("second event") ^ 1u);
  FrameScan last = scanFrames(good + bad);
  EXPECT_FALSE(last.damaged);
  EXPECT_EQ(last.valid_bytes, good.size());
  EXPECT_EQ(last.data.ends.size(), 1u);
  EXPECT_EQ(last.data.bytes, "first event");
  FrameScan middle = scanFrames(good + bad + good);
  EXPECT_TRUE(middle.damaged);
  EXPECT_EQ(middle.valid_bytes, good.size());
  EXPECT_EQ(middle.data.bytes, "first event");
  FrameScan all = scanFrames(good + frame("second event", crc32cReference("second event")));
  EXPECT_FALSE(all.damaged);
  EXPECT_EQ(all.data.ends.size(), 2u);
}

}  // namespace
}  // namespace sluice::buffer
