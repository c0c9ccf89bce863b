// SPDX-License-Identifier: Apache-2.0
#include "core/placeholders.h"

#include <cctype>
#include <cstdlib>
#include <vector>

#include "core/time.h"

namespace sluice {

std::string expandPlaceholders(std::string_view text, const ChunkKey& key, bool utc) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.substr(i, 2) == "${") {
      size_t close = text.find('}', i + 2);
      if (close != std::string_view::npos) {
        std::string_view name = text.substr(i + 2, close - i - 2);
        bool done = false;
        if (name == "tag") {
          out += key.tag;
          done = true;
        } else if (name.starts_with("tag[") && name.ends_with("]")) {
          int n = std::atoi(std::string(name.substr(4, name.size() - 5)).c_str());
          std::vector<std::string_view> parts;
          std::string_view t = key.tag;
          for (size_t s = 0;;) {
            size_t d = t.find('.', s);
            parts.push_back(t.substr(s, d == std::string_view::npos ? t.npos : d - s));
            if (d == std::string_view::npos) break;
            s = d + 1;
          }
          if (n < 0) n += static_cast<int>(parts.size());
          if (n >= 0 && n < static_cast<int>(parts.size())) out += parts[static_cast<size_t>(n)];
          done = true;
        } else {
          for (const auto& [k, v] : key.vars) {
            if (k == name || (k.starts_with("$.") && name == k)) {
              out += v;
              done = true;
            }
          }
        }
        if (done) {
          i = close;
          continue;
        }
      }
    }
    if (text[i] == '%' && i + 1 < text.size()) {
      // strftime of the time slice, one directive at a time.
      size_t j = i + 1;
      while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
      if (j < text.size() && std::isalpha(static_cast<unsigned char>(text[j]))) {
        formatTime(out, key.time_slice * kNanosPerSecond, text.substr(i, j - i + 1), utc);
        i = j;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

}  // namespace sluice
