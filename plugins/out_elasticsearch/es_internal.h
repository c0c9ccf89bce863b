// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small helpers shared by the Elasticsearch output's files (es_output.cc, es_format.cc,
// es_bulk_request.cc). Pure functions; any thread.

#include <cctype>
#include <string>
#include <string_view>

namespace sluice::plugins::out_elasticsearch {

// Lower case as Elasticsearch wants index names (it refuses any name its Java toLowerCase
// changes) and as fluent-plugin-elasticsearch makes them (Ruby's Unicode downcase): ASCII
// directly, other letters (`Ü`, `Σ`) through glibc's Unicode case tables (the C.UTF-8 locale).
// Bytes that are not UTF-8 stay as they are. es_output.cc.
std::string lower(std::string s);


// At most 200 bytes of `s`, control and non-ASCII bytes as '?': safe in a log line or a reason.
inline std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  return out;
}

}  // namespace sluice::plugins::out_elasticsearch
