// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_concat/concat_filter.h"

#include <algorithm>
#include <cstring>

namespace sluice::plugins::filter_concat {
namespace {

const std::array<Param<ConcatConfig>, 19> kParams = {{
    {"key", &ConcatConfig::key, nullptr, "The field whose values are joined.", {}, kRequired},
    {"separator", &ConcatConfig::separator, nullptr, "Put between joined values (default: a newline, \"\\n\")."},
    {"n_lines", &ConcatConfig::n_lines, nullptr, "Join every N records."},
    {"multiline_start_regexp", &ConcatConfig::multiline_start_regexp, nullptr,
     "A record whose key matches starts a new joined record (`/…/`).", {}, kRegexp},
    {"multiline_end_regexp", &ConcatConfig::multiline_end_regexp, nullptr,
     "A record whose key matches ends the joined record (`/…/`).", {}, kRegexp},
    {"continuous_line_regexp", &ConcatConfig::continuous_line_regexp, nullptr,
     "With multiline_start_regexp: only records matching this continue a joined record; others end it and pass.",
     {}, kRegexp},
    {"stream_identity_key", &ConcatConfig::stream_identity_key, nullptr,
     "Records with different values of this field (and different tags) are joined separately."},
    {"flush_interval", &ConcatConfig::flush_interval, "60",
     "Records held longer than this are flushed to timeout_label (or @ERROR); 0: never."},
    {"timeout_label", &ConcatConfig::timeout_label, nullptr,
     "The <label> that receives records flushed by flush_interval and at stop (default: @ERROR)."},
    {"use_first_timestamp", &ConcatConfig::use_first_timestamp, "false",
     "A joined record takes the time of its first record (default: the last one's)."},
    {"partial_key", &ConcatConfig::partial_key, nullptr,
     "Records whose partial_key equals partial_value are joined with the next ones, up to one where it differs."},
    {"partial_value", &ConcatConfig::partial_value, nullptr, "The partial_key value that marks a partial record."},
    {"keep_partial_key", &ConcatConfig::keep_partial_key, "false",
     "Keep partial_key (or partial_cri_logtag_key) in joined records."},
    {"use_partial_metadata", &ConcatConfig::use_partial_metadata, "false",
     "Join by Docker's partial message metadata (partial_id, partial_ordinal, partial_last)."},
    {"partial_metadata_format", enumMember<&ConcatConfig::partial_metadata_format, kPartialMetadataFormats>(),
     "docker-fluentd",
     "Field names of the metadata: Docker's fluentd log driver, or its journald driver (upper or lower case)."},
    {"keep_partial_metadata", &ConcatConfig::keep_partial_metadata, "false", "Keep the partial metadata fields."},
    {"use_partial_cri_logtag", &ConcatConfig::use_partial_cri_logtag, "false",
     "Join by the CRI logtag (P: partial, F: full) in partial_cri_logtag_key."},
    {"partial_cri_logtag_key", &ConcatConfig::partial_cri_logtag_key, nullptr, "The field holding the CRI logtag."},
    {"partial_cri_stream_key", &ConcatConfig::partial_cri_stream_key, "stream",
     "The CRI stream field (removed from joined records)."},
}};

// Ruby's "#{value}" for a field value: the text of a string, the JSON of anything else.
std::string_view textOf(const Value* v, std::string& scratch) {
  if (v == nullptr || v->isNull()) return {};
  if (v->isString()) return v->asString();
  scratch.clear();
  appendJson(scratch, *v);
  return scratch;
}

bool isFluentLogTag(std::string_view tag) {
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "fatal"};
  if (!tag.starts_with("fluent.")) return false;
  tag.remove_prefix(7);
  return std::find(std::begin(kLevels), std::end(kLevels), tag) != std::end(kLevels);
}

}  // namespace

