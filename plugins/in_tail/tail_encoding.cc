// SPDX-License-Identifier: Apache-2.0
// Line conversion for the tail's encoding/from_encoding (declared in tail_encoding.h).

#include "plugins/in_tail/tail_encoding.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/json.h"

namespace sluice::plugins::in_tail {
namespace {

// "utf-8", "UTF8" and "Utf_8" name the same encoding.
std::string canonical(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '-' || c == '_') continue;
    out += static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  }
  return out;
}

// Ruby's names that glibc's iconv spells otherwise.
std::string iconvName(std::string_view ruby) {
  const std::string c = canonical(ruby);
  if (c == "ASCII8BIT" || c == "BINARY") return "ASCII";  // bytes >= 0x80 have no character
  if (c == "CP65001") return "UTF-8";
  if (c == "EUCJPMS") return "EUC-JP-MS";
  return std::string(ruby);
}

// Converts all of `in` with a fresh descriptor; nullopt when iconv refuses.
std::optional<std::string> convertAll(const std::string& to, const std::string& from, std::string_view in) {
  iconv_t cd = ::iconv_open(to.c_str(), from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  char out[512];  // the probes are short (at most 127 bytes in, 4 bytes out each)
  char* ip = const_cast<char*>(in.data());
  size_t il = in.size();
  char* op = out;
  size_t ol = sizeof(out);
  size_t rc = ::iconv(cd, &ip, &il, &op, &ol);
  if (rc != static_cast<size_t>(-1)) rc = ::iconv(cd, nullptr, nullptr, &op, &ol);
  ::iconv_close(cd);
  if (rc == static_cast<size_t>(-1)) return std::nullopt;
  return std::string(out, static_cast<size_t>(op - out));
}

// Whether `name` is known to iconv and writes "\n" and ASCII as the bytes themselves (the tail
// splits lines on the byte 0x0A).
Status checkName(const char* param, std::string_view ruby, const std::string& name) {
  iconv_t cd = ::iconv_open(name.c_str(), "UTF-8");
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return Status::invalidConfig(std::string(param) + " '" + std::string(ruby) +
                                 "' is not an encoding known to iconv (see `iconv -l`)");
  }
  ::iconv_close(cd);
  const std::string_view probe = "\nA0 ";
  auto there = convertAll(name, "UTF-8", probe);
  auto back = convertAll("UTF-8", name, probe);
  if (!there || *there != probe || !back || *back != probe) {
    return Status::invalidConfig(std::string(param) + " '" + std::string(ruby) +
                                 "' does not write \"\\n\" as one byte 0x0A (UTF-16, UTF-32, EBCDIC): "
                                 "tail splits lines on that byte and cannot read it");
  }
  return Status::ok();
}

}  // namespace

Result<EncodingSpec> resolveEncodings(const std::optional<std::string>& encoding,
                                      const std::optional<std::string>& from_encoding) {
  EncodingSpec spec;
  if (from_encoding && !encoding) {
    return Status::invalidConfig("from_encoding needs encoding (the encoding to convert to)");
  }
  if (!encoding) return spec;
  spec.to = iconvName(*encoding);
  if (Status s = checkName("encoding", *encoding, spec.to); !s) return s;
  if (!from_encoding) return spec;  // Ruby's force_encoding: the bytes stay as they are
  spec.from = iconvName(*from_encoding);
  if (Status s = checkName("from_encoding", *from_encoding, spec.from); !s) return s;
  if (canonical(spec.from) == canonical(spec.to)) return spec;  // Fluentd: "No effect"
  iconv_t cd = ::iconv_open(spec.to.c_str(), spec.from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return Status::invalidConfig("iconv cannot convert from_encoding '" + *from_encoding + "' to encoding '" +
                                 *encoding + "'");
  }
  ::iconv_close(cd);
  spec.convert = true;
  std::string ascii;
  for (int c = 1; c < 0x80; ++c) ascii += static_cast<char>(c);
  auto same = convertAll(spec.to, spec.from, ascii);
  spec.ascii_identity = same && *same == ascii;
  spec.replacement = canonical(spec.to) == "UTF8" ? "\xEF\xBF\xBD" : "?";  // U+FFFD, as Ruby's :replace
  return spec;
}

