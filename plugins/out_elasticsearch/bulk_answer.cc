// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_elasticsearch/bulk_answer.h"

#include <algorithm>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sluice::plugins::out_elasticsearch {
namespace {

bool jsonSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The length of the UTF-8 sequence `lead` starts; 1 for ASCII and for bytes that start none
// (validate_utf8 refuses those).
size_t sequenceLength(unsigned char lead) {
  if (lead >= 0xF0 && lead <= 0xF7) return 4;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xC0 && lead <= 0xDF) return 2;
  return 1;
}

// At most this much of an answer's start is looked at before it is kept whole.
constexpr size_t kStartLimit = 4096;
// Every so many requests, buffers far larger than the answers of those requests needed go.
constexpr int kTrimEvery = 64;
constexpr size_t kTrimSlack = 256 << 10;

}  // namespace

void BulkAnswerStream::reset() {
  recent_max_ = std::max(recent_max_, body_.size());
  if (++requests_ >= kTrimEvery) {
    window_max_ = recent_max_;
    recent_max_ = 0;
    requests_ = 0;
    if (body_.capacity() > 2 * window_max_ + kTrimSlack) std::string().swap(body_);
  }
  body_.clear();
  mode_ = Mode::Start;
  errors_true_ = false;
  bytes_ = 0;
  escaped_ = in_string_ = bad_ = false;
  last_ = 0;
  utf8_tail_size_ = 0;
}

void BulkAnswerStream::feed(std::string_view piece) {
  bytes_ += piece.size();
  switch (mode_) {
    case Mode::Keep:
      body_.append(piece);
      return;
    case Mode::Check:
      check(piece.data(), piece.size());
      return;
    case Mode::Start:
      body_.append(piece);
      mode_ = decide();
      if (mode_ == Mode::Check) check(body_.data(), body_.size());  // the start too: its strings count
      return;
  }
}

BulkAnswerStream::Mode BulkAnswerStream::decide() {
  const std::string_view s = std::string_view(body_).substr(0, kStartLimit);
  size_t i = 0;
  bool more = false;  // the start ends before it could be told apart
  auto space = [&] {
    while (i < s.size() && jsonSpace(s[i])) ++i;
    more = i == s.size();
    return !more;
  };
  auto literal = [&](std::string_view text) {
    if (!space()) return false;
    const size_t n = std::min(text.size(), s.size() - i);
    if (s.compare(i, n, text, 0, n) != 0) return false;
    more = n < text.size();
    i += n;
    return !more;
  };
  bool matched = literal("{") && literal("\"took\"") && literal(":") && space();
  if (matched) {
    const size_t digits = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    more = i == s.size();
    matched = !more && i > digits;
  }
  matched = matched && literal(",") && literal("\"errors\"") && literal(":") && space();
  bool errors = false;
  if (matched) {
    errors = s[i] == 't';
    matched = literal(errors ? "true" : "false") && space() && (s[i] == ',' || s[i] == '}');
  }
  if (matched) {
    errors_true_ = errors;
    return errors ? Mode::Keep : Mode::Check;
  }
  return more && s.size() < kStartLimit ? Mode::Start : Mode::Keep;
}