Result<std::unique_ptr<ConcatFilter>> ConcatFilter::create(const ConcatConfig& c, PluginContext& ctx) {
  const bool lines = c.n_lines >= 0;
  const bool regexp = c.multiline_start_regexp || c.multiline_end_regexp;
  if (!lines && !regexp && !c.partial_key && !c.use_partial_metadata && !c.use_partial_cri_logtag) {
    return Status::invalidConfig(
        "Either n_lines, multiline_start_regexp, multiline_end_regexp, partial_key, use_partial_metadata or "
        "use_partial_cri_logtag is required");
  }
  if (lines && c.n_lines < 1) return Status::invalidConfig("n_lines must be at least 1");
  if (lines && regexp) return Status::invalidConfig("n_lines and multiline_start_regexp/multiline_end_regexp are exclusive");
  if (c.partial_key && lines) return Status::invalidConfig("partial_key and n_lines are exclusive");
  if (c.partial_key && regexp) {
    return Status::invalidConfig("partial_key and multiline_start_regexp/multiline_end_regexp are exclusive");
  }
  if (c.partial_key && !c.partial_value) return Status::invalidConfig("partial_value is required when partial_key is specified");
  if (c.use_partial_metadata && lines) return Status::invalidConfig("use_partial_metadata and n_lines are exclusive");
  if (c.use_partial_metadata && regexp) {
    return Status::invalidConfig("use_partial_metadata and multiline_start_regexp/multiline_end_regexp are exclusive");
  }
  if (c.use_partial_metadata && c.partial_key) return Status::invalidConfig("use_partial_metadata and partial_key are exclusive");
  if (c.use_partial_cri_logtag && lines) return Status::invalidConfig("use_partial_cri_logtag and n_lines are exclusive");
  if (c.use_partial_cri_logtag && regexp) {
    return Status::invalidConfig("use_partial_cri_logtag and multiline_start_regexp/multiline_end_regexp are exclusive");
  }
  if (c.use_partial_cri_logtag && c.partial_key) return Status::invalidConfig("use_partial_cri_logtag and partial_key are exclusive");
  if (c.use_partial_cri_logtag && !c.partial_cri_logtag_key) {
    return Status::invalidConfig("partial_cri_logtag_key is required with use_partial_cri_logtag");
  }
  Mode mode = lines ? Mode::Lines
              : c.partial_key ? Mode::Partial
              : c.use_partial_metadata ? Mode::PartialMetadata
              : c.use_partial_cri_logtag ? Mode::PartialCri
                                         : Mode::Regexp;
  auto compile = [](const std::optional<std::string>& re) -> Result<std::unique_ptr<RE2>> {
    if (!re) return std::unique_ptr<RE2>();
    return compileRubyRegex(*re);
  };
  auto start = compile(mode == Mode::Regexp ? c.multiline_start_regexp : std::nullopt);
  if (!start) return start.status().withPrefix("multiline_start_regexp: ");
  auto end = compile(mode == Mode::Regexp ? c.multiline_end_regexp : std::nullopt);
  if (!end) return end.status().withPrefix("multiline_end_regexp: ");
  auto continuous = compile(mode == Mode::Regexp ? c.continuous_line_regexp : std::nullopt);
  if (!continuous) return continuous.status().withPrefix("continuous_line_regexp: ");
  EventSink* timeout_sink = nullptr;
  if (c.timeout_label) {
    auto sink = ctx.labelSink(*c.timeout_label);
    if (!sink) return sink.takeStatus();
    timeout_sink = *sink;
  } else if (auto error = ctx.labelSink("@ERROR")) {
    timeout_sink = *error;  // Fluentd: router.emit_error_event
  }
  return std::unique_ptr<ConcatFilter>(new ConcatFilter(c, mode, std::move(*start), std::move(*end),
                                                        std::move(*continuous), timeout_sink, ctx));
}

