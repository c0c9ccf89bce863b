// SPDX-License-Identifier: Apache-2.0
// in_forward over real TCP on 127.0.0.1 with hand-made protocol bytes: the four event modes,
// acks only after acceptance, chunk ids remembered (across a restart with chunk_id_path),
// invalid events, oversized and malformed input, keepalive, source keys.

#include <gtest/gtest.h>

#include <cstring>

#include "forward/forward_test_support.h"
#include "plugins/forward_common/forward_wire.h"

namespace sluice::plugins::in_forward {
namespace {

using forward_common::Packer;
using forward_common::StringSink;
using testing::ForwardReceiver;
using testing::RawClient;
using testing::TempDir;
using testing::waitFor;

constexpr int64_t kSec = 1795309323;

void packEntry(Packer& pk, int64_t time_ns, int n, bool event_time = true) {
  pk.pack_array(2);
  forward_common::packTime(pk, time_ns, !event_time);
  pk.pack_map(1);
  pk.pack(std::string("n"));
  pk.pack(n);
}

std::string packed(int from, int to) {
  std::string out;
  StringSink sink{&out};
  Packer pk(sink);
  for (int i = from; i < to; ++i) packEntry(pk, kSec * 1'000'000'000 + i, i);
  return out;
}

// [tag, entries(bin), option]
std::string packedForward(const std::string& tag, std::string_view entries, const std::string& chunk = "",
                          bool gzip = false) {
  std::string out;
  StringSink sink{&out};
  Packer pk(sink);
  pk.pack_array(3);
  pk.pack(tag);
  pk.pack_bin(static_cast<uint32_t>(entries.size()));
  pk.pack_bin_body(entries.data(), static_cast<uint32_t>(entries.size()));
  pk.pack_map((chunk.empty() ? 0 : 1) + (gzip ? 1 : 0));
  if (!chunk.empty()) {
    pk.pack(std::string("chunk"));
    pk.pack(chunk);
  }
  if (gzip) {
    pk.pack(std::string("compressed"));
    pk.pack(std::string("gzip"));
  }
  return out;
}

std::string ackFor(const std::string& chunk) {
  std::string out;
  StringSink sink{&out};
  Packer pk(sink);
  pk.pack_map(1);
  pk.pack(std::string("ack"));
  pk.pack(chunk);
  return out;
}

TEST(ForwardInputTest, ReadsAllFourEventModes) {
  ForwardReceiver rx;
  RawClient c(rx.port());
  ASSERT_TRUE(c.connected());
  std::string msg;
  StringSink sink{&msg};
  Packer pk(sink);
  // Message: [tag, time, record] with integer seconds, then with EventTime and an option.
  pk.pack_array(3);
  pk.pack(std::string("m.int"));
  pk.pack(kSec);
  pk.pack_map(1);
  pk.pack(std::string("n"));
  pk.pack(1);
  pk.pack_array(4);
  pk.pack(std::string("m.et"));
  forward_common::packTime(pk, kSec * 1'000'000'000 + 7, false);
  pk.pack_map(1);
  pk.pack(std::string("n"));
  pk.pack(2);
  pk.pack_map(0);
  // Forward: [tag, [[time, record], ...]]
  pk.pack_array(2);
  pk.pack(std::string("f"));
  pk.pack_array(2);
  packEntry(pk, kSec * 1'000'000'000, 3);
  packEntry(pk, kSec * 1'000'000'000, 4, false);
  ASSERT_TRUE(c.send(msg));
  // PackedForward, and CompressedPackedForward made of two gzip members.
  ASSERT_TRUE(c.send(packedForward("p", packed(5, 7))));
  std::string two = *forward_common::gzip(packed(7, 9)) + *forward_common::gzip(packed(9, 10));
  ASSERT_TRUE(c.send(packedForward("c", two, "", true)));
  ASSERT_TRUE(waitFor([&] { return rx.collector.count() == 9; }));
  auto lines = rx.collector.snapshot();
  const std::string s = std::to_string(kSec);
  EXPECT_EQ(lines[0], "m.int " + s + "000000000 {\"n\":1}");
  EXPECT_EQ(lines[1], "m.et " + s + "000000007 {\"n\":2}");
  EXPECT_EQ(lines[2], "f " + s + "000000000 {\"n\":3}");
  EXPECT_EQ(lines[4], "p " + s + "000000005 {\"n\":5}");
  EXPECT_EQ(lines[8], "c " + s + "000000009 {\"n\":9}");
}

TEST(ForwardInputTest, AcksOnlyAfterTheEventsAreAccepted) {
  ForwardReceiver rx;
  rx.collector.refuse = true;
  {
    RawClient c(rx.port());
    ASSERT_TRUE(c.send(packedForward("t", packed(0, 3), "id-1")));
    EXPECT_TRUE(c.closedByPeer());  // no ack: the connection is closed instead
  }
  rx.collector.refuse = false;
  RawClient c(rx.port());
  ASSERT_TRUE(c.send(packedForward("t", packed(0, 3), "id-1")));
  EXPECT_EQ(c.read(ackFor("id-1").size()), ackFor("id-1"));
  EXPECT_EQ(rx.collector.count(), 3u);
}

TEST(ForwardInputTest, ARepeatedChunkIsAckedWithoutEmittingTwiceAcrossRestarts) {
  TempDir dir;
  const std::string conf = "chunk_id_path " + dir.file("ids") + "\nchunk_id_memory 4\n";
  {
    ForwardReceiver rx(conf);
    RawClient c(rx.port());
    for (int round = 0; round < 2; ++round) {
      ASSERT_TRUE(c.send(packedForward("t", packed(0, 5), "same")));
      EXPECT_EQ(c.read(ackFor("same").size()), ackFor("same"));
    }
    EXPECT_EQ(rx.collector.count(), 5u);
    EXPECT_EQ(rx.metric("sluice_input_forward_duplicate_chunks_total"), 1);
    // The memory is bounded: after 4 newer ids "same" is forgotten.
    for (int i = 0; i < 4; ++i) {
      const std::string id = "other-" + std::to_string(i);
      ASSERT_TRUE(c.send(packedForward("t", packed(0, 1), id)));
      EXPECT_EQ(c.read(ackFor(id).size()), ackFor(id));
    }
  }
  ForwardReceiver again(conf);  // a restart: the ids come back from chunk_id_path
  RawClient c(again.port());
  ASSERT_TRUE(c.send(packedForward("t", packed(0, 1), "other-3")));
  EXPECT_EQ(c.read(ackFor("other-3").size()), ackFor("other-3"));
  EXPECT_EQ(again.collector.count(), 0u);
  ASSERT_TRUE(c.send(packedForward("t", packed(0, 5), "same")));
  EXPECT_EQ(c.read(ackFor("same").size()), ackFor("same"));
  EXPECT_EQ(again.collector.count(), 5u);
}

TEST(ForwardInputTest, InvalidEventsAreSkippedAndCounted) {
  ForwardReceiver rx;
  std::string msg;
  StringSink sink{&msg};
  Packer pk(sink);
  pk.pack_array(2);
  pk.pack(std::string("t"));
  pk.pack_array(3);
  packEntry(pk, kSec * 1'000'000'000, 1);
  pk.pack_array(2);  // a string as time
  pk.pack(std::string("yesterday"));
  pk.pack_map(0);
  pk.pack_array(2);  // a record that is not a map
  pk.pack(kSec);
  pk.pack(std::string("not a map"));
  RawClient c(rx.port());
  ASSERT_TRUE(c.send(msg));
  // The invalid events are counted when the message is decoded, before the valid one is
  // emitted: wait for both.
  ASSERT_TRUE(waitFor([&] { return rx.metric("sluice_input_discarded_records_total") == 2 && rx.collector.count() >= 1; }));
  EXPECT_EQ(rx.collector.count(), 1u);
}

TEST(ForwardInputTest, WithoutSkipInvalidEventTheMessageIsRefused) {
  ForwardReceiver rx("skip_invalid_event false\n");
  std::string msg;
  StringSink sink{&msg};
  Packer pk(sink);
  pk.pack_array(3);
  pk.pack(std::string("t"));
  pk.pack(kSec);
  pk.pack(std::string("not a map"));
  RawClient c(rx.port());
  ASSERT_TRUE(c.send(msg));
  EXPECT_TRUE(c.closedByPeer());
  EXPECT_EQ(rx.collector.count(), 0u);
}

TEST(ForwardInputTest, OversizedAndMalformedInputClosesTheConnectionOnly) {
  ForwardReceiver rx("chunk_size_limit 64k\n");
  std::string log;
  Logger::global().captureForTest(&log);
  {
    RawClient big(rx.port());
    std::string entries = packed(0, 20000);  // ~ 300 KB
    ASSERT_GT(entries.size(), 65536u);
    big.send(packedForward("t", entries));
    EXPECT_TRUE(big.closedByPeer());
  }
  {
    RawClient junk(rx.port());
    ASSERT_TRUE(junk.send(std::string("\xc1\xc1\xc1garbage", 10)));  // 0xc1 is never used in msgpack
    EXPECT_TRUE(junk.closedByPeer());
  }
  {
    RawClient not_a_message(rx.port());
    ASSERT_TRUE(not_a_message.send(std::string("\x93\x01\x02\x03", 4)));  // [1, 2, 3]
    EXPECT_TRUE(not_a_message.closedByPeer());
  }
  {
    RawClient bomb(rx.port());  // gzip that inflates past 4 x chunk_size_limit
    std::string zeros(1 << 20, '\0');
    bomb.send(packedForward("t", *forward_common::gzip(zeros), "", true));
    EXPECT_TRUE(bomb.closedByPeer());
  }
  Logger::global().captureForTest(nullptr);
  EXPECT_NE(log.find("message larger than chunk_size_limit"), std::string::npos) << log;
  EXPECT_NE(log.find("invalid msgpack"), std::string::npos) << log;
  EXPECT_NE(log.find("decompresses beyond"), std::string::npos) << log;
  EXPECT_EQ(rx.metric("sluice_input_errors_total"), 4);
  // The server still serves.
  RawClient ok(rx.port());
  ASSERT_TRUE(ok.send(packedForward("t", packed(0, 2))));
  ASSERT_TRUE(waitFor([&] { return rx.collector.count() == 2; }));
}

TEST(ForwardInputTest, DenyKeepaliveClosesAfterTheFirstMessage) {
  ForwardReceiver rx("deny_keepalive true\n");
  RawClient c(rx.port());
  ASSERT_TRUE(c.send(packedForward("t", packed(0, 1), "k")));
  EXPECT_EQ(c.read(ackFor("k").size()), ackFor("k"));
  EXPECT_TRUE(c.closedByPeer());
}

TEST(ForwardInputTest, TagOptionsAndSourceKeys) {
  ForwardReceiver rx("add_tag_prefix relayed\nsource_address_key from\nsource_hostname_key host\n");
  RawClient c(rx.port());
  ASSERT_TRUE(c.send(packedForward("app", packed(0, 1))));
  ASSERT_TRUE(waitFor([&] { return rx.collector.count() == 1; }));
  const std::string line = rx.collector.snapshot()[0];
  EXPECT_EQ(line.substr(0, 11), "relayed.app") << line;
  EXPECT_NE(line.find("\"from\":\"127.0.0.1\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"host\":\""), std::string::npos) << line;
}

TEST(ForwardInputTest, StreamDecoderSurvivesEveryPrefixAndSplit) {
  // Every split point of a valid stream decodes the same events; every truncation waits for more.
  DecodeOptions o;
  std::string stream = packedForward("a", packed(0, 3), "x") + packedForward("b", *forward_common::gzip(packed(3, 5)), "", true);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    StreamDecoder d(o);
    Batch batch;
    size_t events = 0;
    for (std::string_view part : {std::string_view(stream).substr(0, cut), std::string_view(stream).substr(cut)}) {
      std::memcpy(d.reserve(part.size() + 1), part.data(), part.size());
      d.consumed(part.size());
      while (d.next() == StreamDecoder::Next::Message) {
        MessageInfo info;
        ASSERT_TRUE(d.decode(batch, info).isOk());
        events += info.events;
        batch.clear();
      }
    }
    EXPECT_EQ(events, 5u) << "cut at " << cut;
  }
}

}  // namespace
}  // namespace sluice::plugins::in_forward
