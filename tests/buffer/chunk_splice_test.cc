// SPDX-License-Identifier: Apache-2.0
// File-buffer chunks with splices: text shared by many events (a pod's metadata) is written once
// per chunk as an entry frame and put back when the chunk is read, recovered, or compressed.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "buffer/chunk_file.h"
#include "core/time.h"
#include "support/buffer_support.h"
#include "support/test_support.h"

namespace sluice::buffer {
namespace {

using testing::TempDir;

const SourceLogger kLog("[test]");

std::vector<std::string> events(const ChunkData& d) { return testing::eventsOf(d); }

// Formats events the way an output does with splice_ok: "<prefix>" + shared text + "<suffix>"
// for each (id, text) given, and keeps the whole event for comparison.
struct Formatter {
  FormattedEvents f;
  std::vector<std::string> whole;
  Formatter() { f.splice_ok = true; }
  void event(std::string_view head, std::vector<std::pair<uint64_t, std::string_view>> pieces, std::string_view tail) {
    std::string w(head);
    f.bytes += head;
    for (auto [id, text] : pieces) {
      f.addSplice(id, text);
      w += text;
      f.bytes += ",";
      w += ",";
    }
    f.bytes += tail;
    w += tail;
    f.endEvent();
    whole.push_back(w);
  }
  void plain(std::string_view text) {
    f.bytes += text;
    f.endEvent();
    whole.emplace_back(text);
  }
};

const std::string kPodA = R"({"pod_name":"web-1","labels":{"app":"web"},"annotations":{"a":")" + std::string(600, 'x') + "\"}}";
const std::string kPodB = R"({"pod_name":"db-0","labels":{"app":"db"}})";

TEST(ChunkSpliceTest, SharedTextIsStoredOncePerChunkAndReadBackWhole) {
  TempDir dir;
  auto c = FileChunk::create(dir.file("buf"), ChunkKey{"t", 0, {}}, SyncPolicy::None);
  ASSERT_TRUE(c.isOk()) << c.status().message();
  Formatter fm;
  for (int i = 0; i < 300; ++i) {
    const std::string n = std::to_string(i);
    if (i % 7 == 0) {
      fm.plain("{\"plain\":" + n + "}\n");
    } else if (i % 5 == 0) {  // two splices in one event, and a splice at the very start
      fm.event("", {{1, kPodA}, {2, kPodB}}, "{\"n\":" + n + "}\n");
    } else {
      fm.event("{\"n\":" + n + ",\"kubernetes\":", {{i % 2 ? 1u : 2u, i % 2 ? kPodA : kPodB}}, "}\n");
    }
  }
  // In two appends, the second from the middle of the formatted events (the buffer appends
  // what fits in a chunk): entries written by the first are used by the second.
  ASSERT_TRUE((*c)->append(fm.f, 0, 120).isOk());
  ASSERT_TRUE((*c)->append(fm.f, 120, 180).isOk());
  uint64_t whole_bytes = 0;
  for (const auto& w : fm.whole) whole_bytes += w.size();
  EXPECT_EQ((*c)->meta().records, 300u);
  EXPECT_EQ((*c)->meta().bytes, whole_bytes);  // sizes count whole events: what is sent
  // Each text is in the file once.
  std::ifstream in((*c)->chunkPath(), std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(file.find(kPodA), file.rfind(kPodA));
  EXPECT_NE(file.find(kPodA), std::string::npos);
  EXPECT_EQ(file.find(kPodB), file.rfind(kPodB));
  EXPECT_LT(file.size(), whole_bytes / 3);
  ASSERT_TRUE((*c)->seal(nowNs()).isOk());
  auto data = (*c)->read();
  ASSERT_TRUE(data.isOk()) << data.status().message();
  EXPECT_EQ(events(*data), fm.whole);
  // And the scanner recovery uses agrees.
  FrameScan scan = scanFrames(file);
  EXPECT_FALSE(scan.damaged);
  EXPECT_EQ(scan.valid_bytes, file.size());
  EXPECT_EQ(scan.entries, 2u);
  EXPECT_EQ(events(scan.data), fm.whole);
}

TEST(ChunkSpliceTest, ARecoveredStagedChunkTakesNewEntriesAfterItsOwn) {
  TempDir dir;
  const std::string path = dir.file("buf");
  Formatter first;
  first.event("{\"k\":", {{11, kPodA}}, "}\n");
  first.event("{\"k\":", {{12, kPodB}}, "}\n");
  {
    auto c = FileChunk::create(path, ChunkKey{"t", 0, {}}, SyncPolicy::None);
    ASSERT_TRUE(c.isOk());
    ASSERT_TRUE((*c)->append(first.f, 0, 2).isOk());
  }  // the process "dies": the staged chunk stays on disk
  auto rec = FileChunk::recover(path, SyncPolicy::None, kLog);
  ASSERT_EQ(rec.staged.size(), 1u);
  FileChunk& c = *rec.staged[0];
  EXPECT_EQ(c.meta().records, 2u);
  // A new process: its ids name nothing in the file, even for the same text.
  Formatter second;
  second.event("{\"again\":", {{41, kPodB}}, "}\n");
  second.event("{\"again\":", {{42, kPodA}}, "}\n");
  ASSERT_TRUE(c.append(second.f, 0, 2).isOk());
  ASSERT_TRUE(c.seal(nowNs()).isOk());
  auto data = c.read();
  ASSERT_TRUE(data.isOk()) << data.status().message();
  std::vector<std::string> all = first.whole;
  all.insert(all.end(), second.whole.begin(), second.whole.end());
  EXPECT_EQ(events(*data), all);
}

TEST(ChunkSpliceTest, CompressedChunksKeepTheirSplices) {
  for (std::string_view codec : {"gzip", "zstd"}) {
    TempDir dir;
    auto c = FileChunk::create(dir.file("buf"), ChunkKey{"t", 0, {}}, SyncPolicy::None);
    ASSERT_TRUE(c.isOk());
    Formatter fm;
    for (int i = 0; i < 50; ++i) fm.event("{\"i\":" + std::to_string(i) + ",\"k\":", {{7, kPodA}}, "}\n");
    ASSERT_TRUE((*c)->append(fm.f, 0, 50).isOk());
    ASSERT_TRUE((*c)->seal(nowNs()).isOk());
    ASSERT_TRUE((*c)->settle(codec).isOk()) << codec;
    auto data = (*c)->read();
    ASSERT_TRUE(data.isOk()) << codec << ": " << data.status().message();
    EXPECT_EQ(events(*data), fm.whole) << codec;
  }
}

// A frame as append() writes it: word, CRC-32C of the payload, payload.
std::string frame(uint32_t word, std::string_view payload) {
  std::string out(8, '\0');
  const uint32_t crc = crc32Of(payload);
  for (int b = 0; b < 4; ++b) {
    out[b] = static_cast<char>(word >> (8 * b));
    out[4 + b] = static_cast<char>(crc >> (8 * b));
  }
  return out + std::string(payload);
}

std::string u32(uint32_t v) {
  std::string out(4, '\0');
  for (int b = 0; b < 4; ++b) out[b] = static_cast<char>(v >> (8 * b));
  return out;
}

TEST(ChunkSpliceTest, SplicesThatCannotBeReadAreDamageNotGuesses) {
  const std::string entry = frame(kEntryFrame | 5, "HELLO");
  auto spliced = [](uint32_t at, uint32_t which, std::string_view body) {
    std::string payload = u32(1) + u32(at) + u32(which) + std::string(body);
    return frame(kSplicedFrame | static_cast<uint32_t>(payload.size()), payload);
  };
  const std::string good = entry + spliced(1, 0, "[]");
  FrameScan ok = scanFrames(good);
  EXPECT_FALSE(ok.damaged);
  EXPECT_EQ(events(ok.data), (std::vector<std::string>{"[HELLO]"}));
  // Checksummed, so not torn: each is damage, whether last or not.
  for (const std::string& bad : {spliced(1, 1, "[]"),          // an entry the file does not have
                                 spliced(3, 0, "[]"),          // past the event's bytes
                                 frame(kEntryFrame | kSplicedFrame | 2, "xx"),  // no such kind
                                 frame(kSplicedFrame | 6, u32(9) + "ab")}) {   // a table too long
    FrameScan last = scanFrames(entry + bad);
    EXPECT_TRUE(last.damaged);
    EXPECT_EQ(last.valid_bytes, entry.size());
    EXPECT_TRUE(last.data.ends.empty());
    FrameScan middle = scanFrames(good + bad + good);
    EXPECT_TRUE(middle.damaged);
    EXPECT_EQ(events(middle.data), (std::vector<std::string>{"[HELLO]"}));
  }
}

TEST(ChunkSpliceTest, ADamagedSplicedChunkIsMovedAsideAtRecovery) {
  TempDir dir;
  const std::string path = dir.file("buf");
  std::string chunk_path;
  {
    auto c = FileChunk::create(path, ChunkKey{"t", 0, {}}, SyncPolicy::None);
    ASSERT_TRUE(c.isOk());
    Formatter fm;
    fm.event("{\"k\":", {{5, kPodA}}, "}\n");
    fm.event("{\"k\":", {{5, kPodA}}, "}\n");
    ASSERT_TRUE((*c)->append(fm.f, 0, 2).isOk());
    ASSERT_TRUE((*c)->seal(nowNs()).isOk());
    chunk_path = (*c)->chunkPath();
  }
  // A flipped bit in the entry: both events depend on it.
  std::fstream f(chunk_path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(20);
  f.put('#');
  f.close();
  auto rec = FileChunk::recover(path, SyncPolicy::None, kLog);
  EXPECT_TRUE(rec.queued.empty());
  EXPECT_EQ(rec.quarantined.size(), 1u);
}

}  // namespace
}  // namespace sluice::buffer
