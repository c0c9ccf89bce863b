// SPDX-License-Identifier: Apache-2.0
#include "core/format.h"

#include <unistd.h>

#include <cerrno>
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
      out += event.tag;
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

// A human view: time, tag, the message first, then key=value pairs; colour on terminals.
void Formatter::formatPretty(const Event& event, std::string& out) const {
  const bool c = config_.color;
  auto paint = [&](const char* code, auto&& body) {
    if (c) out += code;
    body();
    if (c) out += "\x1b[0m";
  };
  paint("\x1b[2m", [&] { formatTime(out, event.time_ns, "%H:%M:%S.%3N", utc_); });
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
      for (char ch : level.substr(0, 5)) out += static_cast<char>(ch & ~0x20);
    });
    out += ' ';
  }
  paint("\x1b[36m", [&] { out += event.tag; });
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
      for (char ch : text) {
        if (ch == '\n') out += "\\n";
        else out += ch;
      }
    });
  }
  for (const Member& m : event.record.members()) {
    if ((msg && m.key == msg_key) || (lv && &m.value == lv)) continue;
    out += ' ';
    paint("\x1b[33m", [&] { out += m.key; });
    out += '=';
    if (m.value.isString() && m.value.asString().find_first_of(" \"=\n") == std::string_view::npos &&
        !m.value.asString().empty()) {
      out += m.value.asString();
    } else {
      appendJson(out, m.value);
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