ConcatFilter::ConcatFilter(const ConcatConfig& c, Mode mode, std::unique_ptr<RE2> start, std::unique_ptr<RE2> end,
                           std::unique_ptr<RE2> continuous, EventSink* timeout_sink, PluginContext& ctx)
    : key_(c.key),
      separator_(c.separator),
      n_lines_(c.n_lines),
      mode_(mode),
      start_(std::move(start)),
      end_(std::move(end)),
      continuous_(std::move(continuous)),
      stream_key_(c.stream_identity_key),
      flush_interval_ns_(static_cast<int64_t>(c.flush_interval.seconds * 1e9)),
      use_first_timestamp_(c.use_first_timestamp),
      partial_key_(c.partial_key),
      partial_value_(c.partial_value),
      keep_partial_key_(c.keep_partial_key),
      keep_partial_metadata_(c.keep_partial_metadata),
      cri_logtag_key_(c.partial_cri_logtag_key.value_or("")),
      cri_stream_key_(c.partial_cri_stream_key),
      timeout_sink_(timeout_sink),
      log_(ctx.log()),
      timeouts_(ctx.metrics().pluginCounter("timeout_flushed_records_total",
                                            "Joined records flushed by flush_interval or at stop.")),
      lost_(ctx.metrics().counter("discarded_records_total",
                                  "Records flushed at a timeout with no timeout_label and no @ERROR label.",
                                  {{"intentional", "false"}})) {
  if (c.partial_metadata_format == PartialMetadataFormat::DockerFluentd) {
    meta_message_ = "partial_message", meta_id_ = "partial_id", meta_ordinal_ = "partial_ordinal", meta_last_ = "partial_last";
    meta_indicator_ = meta_message_;
  } else if (c.partial_metadata_format == PartialMetadataFormat::DockerJournald) {
    meta_message_ = "CONTAINER_PARTIAL_MESSAGE", meta_id_ = "CONTAINER_PARTIAL_ID";
    meta_ordinal_ = "CONTAINER_PARTIAL_ORDINAL", meta_last_ = "CONTAINER_PARTIAL_LAST";
    meta_indicator_ = meta_id_;  // the journald driver leaves the message flag off the last part
  } else {
    meta_message_ = "container_partial_message", meta_id_ = "container_partial_id";
    meta_ordinal_ = "container_partial_ordinal", meta_last_ = "container_partial_last";
    meta_indicator_ = meta_id_;
  }
}

ConcatFilter::~ConcatFilter() { stop(); }

Status ConcatFilter::start() {
  if (flush_interval_ns_ > 0 && !timer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(timer_mu_);
      stopping_ = false;
    }
    timer_ = std::thread([this] { timerLoop(); });
  }
  return Status::ok();
}

void ConcatFilter::stop() {
  if (timer_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(timer_mu_);
      stopping_ = true;
    }
    timer_cv_.notify_all();
    timer_.join();
  }
  flushIdle(Clock::system().nowNs(), true);  // Fluentd's flush_remaining_buffer at shutdown
}

void ConcatFilter::timerLoop() {
  std::unique_lock<std::mutex> lock(timer_mu_);
  while (!stopping_) {
    timer_cv_.wait_for(lock, std::chrono::seconds(1));
    if (stopping_) break;
    lock.unlock();
    flushIdle(Clock::system().nowNs());
    lock.lock();
  }
}

bool ConcatFilter::matches(const std::unique_ptr<RE2>& re, std::string_view text) const {
  return re != nullptr && RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re);
}

void ConcatFilter::hold(Stream& s, const Event& e) {
  s.lines.push_back(Line{s.arena.copy(e.tag), e.time_ns, e.record.deepCopy(s.arena)});
}

Value ConcatFilter::flush(Stream& s, Arena& arena, int64_t* first_time) {
  if (mode_ == Mode::PartialMetadata) {
    std::string scratch;
    auto ordinal = [&](const Line& l) {
      std::string_view t = textOf(l.record.find(meta_ordinal_), scratch);
      int64_t n = 0;  // Ruby's to_i: leading digits, else 0
      for (char c : t) {
        if (c < '0' || c > '9') break;
        n = n * 10 + (c - '0');
      }
      return n;
    };
    std::stable_sort(s.lines.begin(), s.lines.end(), [&](const Line& a, const Line& b) { return ordinal(a) < ordinal(b); });
  }
  std::string scratch;
  size_t size = 0;
  for (size_t i = 0; i < s.lines.size(); ++i) {
    size += textOf(s.lines[i].record.find(key_), scratch).size() + (i ? separator_.size() : 0);
  }
  char* p = static_cast<char*>(arena.allocate(size ? size : 1, 1));
  size_t at = 0;
  for (size_t i = 0; i < s.lines.size(); ++i) {
    if (i) {
      std::memcpy(p + at, separator_.data(), separator_.size());
      at += separator_.size();
    }
    std::string_view t = textOf(s.lines[i].record.find(key_), scratch);
    std::memcpy(p + at, t.data(), t.size());
    at += t.size();
  }
  Value joined = s.lines.front().record.deepCopy(arena);
  joined.setMember(key_, Value::string(std::string_view(p, size)), arena);
  *first_time = s.lines.front().time_ns;
  s.lines.clear();
  s.arena.reset();
  return joined;
}