// What simdjson's stage 1 refuses in a document (UTF8_ERROR, UNESCAPED_CHARS, UNCLOSED_STRING),
// checked piece by piece with its state carried over: backslash runs escape the next byte
// (whether in a string or not, as stage 1 counts them), unescaped quotes open and close strings,
// bytes 0x00-0x1F inside a string are refused. Blocks of 64 bytes are done as stage 1 does them
// (bit masks, the escape trick with an add, a prefix XOR); the rest byte by byte.
void BulkAnswerStream::check(const char* p, size_t n) {
  for (size_t k = n; k > 0; --k) {
    if (!jsonSpace(p[k - 1])) {
      last_ = p[k - 1];
      break;
    }
  }
  // UTF-8: a sequence cut by the end of the last piece is completed first, one cut by the end of
  // this one waits for the next.
  const char* u = p;
  size_t un = n;
  if (utf8_tail_size_ > 0) {
    const size_t need = sequenceLength(static_cast<unsigned char>(utf8_tail_[0])) - utf8_tail_size_;
    const size_t take = std::min(need, un);
    std::memcpy(utf8_tail_ + utf8_tail_size_, u, take);
    utf8_tail_size_ = static_cast<uint8_t>(utf8_tail_size_ + take);
    u += take;
    un -= take;
    if (take == need) {
      if (!simdjson::validate_utf8(utf8_tail_, utf8_tail_size_)) bad_ = true;
      utf8_tail_size_ = 0;
    }
  }
  size_t cut = un;
  for (size_t k = un; k > 0 && k + 3 >= un; --k) {
    const auto c = static_cast<unsigned char>(u[k - 1]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    if (sequenceLength(c) > un - (k - 1)) cut = k - 1;
    break;
  }
  if (!simdjson::validate_utf8(u, cut)) bad_ = true;
  if (cut < un) {
    std::memcpy(utf8_tail_, u + cut, un - cut);
    utf8_tail_size_ = static_cast<uint8_t>(un - cut);
  }

  uint64_t escaped = escaped_ ? 1 : 0;
  uint64_t in_string = in_string_ ? ~uint64_t{0} : 0;
#if defined(__SSE2__)
  constexpr uint64_t kEven = 0x5555555555555555ULL;
  const __m128i quote_byte = _mm_set1_epi8('"'), backslash_byte = _mm_set1_epi8('\\'),
                control_top = _mm_set1_epi8(0x1F);
  uint64_t refused = 0;
  for (; n >= 64; p += 64, n -= 64) {
    uint64_t quote = 0, backslash = 0, control = 0;
    for (int k = 0; k < 4; ++k) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
      const auto shift = static_cast<unsigned>(16 * k);
      quote |= uint64_t(uint32_t(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote_byte)))) << shift;
      backslash |= uint64_t(uint32_t(_mm_movemask_epi8(_mm_cmpeq_epi8(v, backslash_byte)))) << shift;
      control |= uint64_t(uint32_t(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, control_top), v)))) << shift;
    }
    // Bytes after an odd run of backslashes are escaped (simdjson's find_escaped).
    backslash &= ~escaped;
    const uint64_t follows_escape = backslash << 1 | escaped;
    const uint64_t odd_starts = backslash & ~kEven & ~follows_escape;
    uint64_t even_starts = 0;
    escaped = __builtin_add_overflow(odd_starts, backslash, &even_starts) ? 1 : 0;
    const uint64_t escaped_bytes = (kEven ^ (even_starts << 1)) & follows_escape;
    // In a string: from an unescaped quote up to the next (a prefix XOR).
    uint64_t x = quote & ~escaped_bytes;
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x ^= in_string;
    refused |= control & x;
    in_string = static_cast<uint64_t>(static_cast<int64_t>(x) >> 63);
  }
  if (refused != 0) bad_ = true;
#endif
  bool esc = escaped != 0, in = in_string != 0;
  for (size_t k = 0; k < n; ++k) {
    const auto c = static_cast<unsigned char>(p[k]);
    if (esc) {
      esc = false;
    } else if (c == '\\') {
      esc = true;
    } else if (c == '"') {
      in = !in;
    }
    if (in && c <= 0x1F) bad_ = true;
  }
  escaped_ = esc;
  in_string_ = in;
}

BulkAnswerStream::Outcome BulkAnswerStream::finish() {
  if (mode_ == Mode::Start) mode_ = Mode::Keep;  // too short to tell: read() decides
  if (mode_ == Mode::Keep) {
    recent_max_ = std::max(recent_max_, body_.size());
    return errors_true_ ? Outcome::KeptErrors : Outcome::Kept;
  }
  const bool ok = !bad_ && !in_string_ && utf8_tail_size_ == 0 && last_ == '}';
  return ok ? Outcome::AllDone : Outcome::NotBulk;
}

