// SPDX-License-Identifier: Apache-2.0
// Fuzz target: whatever a client sends as an http input body — JSON, NDJSON, MessagePack (the
// first byte picks the format), or form and query text — decoding never crashes, never
// allocates by a length the input claims, and every record it accepts is an object that
// encodes to valid UTF-8 JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "plugins/in_http/http_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice::plugins::in_http;
  if (size == 0) return 0;
  const BodyFormat format = data[0] % 3 == 0 ? BodyFormat::Json : data[0] % 3 == 1 ? BodyFormat::Ndjson : BodyFormat::Msgpack;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  sluice::Arena arena;
  std::vector<sluice::Value> records;
  sluice::Status s = decodeRecords(format, body, arena, records);
  if (s.isOk()) {
    for (const sluice::Value& r : records) {
      if (!r.isObject()) std::abort();
      if (!sluice::isValidUtf8(sluice::toJson(r))) std::abort();
      if (auto t = r.find("time")) (void)epochOfValue(*t);
    }
  } else if (s.message().empty()) {
    std::abort();  // a refusal always says why
  }
  Params params;
  parseFormParams(body, arena, params);
  for (const auto& [name, value] : params) {
    if (name.size() > body.size() || value.size() > body.size()) std::abort();
  }
  (void)parseEpochSeconds(body);
  (void)headerFieldName(body.substr(0, 64), arena);
  return 0;
}
