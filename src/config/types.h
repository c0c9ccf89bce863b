// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sluice {

// Parameter value types, as Fluentd's config_param types.
struct ByteSize {
  uint64_t bytes = 0;
};
struct Duration {
  double seconds = 0;
  int64_t nanos() const { return static_cast<int64_t>(seconds * 1e9); }
};
// A size that may be "no limit", spelt -1 as in Fluentd (bulk_message_request_threshold -1).
struct SizeLimit {
  std::optional<uint64_t> bytes;  // nullopt: no limit
  bool limited() const { return bytes.has_value(); }
};
using StringList = std::vector<std::string>;
using StringMap = std::vector<std::pair<std::string, std::string>>;

namespace config {

// Each returns a clear error for a value Fluentd would silently turn into 0 or nil.
Result<int64_t> parseInteger(std::string_view text);   // 10, -3, 1_000, 1.0
Result<double> parseFloat(std::string_view text);      // 1, 1.5, 1e3
Result<uint64_t> parseSize(std::string_view text);     // 512, 2k, 2M, 1g, 1t, 1.5m
Result<SizeLimit> parseSizeLimit(std::string_view text);  // a size, or -1: no limit
Result<double> parseTime(std::string_view text);       // 5, 0.5, 5s, 10sec, 1.5m, 1h, 1d
Result<bool> parseBool(std::string_view text);         // true yes "" | false no
Result<StringList> parseArray(std::string_view text);  // a,b,c | ["a","b",1]
Result<StringMap> parseHash(std::string_view text);    // k:v,k2:v2 | {"k":"v","n":1}

}  // namespace config
}  // namespace sluice