// Fluentd's filter_stream: `record.merge(new_record)` (the current record's fields, those of
// the joined one winning, then the joined one's others), then the mode's fields removed.
Value ConcatFilter::finish(const Value& current, Value joined, Arena& arena) const {
  Value out = Value::emptyObject();
  for (const Member& m : current.members()) {
    const Value* j = joined.find(m.key);
    out.setMember(m.key, j != nullptr ? *j : m.value, arena);
  }
  for (const Member& m : joined.members()) {
    if (current.find(m.key) == nullptr) out.setMember(m.key, m.value, arena);
  }
  switch (mode_) {
    case Mode::Partial:
      if (!keep_partial_key_) out.removeMember(*partial_key_);
      break;
    case Mode::PartialMetadata:
      if (!keep_partial_metadata_) {
        for (const std::string* k : {&meta_message_, &meta_id_, &meta_ordinal_, &meta_last_}) out.removeMember(*k);
      }
      break;
    case Mode::PartialCri:
      if (!keep_partial_key_) out.removeMember(cri_logtag_key_);
      out.removeMember(cri_stream_key_);
      break;
    default:
      break;
  }
  return out;
}

void ConcatFilter::processOne(Stream& s, const Event& e, std::string_view text, Batch& batch, std::vector<Event>& out) {
  Arena& arena = batch.arena();
  int64_t first = 0;
  auto emitJoined = [&](int64_t time, Value joined) {
    out.push_back(Event{e.tag, use_first_timestamp_ ? first : time, finish(e.record, joined, arena), e.origin});
  };
  std::string scratch;
  switch (mode_) {
    case Mode::Lines:
      hold(s, e);
      if (int64_t(s.lines.size()) >= n_lines_) emitJoined(e.time_ns, flush(s, arena, &first));
      return;
    case Mode::Partial: {
      hold(s, e);
      if (textOf(e.record.find(*partial_key_), scratch) != *partial_value_) {
        Value joined = flush(s, arena, &first);
        joined.removeMember(*partial_key_);
        emitJoined(e.time_ns, joined);
      }
      return;
    }
    case Mode::PartialMetadata:
      hold(s, e);
      if (textOf(e.record.find(meta_last_), scratch) == "true") emitJoined(e.time_ns, flush(s, arena, &first));
      return;
    case Mode::PartialCri: {
      hold(s, e);
      std::string_view logtag = textOf(e.record.find(cri_logtag_key_), scratch);
      if (logtag.substr(0, logtag.find(':')) == "F") {
        Value joined = flush(s, arena, &first);
        joined.removeMember(cri_logtag_key_);
        emitJoined(e.time_ns, joined);
      }
      return;
    }
    case Mode::Regexp:
      break;
  }
  // Regexp mode: fluent-plugin-concat's process_regexp, case for case.
  int64_t time = e.time_ns;
  if (matches(start_, text)) {
    if (s.lines.empty()) {
      hold(s, e);
      if (matches(end_, text)) emitJoined(time, flush(s, arena, &first));
    } else {
      Value joined = flush(s, arena, &first);
      hold(s, e);  // the new first line
      emitJoined(time, joined);
      if (matches(end_, text)) emitJoined(time, flush(s, arena, &first));
    }
  } else if (matches(end_, text)) {
    hold(s, e);
    emitJoined(time, flush(s, arena, &first));
  } else if (s.lines.empty()) {
    if (start_ == nullptr) {
      hold(s, e);  // only an end regexp: every line waits for the end
    } else {
      out.push_back(e);
    }
  } else if (continuous_ == nullptr || matches(continuous_, text)) {
    hold(s, e);
  } else {
    Value joined = flush(s, arena, &first);
    if (use_first_timestamp_) time = first;
    out.push_back(Event{e.tag, time, finish(e.record, joined, arena), e.origin});
    out.push_back(Event{e.tag, time, e.record, e.origin});
  }
}

