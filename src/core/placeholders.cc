// SPDX-License-Identifier: Apache-2.0
#include "core/placeholders.h"

#include <climits>
#include <cctype>
#include <cstdlib>
#include <vector>

#include "core/time.h"

namespace sluice {

namespace {

// Expands into `out`; each substituted value goes through `put(name, value)`, which returns
// false to refuse it.
template <class Put>
bool expand(std::string_view text, const ChunkKey& key, bool utc, std::string& out, Put put) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.substr(i, 2) == "${") {
      size_t close = text.find('}', i + 2);
      if (close != std::string_view::npos) {
        std::string_view name = text.substr(i + 2, close - i - 2);
        bool done = false;
        if (name == "tag") {
          if (!put(name, key.tag)) return false;
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
          std::string_view part = n >= 0 && n < static_cast<int>(parts.size()) ? parts[static_cast<size_t>(n)] : "";
          if (!put(name, part)) return false;
          done = true;
        } else {
          for (const auto& [k, v] : key.vars) {
            if (k == name || (k.starts_with("$.") && name == k)) {
              if (!put(name, v)) return false;
              done = true;
              break;
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
  return true;
}

}  // namespace

std::string expandPlaceholders(std::string_view text, const ChunkKey& key, bool utc) {
  std::string out;
  expand(text, key, utc, out, [&](std::string_view, std::string_view value) {
    out += value;
    return true;
  });
  return out;
}

void appendPathComponent(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  if (value == "." || value == "..") {
    for (size_t i = 0; i < value.size(); ++i) out += "%2E";
    return;
  }
  for (char c : value) {
    if (c == '/' || c == '%' || c == '\0') {
      out += '%';
      out += kHex[static_cast<unsigned char>(c) >> 4];
      out += kHex[static_cast<unsigned char>(c) & 15];
    } else {
      out += c;
    }
  }
}

Result<std::string> expandPathPlaceholders(std::string_view text, const ChunkKey& key, bool utc) {
  std::string out;
  struct Placed {
    std::string_view name;
    size_t start, end;
  };
  std::vector<Placed> placed;
  expand(text, key, utc, out, [&](std::string_view name, std::string_view value) {
    size_t start = out.size();
    appendPathComponent(out, value);
    placed.push_back({name, start, out.size()});
    return true;
  });
  // A value cannot hold '/', but an empty one can still leave an empty path component (the
  // folder above: `out/${$.user}/app.log` with user "") or make "." / ".." with the text
  // around it.
  for (const Placed& p : placed) {
    size_t begin = p.start == 0 ? std::string::npos : out.rfind('/', p.start - 1);
    begin = begin == std::string::npos ? 0 : begin + 1;
    size_t end = out.find('/', p.end);
    std::string_view component = std::string_view(out).substr(begin, (end == std::string::npos ? out.size() : end) - begin);
    if (component.empty() || component == "." || component == "..") {
      return Status::rejected("refused path " + std::string(text) + ": ${" + std::string(p.name) + "} is " +
                              (p.start == p.end ? "empty" : "'" + out.substr(p.start, p.end - p.start) + "'") +
                              ", which would make the path component '" + std::string(component) +
                              "' and name another folder");
    }
  }
  if (out.size() >= PATH_MAX) {
    return Status::rejected("refused path " + std::string(text) + ": longer than PATH_MAX once expanded");
  }
  return out;
}

}  // namespace sluice
