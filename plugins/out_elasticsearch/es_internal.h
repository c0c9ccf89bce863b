// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small helpers shared by the Elasticsearch output's files (es_output.cc, es_format.cc,
// es_bulk_request.cc). Pure functions; any thread.

#include <cctype>
#include <string>
#include <string_view>

namespace sluice::plugins::out_elasticsearch {

// ASCII lower case: Elasticsearch index names are lower case.
inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}


// At most 200 bytes of `s`, control and non-ASCII bytes as '?': safe in a log line or a reason.
inline std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  return out;
}

}  // namespace sluice::plugins::out_elasticsearch