void ConcatFilter::process(Batch& batch) {
  if (batch.empty()) return;
  const int64_t now = Clock::system().nowNs();
  std::string scratch;
  std::lock_guard<std::mutex> lock(mu_);
  out_.clear();
  for (const Event& e : batch.events()) {
    const Value* v = e.record.find(key_);
    if (v == nullptr || isFluentLogTag(e.tag) ||
        (mode_ == Mode::Partial && e.record.find(*partial_key_) == nullptr) ||
        (mode_ == Mode::PartialMetadata && e.record.find(meta_indicator_) == nullptr)) {
      out_.push_back(e);
      continue;
    }
    if (mode_ == Mode::PartialCri && e.record.find(cri_logtag_key_) == nullptr) {
      batch.emitError(e, "concat: the record has no CRI logtag field");
      continue;
    }
    // The stream: "tag:<stream_identity_key value>" (or "tag:default"); Docker's partial id
    // is part of it in metadata mode.
    id_scratch_.assign(e.tag);
    id_scratch_ += ':';
    if (stream_key_) {
      id_scratch_ += textOf(e.record.find(*stream_key_), scratch);
    } else if (mode_ != Mode::PartialMetadata) {
      id_scratch_ += "default";
    }
    if (mode_ == Mode::PartialMetadata) id_scratch_ += textOf(e.record.find(meta_id_), scratch);
    auto it = streams_.find(std::string_view(id_scratch_));
    if (it == streams_.end()) {
      it = streams_.emplace(id_scratch_, std::make_unique<Stream>()).first;
      it->second->tag.assign(e.tag);
    }
    Stream& s = *it->second;
    s.updated_ns = now;
    std::string text_scratch;
    processOne(s, e, textOf(v, text_scratch), batch, out_);
  }
  // Streams are per container (tag, stream_identity_key): forget those idle for a minute with
  // nothing held, also when flush_interval is 0 (no timer), checked every 10 s.
  if (now >= next_sweep_ns_) {
    std::erase_if(streams_, [&](const auto& kv) {
      return kv.second->lines.empty() && now - kv.second->updated_ns > 60'000'000'000;
    });
    next_sweep_ns_ = now + 10'000'000'000;
  }
  batch.events().swap(out_);
}

size_t ConcatFilter::flushIdle(int64_t now_ns, bool all) {
  Batch flushed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = streams_.begin(); it != streams_.end();) {
      Stream& s = *it->second;
      const bool idle = now_ns - s.updated_ns >= flush_interval_ns_;
      if (!s.lines.empty() && (all || (flush_interval_ns_ > 0 && idle))) {
        int64_t first = 0;
        Value joined = flush(s, flushed.arena(), &first);
        // Fluentd: the time of the first record at stop, else `now` unless use_first_timestamp.
        flushed.add(flushed.arena().copy(s.tag), all || use_first_timestamp_ ? first : now_ns, joined);
      }
      if (s.lines.empty() && (all || idle)) {
        it = streams_.erase(it);  // idle and empty: its state goes
      } else {
        ++it;
      }
    }
  }
  if (flushed.empty()) return 0;
  const size_t n = flushed.size();
  timeouts_.add(n);
  log_.info(std::string(all ? "Flush remaining buffer: " : "Timeout flush: ") + std::to_string(n) + " records");
  if (timeout_sink_ == nullptr) {
    lost_.add(n);
    log_.error("Joined records flushed by " + std::string(all ? "the stop" : "flush_interval") +
               " have nowhere to go (no timeout_label, no <label @ERROR>): " + std::to_string(n) + " records lost");
    return n;
  }
  Status s = timeout_sink_->emit(flushed);
  if (!s) {
    lost_.add(n);
    log_.error("Joined records flushed by timeout were not accepted: " + std::to_string(n) + " records lost: " + s.message());
  }
  return n;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<ConcatFilter>(
      PluginKind::Filter, "concat",
      "Joins multi-line and partial records of one stream into one (fluent-plugin-concat).", kParams)
      .needing("n_lines 2\n");
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_concat