LineConverter::LineConverter(const EncodingSpec& spec)
    : cd_(::iconv_open(spec.to.c_str(), spec.from.c_str())),
      ascii_identity_(spec.ascii_identity),
      replacement_(spec.replacement) {
  // A character `to` cannot hold is told from an invalid byte by converting it to UTF-8.
  if (canonical(spec.to) != "UTF8") probe_ = ::iconv_open("UTF-8", spec.from.c_str());
}

LineConverter::~LineConverter() {
  if (cd_ != reinterpret_cast<iconv_t>(-1)) ::iconv_close(cd_);
  if (probe_ != reinterpret_cast<iconv_t>(-1)) ::iconv_close(probe_);
}

// Length of the valid `from` character at `p` (up to 4 bytes), 0 when the bytes are invalid.
size_t LineConverter::validCharLength(const char* p, size_t n) {
  if (probe_ == reinterpret_cast<iconv_t>(-1)) return 0;
  for (size_t len = 1; len <= std::min<size_t>(n, 4); ++len) {
    char out[16];
    char* ip = const_cast<char*>(p);
    size_t il = len;
    char* op = out;
    size_t ol = sizeof(out);
    ::iconv(probe_, nullptr, nullptr, nullptr, nullptr);
    if (::iconv(probe_, &ip, &il, &op, &ol) != static_cast<size_t>(-1) && il == 0) return len;
  }
  return 0;
}

namespace {
bool isAscii(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t high = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    high |= word;
  }
  for (; n > 0; ++p, --n) high |= static_cast<unsigned char>(*p);
  return (high & 0x8080808080808080ull) == 0;
}
}  // namespace

std::string_view LineConverter::convert(std::string_view line, Arena& arena) {
  if (ascii_identity_ && isAscii(line)) return line;
  // Any accepted source gives at most 4 bytes per input byte (a replacement is 3).
  size_t cap = line.size() * 4 + 16;
  if (scratch_size_ < cap) {
    scratch_.reset(new char[cap]);
    scratch_size_ = cap;
  }
  ::iconv(cd_, nullptr, nullptr, nullptr, nullptr);
  char* in = const_cast<char*>(line.data());
  size_t in_left = line.size();
  char* out = scratch_.get();
  size_t out_left = scratch_size_;
  auto grow = [&] {
    size_t used = static_cast<size_t>(out - scratch_.get());
    size_t bigger = scratch_size_ * 2;
    std::unique_ptr<char[]> next(new char[bigger]);
    std::memcpy(next.get(), scratch_.get(), used);
    scratch_ = std::move(next);
    scratch_size_ = bigger;
    out = scratch_.get() + used;
    out_left = bigger - used;
  };
  while (in_left > 0) {
    if (::iconv(cd_, &in, &in_left, &out, &out_left) != static_cast<size_t>(-1)) break;
    if (errno == E2BIG) {
      grow();
      continue;
    }
    if (errno != EILSEQ && errno != EINVAL) break;
    // Invalid bytes (one at a time), a character the target cannot hold (whole), or an
    // incomplete character at the end of the line: the replacement stands for it.
    size_t skip = errno == EINVAL ? in_left : std::max<size_t>(1, validCharLength(in, in_left));
    while (out_left < replacement_.size()) grow();
    std::memcpy(out, replacement_.data(), replacement_.size());
    out += replacement_.size();
    out_left -= replacement_.size();
    in += skip;
    in_left -= skip;
    ++replaced_;
    ::iconv(cd_, nullptr, nullptr, nullptr, nullptr);
  }
  while (::iconv(cd_, nullptr, nullptr, &out, &out_left) == static_cast<size_t>(-1) && errno == E2BIG) grow();
  const size_t n = static_cast<size_t>(out - scratch_.get());
  char* p = static_cast<char*>(arena.allocate(n + kJsonPadding, 1));
  std::memcpy(p, scratch_.get(), n);
  std::memset(p + n, 0, kJsonPadding);
  return {p, n};
}

}  // namespace sluice::plugins::in_tail
