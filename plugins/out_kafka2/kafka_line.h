// SPDX-License-Identifier: Apache-2.0
#pragma once

// The kafka2 output's formatted event: one JSON line per Kafka message, written by format()
// on an input thread and read back by write() on a flush thread (or by `sluice replay`, or
// handed as it is to <secondary> and the dead letters, which is why it is text):
//
//   {"topic":"t","partition":3,"key":"k","partition_key":"p","timestamp":1700000000000,
//    "headers":{"name":"value","gone":null},"value":<the formatted value, raw JSON>}
//
// Members come in this order; all but "topic" and "value" are optional. A value that is not
// JSON (a <format> other than json) is "value_text":"<escaped>". An event that cannot be sent
// (record_key missing, a bad partition field, too large) is {"error":"why","value":<record>}:
// write() hands it to <secondary> or the dead letters.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/arena.h"

namespace sluice::plugins::out_kafka2 {

// One message as write() reads it. Views point into the line or, for strings that held
// escapes, into the arena given to decodeLine().
struct KafkaMessage {
  std::string_view topic;
  int32_t partition = -1;  // -1: chosen by the partitioner
  bool has_key = false;
  std::string_view key;
  bool has_partition_key = false;
  std::string_view partition_key;
  int64_t timestamp_ms = 0;  // 0: the time of sending
  struct Header {
    std::string_view name;
    bool null = false;
    std::string_view value;
  };
  std::vector<Header> headers;
  std::string_view value;
  std::string_view error;  // not empty: the event is not to be sent
};

// Reads one formatted event. Returns nullptr on success, else a static description of what is
// wrong with the line (anything that is not exactly what format() writes is refused: the line
// may come from a damaged dead-letter file). `out` is cleared first; its header vector keeps
// its capacity.
const char* decodeLine(std::string_view line, Arena& arena, KafkaMessage& out);

}  // namespace sluice::plugins::out_kafka2
