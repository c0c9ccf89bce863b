// SPDX-License-Identifier: Apache-2.0
// out_loki's text: label names and sets, the entries of a formatted chunk read back
// (parseEntry, metadataPairs) and Loki's 400 answers read into refusals (parseRefusals).
// Pure functions; called by format() on the inputs' threads and write() on flush threads.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/label_text.h"
#include "plugins/out_loki/loki_output.h"
#include "plugins/out_loki/loki_text.h"

namespace sluice::plugins::out_loki {

// Loki label names: [a-zA-Z_][a-zA-Z0-9_]*; other characters become _.
void sanitizeLabelName(std::string& name) {
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name.insert(name.begin(), '_');
}

bool validLabelName(const std::string& name) {
  std::string copy = name;
  sanitizeLabelName(copy);
  return copy == name;
}

// A value as label text: strings as they are, everything else as JSON.
void appendScalar(std::string& out, const Value& v) {
  if (v.isString()) {
    out += v.asString();
  } else {
    appendJson(out, v);
  }
}

// Reads a label set's text: from `{` to its closing `}`, skipping quoted values.
size_t labelSetEnd(std::string_view s) {
  if (s.empty() || s[0] != '{') return std::string_view::npos;
  bool quoted = false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '}') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// The reason class of one of Loki's refusal messages, for the per-reason counter.
std::string_view reasonClass(std::string_view message) {
  for (std::string_view r : {"entry too far behind", "entry out of order", "timestamp too old", "timestamp too new",
                             "max entry size", "line too long", "stream limit", "rate limit"}) {
    if (message.find(r) != std::string_view::npos) return r;
  }
  return "other";
}

// Go's time.Time.String() as Loki prints entry times: "2006-01-02 15:04:05.999 -0700 MST".
std::optional<int64_t> parseGoTime(std::string_view s) {
  // Drop the zone abbreviation after the numeric offset.
  size_t offset = s.find_first_of("+-", 19);
  if (offset == std::string_view::npos) return std::nullopt;
  size_t end = s.find(' ', offset);
  static const TimeParser kParser("", true);
  return kParser.parse(s.substr(0, end));
}

namespace {

// Reads the length-prefixed metadata at the start of `s` ("[name=LEN:value name=LEN:value]",
// see LokiEntry): where it ends (past its ']'), or npos; its pairs to `out` when given.
size_t readMetadata(std::string_view s, std::vector<std::pair<std::string_view, std::string_view>>* out) {
  if (s.empty() || s[0] != '[') return std::string_view::npos;
  size_t i = 1;
  while (true) {
    const size_t eq = s.find('=', i);
    if (eq == std::string_view::npos || eq == i) return std::string_view::npos;
    size_t len = 0;
    auto [p, ec] = std::from_chars(s.data() + eq + 1, s.data() + s.size(), len);
    if (ec != std::errc() || p == s.data() + s.size() || *p != ':') return std::string_view::npos;
    const size_t value = static_cast<size_t>(p - s.data()) + 1;
    if (len >= s.size() - value) return std::string_view::npos;  // the value and a ' ' or ']'
    if (out) out->emplace_back(s.substr(i, eq - i), s.substr(value, len));
    i = value + len;
    if (s[i] == ']') return i + 1;
    if (s[i] != ' ') return std::string_view::npos;
    ++i;
  }
}

}  // namespace

bool parseEntry(std::string_view event, LokiEntry& out) {
  size_t sp = event.find(' ');
  if (sp == std::string_view::npos) return false;
  auto [p, ec] = std::from_chars(event.data(), event.data() + sp, out.time_ns);
  if (ec != std::errc() || p != event.data() + sp) return false;
  event.remove_prefix(sp + 1);
  size_t end = labelSetEnd(event);
  if (end == std::string_view::npos || end >= event.size() || event[end] != ' ') return false;
  out.labels = event.substr(0, end);
  event.remove_prefix(end + 1);
  end = event.starts_with("{} ") ? 2 : event.starts_with('[') ? readMetadata(event, nullptr) : labelSetEnd(event);
  if (end == std::string_view::npos || end >= event.size() || event[end] != ' ') return false;
  out.metadata = event.substr(0, end);
  out.line = event.substr(end + 1);
  return true;
}

bool metadataPairs(std::string_view metadata, std::vector<std::pair<std::string_view, std::string_view>>& out,
                   std::vector<std::pair<std::string, std::string>>& owned) {
  out.clear();
  if (metadata == "{}") return true;
  if (metadata.starts_with('[')) return readMetadata(metadata, &out) == metadata.size();
  // A chunk written before the length-prefixed form: label text.
  if (!parseLabelSet(metadata, owned)) return false;
  for (const auto& [name, value] : owned) out.emplace_back(name, value);
  return true;
}

// ---- Loki's 400 answers ---------------------------------------------------------------------

namespace {

// The label set at the start of `s` (Loki prints labels.String(): {a="1", b="2"}).
std::string_view leadingLabels(std::string_view s) {
  size_t end = labelSetEnd(s);
  return end == std::string_view::npos ? std::string_view() : s.substr(0, end);
}

// Splits one line of a 400 body into its messages. The distributor joins its validation errors
// (util.GroupedErrors) as "<msg>; N errors like: <msg>; ..."; a message itself may hold "; "
// only inside a label set, so a split is made only where a count or a known message follows.
std::vector<std::string_view> splitMessages(std::string_view line) {
  static constexpr std::string_view kStarts[] = {"entry for stream '", "max entry size '", "stream '",
                                                 "entry with timestamp ", "user '", "error parsing labels '",
                                                 "missing required labels '", "total ignored: "};
  std::vector<std::string_view> out;
  size_t from = 0, at = 0;
  while ((at = line.find("; ", at)) != std::string_view::npos) {
    std::string_view next = line.substr(at + 2);
    const size_t digits = next.find_first_not_of("0123456789");
    bool starts = digits != 0 && digits != std::string_view::npos && next.substr(digits).starts_with(" errors like: ");
    for (std::string_view k : kStarts) starts = starts || next.starts_with(k);
    if (starts) {
      out.push_back(line.substr(from, at - from));
      from = at + 2;
    }
    at += 2;
  }
  out.push_back(line.substr(from));
  return out;
}

}  // namespace

// Every refusal form of Loki's push path (messages: ../shared/fixtures/loki/
// error-message-formats.txt, Loki's pkg/validation/validate.go, pkg/ingester/stream.go):
// - distributor validation, one message per entry or stream, grouped by util.GroupedErrors
//   ("N errors like: <msg>; ...") in Loki 3, only the last one in Loki 2;
// - the ingester's per-entry lines "entry with timestamp T ignored, reason: 'R'," (at most
//   max_returned_stream_errors, 10 by default) closed by "user 'U', total ignored: N out of M for
//   stream: L" (Loki >= 2.9) or, older, each line ending "for stream: L," and "total ignored: N
//   out of M"; only the last failing stream's lines are returned.
std::vector<LokiRefusal> parseRefusals(std::string_view body) {
  std::vector<LokiRefusal> out;
  std::vector<LokiRefusal> pending;  // ingester lines waiting for their stream
  auto number = [](std::string_view s, size_t& value) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    return ec == std::errc() ? static_cast<size_t>(p - s.data()) : 0;
  };
  std::string_view rest = body;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    for (std::string_view msg : splitMessages(line)) {
      while (!msg.empty() && (msg.back() == ' ' || msg.back() == '\r')) msg.remove_suffix(1);
      LokiRefusal r;
      if (size_t used = number(msg, r.count); used > 0 && msg.substr(used).starts_with(" errors like: ")) {
        msg.remove_prefix(used + 14);
      } else {
        r.count = 1;
      }
      r.message = std::string(msg);
      if (msg.starts_with("entry for stream '")) {
        std::string_view labels = leadingLabels(msg.substr(18));
        if (labels.empty()) continue;
        r.labels = std::string(labels);
        std::string_view tail = msg.substr(18 + labels.size());
        if (tail.starts_with("' has timestamp too old: ") || tail.starts_with("' has timestamp too new: ")) {
          std::string_view t = tail.substr(25);
          auto ts = parseGoTime(t.substr(0, t.find(", oldest")));
          if (!ts) continue;
          r.kind = LokiRefusal::Kind::Time;
          r.time_ns = *ts;
        } else {  // "' has N label names; limit M" and whatever else names the stream alone
          r.kind = LokiRefusal::Kind::Stream;
        }
        out.push_back(std::move(r));
      } else if (msg.starts_with("max entry size '")) {
        size_t s1 = msg.find("' bytes exceeded for stream '");
        if (s1 == std::string_view::npos) continue;
        std::string_view labels = leadingLabels(msg.substr(s1 + 29));
        std::string_view tail = msg.substr(s1 + 29 + labels.size());
        if (labels.empty() || !tail.starts_with("' while adding an entry with length '")) continue;
        if (number(tail.substr(37), r.length) == 0) continue;
        r.kind = LokiRefusal::Kind::Length;
        r.labels = std::string(labels);
        out.push_back(std::move(r));
      } else if (msg.starts_with("stream '") || msg.starts_with("error parsing labels '")) {
        // Label name/value too long, duplicate names, structured metadata refused: the stream.
        std::string_view labels = leadingLabels(msg.substr(msg.find('\'') + 1));
        if (labels.empty()) continue;
        r.labels = std::string(labels);
        out.push_back(std::move(r));
      } else if (msg.starts_with("missing required labels '")) {
        size_t s = msg.find("' for stream '");
        if (s == std::string_view::npos) continue;
        std::string_view labels = leadingLabels(msg.substr(s + 14));
        if (labels.empty()) continue;
        r.labels = std::string(labels);
        out.push_back(std::move(r));
      } else if (msg.starts_with("entry with timestamp ")) {
        size_t ig = msg.find(" ignored, reason: '");
        if (ig == std::string_view::npos) continue;
        auto ts = parseGoTime(msg.substr(21, ig - 21));
        if (!ts) continue;
        r.kind = LokiRefusal::Kind::Time;
        r.time_ns = *ts;
        if (size_t fs = msg.rfind("' for stream: "); fs != std::string_view::npos) {  // Loki < 2.9
          r.labels = std::string(leadingLabels(msg.substr(fs + 14)));
          if (!r.labels.empty()) out.push_back(std::move(r));
        } else {
          pending.push_back(std::move(r));
        }
      } else if (msg.starts_with("user '")) {
        size_t fs = msg.find(" for stream: ");
        if (fs == std::string_view::npos) continue;
        std::string_view labels = leadingLabels(msg.substr(fs + 13));
        if (labels.empty()) {  // a cut label set names no stream: its lines name nothing
          pending.clear();
          continue;
        }
        for (LokiRefusal& p : pending) {
          p.labels = std::string(labels);
          out.push_back(std::move(p));
        }
        pending.clear();
      }
    }
  }
  return out;
}

}  // namespace sluice::plugins::out_loki