BulkAnswerReader::Shape BulkAnswerReader::read(std::string& body, size_t n,
                                               const StringList& unrecoverable_error_types,
                                               std::vector<BulkItem>& items) {
  items.clear();
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  simdjson::padded_string_view json(body.data(), body.size(), body.capacity());
  {
    // errors:false needs no look at the items.
    simdjson::ondemand::document doc;
    bool errors = true;
    if (ondemand_.iterate(json).get(doc) == simdjson::SUCCESS && doc["errors"].get_bool().get(errors) == simdjson::SUCCESS &&
        !errors) {
      return Shape::AllDone;
    }
  }
  return readItems(body, n, unrecoverable_error_types, items);
}

void BulkAnswerReader::trim(size_t recent_max_bytes) {
  const size_t keep = 2 * recent_max_bytes + kTrimSlack;
  if (ondemand_.capacity() > keep) ondemand_ = simdjson::ondemand::parser();
  if (dom_.capacity() > keep) dom_ = simdjson::dom::parser();
}

BulkAnswerReader::Shape BulkAnswerReader::readItems(std::string& body, size_t n,
                                                    const StringList& unrecoverable_error_types,
                                                    std::vector<BulkItem>& items) {
  items.clear();
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element doc;
  simdjson::dom::array list;
  if (dom_.parse(body.data(), body.size(), false).get(doc) != simdjson::SUCCESS ||
      doc["items"].get_array().get(list) != simdjson::SUCCESS || list.size() != n) {
    return Shape::NotBulk;
  }
  items.reserve(n);
  for (simdjson::dom::element element : list) {
    BulkItem& item = items.emplace_back();
    simdjson::dom::object wrapper;
    if (element.get_object().get(wrapper) != simdjson::SUCCESS || wrapper.size() != 1) continue;  // Malformed
    auto [action, result] = *wrapper.begin();
    if (result["status"].get_int64().get(item.status) != simdjson::SUCCESS) item.status = 0;
    const int64_t status = item.status;
    if ((status >= 200 && status < 300) || (status == 409 && action == "create")) {
      item.verdict = status == 409 ? BulkItem::Verdict::Duplicate : BulkItem::Verdict::Done;
      continue;
    }
    if (result["error"]["type"].get_string().get(item.type) != simdjson::SUCCESS) item.type = "unknown";
    if (result["error"]["reason"].get_string().get(item.reason) != simdjson::SUCCESS) item.reason = {};
    const bool unrecoverable = std::find(unrecoverable_error_types.begin(), unrecoverable_error_types.end(),
                                         item.type) != unrecoverable_error_types.end();
    if ((status == 429 || status >= 500 || status == 0) && !unrecoverable) {
      item.verdict = BulkItem::Verdict::Again;
    } else if (status == 400 && dottedConflict(item.reason)) {
      item.verdict = BulkItem::Verdict::Conflict;
    } else {
      item.verdict = BulkItem::Verdict::Failed;
    }
  }
  return Shape::Items;
}

bool dottedConflict(std::string_view reason) {
  return (reason.find("tried to parse field [") != std::string_view::npos &&
          reason.find("as object, but found a concrete value") != std::string_view::npos) ||
         (reason.find("Could not dynamically add mapping for field [") != std::string_view::npos &&
          reason.find("must be of type object") != std::string_view::npos);
}

std::string errorReason(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view type, reason;
  if (parser.parse(body.data(), body.size()).get(doc) == simdjson::SUCCESS) {
    if (doc["error"]["type"].get_string().get(type) == simdjson::SUCCESS) {
      if (doc["error"]["reason"].get_string().get(reason) != simdjson::SUCCESS) reason = {};
      return std::string(type) + (reason.empty() ? "" : ": " + std::string(reason));
    }
    if (doc["error"].get_string().get(reason) == simdjson::SUCCESS) return std::string(reason);
  }
  return body.empty() ? "(empty body)" : std::string(body.substr(0, 200));
}

}  // namespace sluice::plugins::out_elasticsearch
