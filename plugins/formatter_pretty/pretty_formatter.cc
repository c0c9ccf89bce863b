// SPDX-License-Identifier: Apache-2.0
#include "plugins/formatter_pretty/pretty_formatter.h"

namespace sluice::plugins::formatter_pretty {

Result<std::unique_ptr<PrettyFormatter>> PrettyFormatter::create(const FormatConfig& config, PluginContext& ctx) {
  return std::unique_ptr<PrettyFormatter>(new PrettyFormatter(config, ctx.formatterDefaults().color));
}

// A human view: day and time, tag, the message first, then key=value pairs; colour on
// terminals. Everything from the event is written through appendVisible: log content must
// not be able to drive the terminal.
void PrettyFormatter::formatOne(const Event& event, std::string& out) const {
  const bool c = color_;
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
  if (newline_) out += '\n';
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<PrettyFormatter>(
      PluginKind::Formatter, "pretty", "A human view: time, level, tag, message, then key=value pairs; coloured on a terminal.",
      formatParams());
  return kDescriptor;
}

}  // namespace sluice::plugins::formatter_pretty
