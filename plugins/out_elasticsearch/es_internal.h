// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small helpers shared by the Elasticsearch output's files (es_output.cc, es_format.cc,
// es_bulk_request.cc). Pure functions; any thread.

#include <cctype>
#include <string>

namespace sluice::plugins::out_elasticsearch {

// ASCII lower case: Elasticsearch index names are lower case.
inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}


}  // namespace sluice::plugins::out_elasticsearch
