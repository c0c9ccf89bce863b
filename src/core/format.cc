// SPDX-License-Identifier: Apache-2.0
#include "core/format.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/json.h"
#include "core/time.h"

namespace sluice {

const std::array<Param<FormatConfig>, 11>& formatParams() {
  static constexpr std::array<Param<FormatConfig>, 11> kParams = {{
      {"@type", &FormatConfig::type, "json", "Formatter: json, out_file, single_value, ltsv, stdout or pretty.",
       "json|out_file|single_value|ltsv|stdout|pretty|hash"},
      {"delimiter", &FormatConfig::delimiter, "\t", "out_file: separator of time, tag and record (`SPACE`, `COMMA`, `TAB` or text); ltsv: field separator."},
      {"output_tag", &FormatConfig::output_tag, "true", "out_file: write the tag."},
      {"output_time", &FormatConfig::output_time, "true", "out_file: write the time."},
      {"time_format", &FormatConfig::time_format, "", "strftime format of written times (%N for nanoseconds). Default: ISO 8601 for out_file, `%Y-%m-%d %H:%M:%S.%N %z` for stdout."},
      {"localtime", &FormatConfig::localtime, "true", "Write times in the local zone."},
      {"utc", &FormatConfig::utc, "false", "Write times in UTC (overrides localtime)."},
      {"message_key", &FormatConfig::message_key, "message", "single_value: the field written."},
      {"add_newline", &FormatConfig::add_newline, "true", "End each event with a newline."},
      {"label_delimiter", &FormatConfig::label_delimiter, ":", "ltsv: separator of label and value."},
      {"output_type", &FormatConfig::output_type, "json", "stdout: how the record is written (json or hash; both write JSON).", "json|hash|ltsv|single_value"},
  }};
  return kParams;
}

Result<Formatter> Formatter::fromSection(PluginContext& ctx, std::string_view default_type, bool color) {
  FormatConfig fc;
  auto sections = ctx.element().children("format");
  config::Element empty;
  empty.name = "format";
  const config::Element& section = sections.empty() ? empty : *sections.front();
  Status s = ctx.bind(std::span<const Param<FormatConfig>>(formatParams()), section, fc);
  if (!s) return s;
  if (section.find("@type") == nullptr) fc.type = std::string(default_type);
  fc.color = color;
  return create(fc);
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

Result<Formatter> Formatter::create(const FormatConfig& config) {
  Formatter f;
  f.config_ = config;
  const std::string& t = config.type;
  if (t == "json" || t == "hash") f.type_ = Type::Json;
  else if (t == "out_file") f.type_ = Type::OutFile;
  else if (t == "single_value") f.type_ = Type::SingleValue;
  else if (t == "ltsv") f.type_ = Type::Ltsv;
  else if (t == "stdout") f.type_ = Type::Stdout;
  else if (t == "pretty") f.type_ = Type::Pretty;
  else return Status::invalidConfig("unknown format type '" + t + "'");
  if (f.config_.delimiter == "SPACE") f.config_.delimiter = " ";
  else if (f.config_.delimiter == "COMMA") f.config_.delimiter = ",";
  else if (f.config_.delimiter == "TAB") f.config_.delimiter = "\t";
  f.utc_ = config.utc || !config.localtime;
  f.time_format_ = config.time_format;
  if (f.time_format_.empty()) {
    f.time_format_ = f.type_ == Type::OutFile ? "%Y-%m-%dT%H:%M:%S%:z" : "%Y-%m-%d %H:%M:%S.%N %z";
  }
  return f;
}

void Formatter::appendTime(int64_t ns, std::string& out) const {
  formatTime(out, ns, time_format_, utc_);
}

void Formatter::format(const Event& event, std::string& out) const {
  switch (type_) {
    case Type::Json:
      appendJson(out, event.record);
      break;
    case Type::OutFile:
      if (config_.output_time) {
        appendTime(event.time_ns, out);
        out += config_.delimiter;
      }
      if (config_.output_tag) {
        out += event.tag;
        out += config_.delimiter;
      }
      appendJson(out, event.record);
      break;
    case Type::Stdout:
      appendTime(event.time_ns, out);
      out += ' ';
      appendVisible(out, event.tag);  // often a terminal: a file name must not drive it
      out += ": ";
      appendJson(out, event.record);
      break;
    case Type::SingleValue:
      if (const Value* v = event.record.find(config_.message_key)) {
        if (v->isString()) {
          out += v->asString();
        } else {
          appendJson(out, *v);
        }
      }
      break;
    case Type::Ltsv: {
      bool first = true;
      for (const Member& m : event.record.members()) {
        if (!first) out += config_.delimiter;
        first = false;
        out += m.key;
        out += config_.label_delimiter;
        if (m.value.isString()) {
          out += m.value.asString();
        } else {
          appendJson(out, m.value);
        }
      }
      break;
    }
    case Type::Pretty:
      formatPretty(event, out);
      break;
  }
  if (config_.add_newline) out += '\n';
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

// A human view: day and time, tag, the message first, then key=value pairs; colour on
// terminals. Everything from the event is written through appendVisible: log content must
// not be able to drive the terminal.
void Formatter::formatPretty(const Event& event, std::string& out) const {
  const bool c = config_.color;
  auto paint = [&](const char* code, auto&& body) {
    if (c) out += code;
    body();
    if (c) out += "\x1b[0m";
  };
  paint("\x1b[2m", [&] { formatTime(out, event.time_ns, "%Y-%m-%d %H:%M:%S.%3N", utc_); });
  out += ' ';
  std::string_view level;
  const Value* lv = nullptr;
  for (const char* k : {"level", "severity", "lvl"}) {
    if ((lv = event.record.find(k)) && lv->isString()) {
      level = lv->asString();
      break;
    }
    lv = nullptr;
  }
  if (!level.empty()) {
    char l = level[0] | 0x20;
    const char* colour = l == 'e' || l == 'f' || l == 'c' ? "\x1b[31m" : l == 'w' ? "\x1b[33m"
                         : l == 'd' || l == 't' ? "\x1b[34m" : "\x1b[32m";
    paint(colour, [&] {
      std::string upper;
      for (char ch : level.substr(0, 5)) upper += ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 32) : ch;
      appendVisible(out, upper);
    });
    out += ' ';
  }
  paint("\x1b[36m", [&] { appendVisible(out, event.tag); });
  const Value* msg = nullptr;
  std::string_view msg_key;
  for (const char* k : {"message", "msg", "log"}) {
    if ((msg = event.record.find(k)) && msg->isString()) {
      msg_key = k;
      break;
    }
    msg = nullptr;
  }
  if (msg) {
    out += ' ';
    paint("\x1b[1m", [&] {
      std::string_view text = msg->asString();
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
      appendVisible(out, text);
    });
  }
  std::string json;
  for (const Member& m : event.record.members()) {
    if ((msg && m.key == msg_key) || (lv && &m.value == lv)) continue;
    out += ' ';
    paint("\x1b[33m", [&] { appendVisible(out, m.key); });
    out += '=';
    if (m.value.isString() && m.value.asString().find_first_of(" \"=\n") == std::string_view::npos &&
        !m.value.asString().empty()) {
      appendVisible(out, m.value.asString());
    } else {
      json.clear();
      appendJson(json, m.value);  // escapes C0 controls; DEL and C1 are left to appendVisible
      appendVisible(out, json);
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
