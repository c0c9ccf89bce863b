// SPDX-License-Identifier: Apache-2.0
// Fuzz target: JSON decode → encode → decode must round-trip, what is decoded encodes to valid
// UTF-8 (invalid bytes were repaired, and counted), and encoding any bytes as a string must
// give valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/json.h"
#include "core/json_borrow.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sluice;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string encoded;
  appendJsonString(encoded, text);
  if (!isValidUtf8(encoded)) std::abort();
  Arena arena;
  JsonRepairs repairs;
  auto v = parseJson(text, arena, false, &repairs);
  if (!v) return 0;
  std::string once = toJson(*v);
  if (!isValidUtf8(once)) std::abort();
  if (!isValidUtf8(text) && repairs.invalid_utf8 == 0) std::abort();
  auto borrowed = parseJsonBorrowing(text, arena);
  if (!borrowed || toJson(*borrowed) != once) std::abort();
  auto again = parseJson(once, arena);
  if (!again || toJson(*again) != once) std::abort();
  return 0;
}
