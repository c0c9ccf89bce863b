// SPDX-License-Identifier: Apache-2.0
#include "core/format.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/json.h"
#include "core/time.h"

namespace sluice {

const std::array<Param<FormatConfig>, 10>& formatParams() {
  static constexpr std::array<Param<FormatConfig>, 10> kParams = {{
      {"delimiter", &FormatConfig::delimiter, "\t", "out_file: separator of time, tag and record (`SPACE`, `COMMA`, `TAB` or text); ltsv: field separator."},
      {"output_tag", &FormatConfig::output_tag, "true", "out_file: write the tag."},
      {"output_time", &FormatConfig::output_time, "true", "out_file: write the time."},
      {"time_format", &FormatConfig::time_format, "", "strftime format of written times (%N for nanoseconds). Default: ISO 8601 for out_file, `%Y-%m-%d %H:%M:%S.%N %z` for stdout."},
      {"localtime", &FormatConfig::localtime, "true", "Write times in the local zone."},
      {"utc", &FormatConfig::utc, "false", "Write times in UTC (overrides localtime)."},
      {"message_key", &FormatConfig::message_key, "message", "single_value: the field written."},
      {"add_newline", &FormatConfig::add_newline, "true", "End each event with a newline."},
      {"label_delimiter", &FormatConfig::label_delimiter, ":", "ltsv: separator of label and value."},
      {"output_type", &FormatConfig::output_type, "json", "stdout: how the record is written after `time tag: `: json, hash (Ruby's Hash#inspect), ltsv or single_value.", "json|hash|ltsv|single_value"},
  }};
  return kParams;
}

SectionInfo formatSection(const char* default_type, std::string_view description) {
  std::vector<ParamInfo> params{ParamInfo{"@type", ParamType::String, default_type,
                                          "The formatter plugin (see the formatter plugins).", {}, 0, {}}};
  for (const ParamInfo& p : describeParams(std::span<const Param<FormatConfig>>(formatParams()))) {
    params.push_back(p);
  }
  return SectionInfo{"format", description, std::move(params)};
}

void FormatTime::append(int64_t ns, std::string& out) const { formatTime(out, ns, format_, utc_); }

std::string delimiterText(std::string_view text) {
  if (text == "SPACE") return " ";
  if (text == "COMMA") return ",";
  if (text == "TAB") return "\t";
  return std::string(text);
}

WriteResult writeFully(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        ::usleep(1000);
        continue;
      }
      return errno == EPIPE || errno == EBADF ? WriteResult::fail(std::strerror(errno))
                                              : WriteResult::retry(std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return WriteResult::ok();
}

bool colorWanted(int fd) {
  if (!::isatty(fd)) return false;
  const char* no_color = std::getenv("NO_COLOR");  // https://no-color.org: set and not empty
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::string_view(term) != "dumb";
}

void appendVisible(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto hex = [&](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  };
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x80) {
      switch (c) {
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: hex(c);  // ESC, BEL, DEL…: a terminal would act on them
      }
      ++i;
    } else {
      size_t len = utf8CharLength(text, i);
      // C1 controls (U+0080-U+009F, CSI among them) are escaped as their code point.
      if (len == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
        out += "\\u00";
        out += kHex[static_cast<unsigned char>(text[i + 1]) >> 4];
        out += kHex[static_cast<unsigned char>(text[i + 1]) & 15];
      } else if (len == 0) {
        hex(c);  // not UTF-8: a lone byte some terminals would take as a control
        len = 1;
      } else {
        out.append(text.substr(i, len));
      }
      i += len;
    }
  }
}

void appendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
}

}  // namespace sluice
