// SPDX-License-Identifier: Apache-2.0
#pragma once

// The tail's `encoding` / `from_encoding` (Fluentd's String#encode of each line): lines are
// converted with glibc's iconv from `from_encoding` to `encoding` before they are parsed. A
// byte sequence that is invalid in `from_encoding`, or a character `encoding` cannot hold, is
// replaced (U+FFFD for a UTF-8 target, `?` otherwise), as Fluentd's retry with
// `invalid: :replace, undef: :replace` does: the line is kept. Only encodings in which "\n" is
// the byte 0x0A and never part of another character are accepted (UTF-8, the ISO-8859 and
// Windows code pages, EUC-*, Shift_JIS/CP932, GBK, Big5, …): the tail splits lines on that
// byte. UTF-16 and UTF-32 are refused at configuration.

#include <iconv.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/plugin_api.h"

namespace sluice::plugins::in_tail {

// The validated pair of names, iconv's spelling. `convert` is false when the bytes are kept as
// they are: no `encoding`, `encoding` alone (Ruby's force_encoding: the bytes are unchanged),
// or the same encoding on both sides.
struct EncodingSpec {
  bool convert = false;
  std::string from;  // iconv name
  std::string to;    // iconv name
  std::string replacement;  // in `to`
  // ASCII bytes convert to themselves (true of most pairs; not of Shift_JIS, whose 0x5C is ¥
  // in iconv): a line of ASCII alone is then used as it is read, without iconv or a copy.
  bool ascii_identity = false;
};

// Checks the names (Ruby's spellings too: ASCII-8BIT/BINARY, Windows-31J, eucJP-ms, CP65001)
// and that iconv can convert between them. Called on the engine's thread at configuration.
Result<EncodingSpec> resolveEncodings(const std::optional<std::string>& encoding,
                                      const std::optional<std::string>& from_encoding);

// One iconv conversion state. One per TailRun (iconv descriptors are not shared between
// threads); used on the tail input's thread.
class LineConverter {
 public:
  // REQUIRES: spec.convert (and the names resolved by resolveEncodings).
  explicit LineConverter(const EncodingSpec& spec);
  ~LineConverter();
  LineConverter(const LineConverter&) = delete;
  LineConverter& operator=(const LineConverter&) = delete;

  // `line` in the target encoding, in `arena`, followed by kJsonPadding zero bytes (a padded
  // line for the parsers), or `line` itself when it is ASCII and the pair keeps ASCII (the
  // read buffer is padded too). Invalid or unconvertible input is replaced, never dropped.
  std::string_view convert(std::string_view line, Arena& arena);
  // Replacements made so far (for the log).
  uint64_t replaced() const { return replaced_; }

 private:
  size_t validCharLength(const char* p, size_t n);

  iconv_t cd_;
  bool ascii_identity_;
  iconv_t probe_ = reinterpret_cast<iconv_t>(-1);  // from → UTF-8, when the target is not UTF-8
  std::string replacement_;
  std::unique_ptr<char[]> scratch_;  // converted bytes before they are copied to the arena
  size_t scratch_size_ = 0;
  uint64_t replaced_ = 0;
};

}  // namespace sluice::plugins::in_tail
