// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_kafka2/kafka_line.h"

#include <cstring>
#include <limits>

namespace sluice::plugins::out_kafka2 {
namespace {

// A strict reader of the line format: what format() writes and nothing else.
class Reader {
 public:
  Reader(std::string_view text, Arena& arena) : s_(text), arena_(arena) {}

  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool eat(std::string_view word) {
    if (s_.substr(i_, word.size()) == word) {
      i_ += word.size();
      return true;
    }
    return false;
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  size_t pos() const { return i_; }
  std::string_view rest() const { return s_.substr(i_); }

  // A JSON string; escapes are decoded into the arena.
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const size_t start = i_;
    size_t end = start;
    while (end < s_.size() && s_[end] != '"' && s_[end] != '\\') {
      if (static_cast<unsigned char>(s_[end]) < 0x20) return false;
      ++end;
    }
    if (end >= s_.size()) return false;
    if (s_[end] == '"') {
      out = s_.substr(start, end - start);
      i_ = end + 1;
      return true;
    }
    // Escapes: decode into a buffer no longer than the source.
    char* buf = static_cast<char*>(arena_.allocate(s_.size() - start + 1, 1));
    size_t n = end - start;
    std::memcpy(buf, s_.data() + start, n);
    size_t j = end;
    while (j < s_.size()) {
      char c = s_[j];
      if (c == '"') {
        out = std::string_view(buf, n);
        i_ = j + 1;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        buf[n++] = c;
        ++j;
        continue;
      }
      if (++j >= s_.size()) return false;
      switch (s_[j++]) {
        case '"': buf[n++] = '"'; break;
        case '\\': buf[n++] = '\\'; break;
        case '/': buf[n++] = '/'; break;
        case 'b': buf[n++] = '\b'; break;
        case 'f': buf[n++] = '\f'; break;
        case 'n': buf[n++] = '\n'; break;
        case 'r': buf[n++] = '\r'; break;
        case 't': buf[n++] = '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(j, cp)) return false;
          j += 4;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo = 0;
            if (j + 6 <= s_.size() && s_[j] == '\\' && s_[j + 1] == 'u' && hex4(j + 2, lo) && lo >= 0xDC00 &&
                lo <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              j += 6;
            } else {
              cp = 0xFFFD;
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
          }
          n += utf8(cp, buf + n);  // \uXXXX is 6 bytes of source for at most 4 of output
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool integer(int64_t& out) {
    bool neg = eat('-');
    if (i_ >= s_.size() || s_[i_] < '0' || s_[i_] > '9') return false;
    uint64_t v = 0;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') {
      if (v > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - 9) / 10) return false;
      v = v * 10 + static_cast<uint64_t>(s_[i_++] - '0');
    }
    out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    return true;
  }

 private:
  bool hex4(size_t at, uint32_t& out) const {
    if (at + 4 > s_.size()) return false;
    out = 0;
    for (size_t k = at; k < at + 4; ++k) {
      char c = s_[k];
      uint32_t d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
      if (d == 16) return false;
      out = out * 16 + d;
    }
    return true;
  }
  static size_t utf8(uint32_t cp, char* out) {
    if (cp < 0x80) {
      out[0] = static_cast<char>(cp);
      return 1;
    }
    if (cp < 0x800) {
      out[0] = static_cast<char>(0xC0 | (cp >> 6));
      out[1] = static_cast<char>(0x80 | (cp & 0x3F));
      return 2;
    }
    if (cp < 0x10000) {
      out[0] = static_cast<char>(0xE0 | (cp >> 12));
      out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out[2] = static_cast<char>(0x80 | (cp & 0x3F));
      return 3;
    }
    out[0] = static_cast<char>(0xF0 | (cp >> 18));
    out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[3] = static_cast<char>(0x80 | (cp & 0x3F));
    return 4;
  }

  std::string_view s_;
  size_t i_ = 0;
  Arena& arena_;
};

}  // namespace

const char* decodeLine(std::string_view line, Arena& arena, KafkaMessage& out) {
  std::vector<KafkaMessage::Header> headers = std::move(out.headers);
  headers.clear();
  out = KafkaMessage{};
  out.headers = std::move(headers);
  if (line.ends_with('\n')) line.remove_suffix(1);
  if (line.size() < 2 || line.back() != '}') return "not a kafka2 event (no closing brace)";
  Reader r(line.substr(0, line.size() - 1), arena);
  if (!r.eat('{')) return "not a kafka2 event (not a JSON object)";
  if (r.eat("\"error\":")) {
    if (!r.string(out.error) || !r.eat(',')) return "not a kafka2 event (bad \"error\")";
    if (out.error.empty()) out.error = "refused at format time";
  } else {
    if (!r.eat("\"topic\":") || !r.string(out.topic) || !r.eat(',')) return "not a kafka2 event (no \"topic\")";
    if (r.eat("\"partition\":")) {
      int64_t p = 0;
      if (!r.integer(p) || p < 0 || p > std::numeric_limits<int32_t>::max() || !r.eat(',')) {
        return "not a kafka2 event (bad \"partition\")";
      }
      out.partition = static_cast<int32_t>(p);
    }
    if (r.eat("\"key\":")) {
      if (!r.string(out.key) || !r.eat(',')) return "not a kafka2 event (bad \"key\")";
      out.has_key = true;
    }
    if (r.eat("\"partition_key\":")) {
      if (!r.string(out.partition_key) || !r.eat(',')) return "not a kafka2 event (bad \"partition_key\")";
      out.has_partition_key = true;
    }
    if (r.eat("\"timestamp\":")) {
      if (!r.integer(out.timestamp_ms) || out.timestamp_ms < 0 || !r.eat(',')) return "not a kafka2 event (bad \"timestamp\")";
    }
    if (r.eat("\"headers\":{")) {
      if (!r.eat('}')) {
        do {
          KafkaMessage::Header h;
          if (!r.string(h.name) || !r.eat(':')) return "not a kafka2 event (bad \"headers\")";
          if (r.eat("null")) {
            h.null = true;
          } else if (!r.string(h.value)) {
            return "not a kafka2 event (bad header value)";
          }
          out.headers.push_back(h);
        } while (r.eat(','));
        if (!r.eat('}')) return "not a kafka2 event (bad \"headers\")";
      }
      if (!r.eat(',')) return "not a kafka2 event (bad \"headers\")";
    }
  }
  if (r.eat("\"value\":")) {
    out.value = r.rest();
    if (out.value.empty()) return "not a kafka2 event (empty \"value\")";
  } else if (r.eat("\"value_text\":")) {
    if (!r.string(out.value) || !r.rest().empty()) return "not a kafka2 event (bad \"value_text\")";
  } else {
    return "not a kafka2 event (no \"value\")";
  }
  return nullptr;
}

}  // namespace sluice::plugins::out_kafka2
