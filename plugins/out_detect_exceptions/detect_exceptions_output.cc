// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_detect_exceptions/detect_exceptions_output.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <set>

namespace sluice::plugins::out_detect_exceptions {
namespace {

enum State : int {
  kStart,
  kJavaStartException, kJavaAfterException, kJava,
  kPython, kPythonCode,
  kPhpStackBegin, kPhpStackFrames,
  kGoAfterPanic, kGoAfterSignal, kGoGoroutine, kGoFrame1, kGoFrame2,
  kRubyBeforeRailsTrace, kRuby,
  kDartExc, kDartStack, kDartTypeErr1, kDartTypeErr2, kDartTypeErr3, kDartTypeErr4,
  kDartFormatErr1, kDartFormatErr2, kDartFormatErr3, kDartMethodErr1, kDartMethodErr2, kDartMethodErr3,
  kStates
};

struct RuleSpec {
  std::vector<int> from;
  const char* pattern;  // Ruby syntax, as in exception_detector.rb
  int to;
};

// The rules of fluent-plugin-detect-exceptions' ExceptionDetectorConfig, language by language.
const std::vector<RuleSpec>& javaRules() {
  static const std::vector<RuleSpec> r = {
      {{kStart, kJavaStartException}, R"((?:Exception|Error|Throwable|V8 errors stack trace)[:\r\n])", kJavaAfterException},
      {{kJavaAfterException}, R"(^[\t ]*nested exception is:[\t ]*$)", kJavaStartException},
      {{kJavaAfterException}, R"(^$)", kJavaAfterException},
      {{kJavaAfterException, kJava}, R"(^[\t ]+(?:eval )?at )", kJava},
      {{kJavaAfterException, kJava}, R"(^[\t ]*(?:Caused by|Suppressed):)", kJavaAfterException},
      {{kJavaAfterException, kJava}, R"(^[\t ]*... \d+ (?:more|common frames omitted)$)", kJava},
  };
  return r;
}
const std::vector<RuleSpec>& pythonRules() {
  static const std::vector<RuleSpec> r = {
      {{kStart}, R"(^Traceback \(most recent call last\):$)", kPython},
      {{kPython}, R"(^[\t ]+File )", kPythonCode},
      {{kPythonCode}, R"([^\t ])", kPython},
      {{kPython}, R"(^(?:[^\s.():]+\.)*[^\s.():]+:)", kStart},
  };
  return r;
}
const std::vector<RuleSpec>& phpRules() {
  static const std::vector<RuleSpec> r = {
      // The original is an /x regexp; the same without its spacing.
      {{kStart}, R"((?:PHP (?:Notice|Parse error|Fatal error|Warning):)|(?:exception '[^']+' with message '))", kPhpStackBegin},
      {{kPhpStackBegin}, R"(^Stack trace:)", kPhpStackFrames},
      {{kPhpStackFrames}, R"(^#\d)", kPhpStackFrames},
      {{kPhpStackFrames}, R"(^\s+thrown in )", kStart},
  };
  return r;
}
const std::vector<RuleSpec>& goRules() {
  static const std::vector<RuleSpec> r = {
      {{kStart}, R"(\bpanic: )", kGoAfterPanic},
      {{kGoAfterPanic, kGoAfterSignal, kGoFrame1}, R"(^$)", kGoGoroutine},
      {{kGoAfterPanic}, R"(^\[signal )", kGoAfterSignal},
      {{kGoGoroutine}, R"(^goroutine \d+ \[[^\]]+\]:$)", kGoFrame1},
      {{kGoFrame1}, R"(^(?:[^\s.:]+\.)*[^\s.():]+\(|^created by )", kGoFrame2},
      {{kGoFrame2}, R"(^\s)", kGoFrame1},
  };
  return r;
}
const std::vector<RuleSpec>& rubyRules() {
  static const std::vector<RuleSpec> r = {
      {{kStart}, R"(Error \(.*\):$)", kRubyBeforeRailsTrace},
      {{kRubyBeforeRailsTrace}, R"(^  $)", kRuby},
      {{kRubyBeforeRailsTrace}, R"(^[\t ]+.*?\.rb:\d+:in `)", kRuby},
      {{kRuby}, R"(^[\t ]+.*?\.rb:\d+:in `)", kRuby},
  };
  return r;
}
const std::vector<RuleSpec>& dartRules() {
  static const std::vector<RuleSpec> r = {
      {{kStart}, R"(^Unhandled exception:$)", kDartExc},
      {{kDartExc}, R"(^Instance of)", kDartStack},
      {{kDartExc}, R"(^Exception)", kDartStack},
      {{kDartExc}, R"(^Bad state)", kDartStack},
      {{kDartExc}, R"(^IntegerDivisionByZeroException)", kDartStack},
      {{kDartExc}, R"(^Invalid argument)", kDartStack},
      {{kDartExc}, R"(^RangeError)", kDartStack},
      {{kDartExc}, R"(^Assertion failed)", kDartStack},
      {{kDartExc}, R"(^Cannot instantiate)", kDartStack},
      {{kDartExc}, R"(^Reading static variable)", kDartStack},
      {{kDartExc}, R"(^UnimplementedError)", kDartStack},
      {{kDartExc}, R"(^Unsupported operation)", kDartStack},
      {{kDartExc}, R"(^Concurrent modification)", kDartStack},
      {{kDartExc}, R"(^Out of Memory)", kDartStack},
      {{kDartExc}, R"(^Stack Overflow)", kDartStack},
      {{kDartExc}, R"(^'.+?':.+?$)", kDartTypeErr1},
      {{kDartTypeErr1}, R"(^#\d+\s+.+?\(.+?\)$)", kDartStack},
      {{kDartTypeErr1}, R"(^.+?$)", kDartTypeErr2},
      {{kDartTypeErr2}, R"(^.*?\^.*?$)", kDartTypeErr3},
      {{kDartTypeErr3}, R"(^$)", kDartTypeErr4},
      {{kDartTypeErr4}, R"(^$)", kDartStack},
      {{kDartExc}, R"(^FormatException)", kDartFormatErr1},
      {{kDartFormatErr1}, R"(^#\d+\s+.+?\(.+?\)$)", kDartStack},
      {{kDartFormatErr1}, R"(^.)", kDartFormatErr2},
      {{kDartFormatErr2}, R"(^.*?\^)", kDartFormatErr3},
      {{kDartFormatErr3}, R"(^$)", kDartStack},
      {{kDartExc}, R"(^NoSuchMethodError:)", kDartMethodErr1},
      {{kDartMethodErr1}, R"(^Receiver:)", kDartMethodErr2},
      {{kDartMethodErr2}, R"(^Tried calling:)", kDartMethodErr3},
      {{kDartMethodErr3}, R"(^Found:)", kDartStack},
      {{kDartMethodErr3}, R"(^#\d+\s+.+?\(.+?\)$)", kDartStack},
      {{kDartStack}, R"(^#\d+\s+.+?\(.+?\)$)", kDartStack},
      {{kDartStack}, R"(^<asynchronous suspension>$)", kDartStack},
  };
  return r;
}

// RULES_BY_LANG; `all` is every group in the gem's order.
std::vector<const std::vector<RuleSpec>*> rulesOf(std::string lang) {
  std::transform(lang.begin(), lang.end(), lang.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lang == "java" || lang == "javascript" || lang == "js" || lang == "csharp") return {&javaRules()};
  if (lang == "py" || lang == "python") return {&pythonRules()};
  if (lang == "php") return {&phpRules()};
  if (lang == "go") return {&goRules()};
  if (lang == "rb" || lang == "ruby") return {&rubyRules()};
  if (lang == "dart") return {&dartRules()};
  if (lang == "all") return {&javaRules(), &pythonRules(), &phpRules(), &goRules(), &rubyRules(), &dartRules()};
  return {};
}

const std::array<Param<DetectConfig>, 8> kParams = {{
    {"message", &DetectConfig::message, "",
     "The field holding the line; empty: `message` or `log`, whichever the stream's first record has."},
    {"remove_tag_prefix", &DetectConfig::remove_tag_prefix, "",
     "Re-emit with the tag less this prefix and its dot (`raw.kubernetes.x` -> `kubernetes.x` for `raw`)."},
    {"multiline_flush_interval", &DetectConfig::multiline_flush_interval, "0",
     "Flush a trace this long after its first line even if it has not ended; 0: only when it ends."},
    {"languages", &DetectConfig::languages, "",
     "Languages whose traces are detected: java, js, javascript, csharp, python, py, php, go, ruby, rb, dart, all "
     "(empty: all)."},
    {"max_lines", &DetectConfig::max_lines, "1000", "Flush a trace at this many lines (0: no limit)."},
    {"max_bytes", &DetectConfig::max_bytes, "0", "Flush a trace before it would exceed this many bytes (0: no limit)."},
    {"stream", &DetectConfig::stream, "", "Records with different values of this field are separate streams."},
    {"join_separator", &DetectConfig::join_separator, "", "Put between the joined lines (they usually end in \\n)."},
}};

constexpr int64_t kForgetIdleNs = 60'000'000'000;

// A ^ outside "[^", or a $.
bool anchoredPattern(std::string_view p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '$' || (p[i] == '^' && (i == 0 || p[i - 1] != '['))) return true;
  }
  return false;
}

}  // namespace

Result<std::shared_ptr<const ExceptionDetector>> ExceptionDetector::build(const std::vector<std::string>& languages) {
  auto d = std::make_shared<ExceptionDetector>();
  d->rules_.resize(kStates);
  std::vector<std::string> langs = languages.empty() ? std::vector<std::string>{"all"} : languages;
  std::set<std::pair<const RuleSpec*, int>> seen;  // Ruby's uniq! of (pattern, to_state) per state
  std::vector<std::pair<const RuleSpec*, const RE2*>> compiled;
  for (const std::string& lang : langs) {
    auto groups = rulesOf(lang);
    if (groups.empty()) return Status::invalidConfig("languages: unknown language '" + lang + "'");
    for (const auto* group : groups) {
      for (const RuleSpec& rule : *group) {
        const RE2* re = nullptr;
        for (const auto& [spec, r] : compiled) {
          if (spec == &rule) re = r;
        }
        if (re == nullptr) {
          auto c = compileRubyRegex(rule.pattern);
          if (!c) return c.status().withPrefix(std::string("exception rule ") + rule.pattern + ": ");
          d->patterns_.push_back(std::move(*c));
          re = d->patterns_.back().get();
          compiled.emplace_back(&rule, re);
        }
        for (int from : rule.from) {
          if (seen.insert({&rule, from}).second) d->rules_[size_t(from)].push_back(Target{re, rule.to, anchoredPattern(rule.pattern)});
        }
      }
    }
  }
  return std::shared_ptr<const ExceptionDetector>(std::move(d));
}

bool ExceptionDetector::transition(int& state, std::string_view line) const {
  // Ruby's ^ never matches at the end of a text that ends in "\n" (Onigmo), RE2's multi-line
  // ^ does: "  at x\n" would match /^$/. Anchored rules therefore see the line without its final
  // "\n" (their $ matches at the end either way); the others see it whole (Java's first rule
  // looks for "Exception" followed by ':' or a line break).
  re2::StringPiece whole(line.data(), line.size());
  re2::StringPiece cut(line.data(), line.ends_with('\n') ? line.size() - 1 : line.size());
  for (const Target& t : rules_[size_t(state)]) {
    if (RE2::PartialMatch(t.anchored ? cut : whole, *t.pattern)) {
      state = t.to;
      return true;
    }
  }
  state = kStart;
  return false;
}

ExceptionDetector::Verdict ExceptionDetector::update(int& state, std::string_view line) const {
  const bool was_start = state == kStart;
  const bool before = transition(state, line);
  // Back at the start for want of a rule: the line may begin another trace. (From the start
  // state itself the second try would repeat the first: skipped, same answer, half the work.)
  if (!before && !was_start) transition(state, line);
  const bool after = state != kStart;
  if (before && after) return Verdict::InsideTrace;
  if (before) return Verdict::EndTrace;
  if (after) return Verdict::StartTrace;
  return Verdict::NoTrace;
}

Result<std::unique_ptr<DetectExceptionsOutput>> DetectExceptionsOutput::create(const DetectConfig& config,
                                                                               PluginContext& ctx) {
  if (config.max_lines < 0 || config.max_bytes < 0) return Status::invalidConfig("max_lines and max_bytes must be 0 or more");
  auto detector = ExceptionDetector::build(config.languages);
  if (!detector) return detector.takeStatus();
  auto router = ctx.labelSink("");
  if (!router) return router.takeStatus();
  return std::unique_ptr<DetectExceptionsOutput>(new DetectExceptionsOutput(config, std::move(*detector), *router, ctx));
}

DetectExceptionsOutput::DetectExceptionsOutput(const DetectConfig& c, std::shared_ptr<const ExceptionDetector> detector,
                                               EventSink* router, PluginContext& ctx)
    : message_field_(c.message),
      remove_prefix_(c.remove_tag_prefix + "."),
      flush_interval_ns_(c.multiline_flush_interval.nanos()),
      max_lines_(static_cast<size_t>(c.max_lines)),
      max_bytes_(static_cast<size_t>(c.max_bytes)),
      stream_(c.stream),
      separator_(c.join_separator),
      detector_(std::move(detector)),
      router_(router),
      log_(ctx.log()),
      traces_(ctx.metrics().pluginCounter("joined_traces_total", "Stack traces joined into one record.")),
      looped_(ctx.metrics().counter("discarded_records_total", "Events dropped: re-emitted into themselves 32 times over.",
                                    {{"intentional", "false"}})) {}

DetectExceptionsOutput::~DetectExceptionsOutput() { stop(); }

Status DetectExceptionsOutput::start() {
  if (flush_interval_ns_ > 0 && !flusher_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(flush_mu_);
      stopping_ = false;
    }
    flusher_ = std::thread([this] { flushLoop(); });
  }
  return Status::ok();
}

void DetectExceptionsOutput::stop() {
  if (flusher_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(flush_mu_);
      stopping_ = true;
    }
    flush_cv_.notify_all();
    flusher_.join();
  }
  flushOld(0, true);  // Fluentd flushes the buffers before shutdown
}

void DetectExceptionsOutput::flushLoop() {
  // Fluentd checks every tenth of the interval, at least every second.
  const auto period = std::chrono::nanoseconds(std::max<int64_t>(flush_interval_ns_ / 10, 1'000'000'000));
  std::unique_lock<std::mutex> lock(flush_mu_);
  while (!stopping_) {
    flush_cv_.wait_for(lock, period);
    if (stopping_) break;
    lock.unlock();
    flushOld(Clock::system().nowNs());
    lock.lock();
  }
}

void DetectExceptionsOutput::add(Accumulator& acc, const Event& e, std::string_view message, int64_t now) {
  if (acc.messages.empty()) {
    acc.first_record = e.record.deepCopy(acc.arena);
    acc.first_time = e.time_ns;
    acc.first_origin = e.origin;
    acc.started_ns = now;
  }
  acc.messages.push_back(acc.arena.copy(message));
  acc.bytes += message.size();
}

void DetectExceptionsOutput::flush(Accumulator& acc, Batch& out) {
  if (acc.messages.empty()) return;
  Arena& arena = out.arena();
  std::string_view tag = arena.copy(acc.out_tag);
  if (acc.messages.size() == 1) {
    out.add(tag, acc.first_time, acc.first_record.deepCopy(arena), acc.first_origin);
  } else {
    size_t size = 0;
    for (std::string_view m : acc.messages) size += m.size();
    size += separator_.size() * (acc.messages.size() - 1);
    char* p = static_cast<char*>(arena.allocate(size ? size : 1, 1));
    size_t at = 0;
    for (size_t i = 0; i < acc.messages.size(); ++i) {
      if (i) {
        std::memcpy(p + at, separator_.data(), separator_.size());
        at += separator_.size();
      }
      std::memcpy(p + at, acc.messages[i].data(), acc.messages[i].size());
      at += acc.messages[i].size();
    }
    Value record = acc.first_record.deepCopy(arena);
    record.setMember(acc.field, Value::string(std::string_view(p, size)), arena);
    out.add(tag, acc.first_time, record, acc.first_origin);
    traces_.add(1);
  }
  acc.messages.clear();
  acc.bytes = 0;
  acc.arena.reset();
  acc.first_record = Value();
}

void DetectExceptionsOutput::forceFlush(Accumulator& acc, Batch& out) {
  flush(acc, out);
  acc.state = 0;
}

// TraceAccumulator#push and #update_buffer.
void DetectExceptionsOutput::push(Accumulator& acc, const Event& e, int64_t now, Batch& out) {
  if (acc.field.empty()) {
    for (const char* f : {"message", "log"}) {  // DEFAULT_FIELDS, learnt once
      if (e.record.find(f) != nullptr) {
        acc.field = f;
        break;
      }
    }
  }
  const Value* m = acc.field.empty() ? nullptr : e.record.find(acc.field);
  std::string_view message;
  bool has_message = m != nullptr && m->isString();
  ExceptionDetector::Verdict status = ExceptionDetector::Verdict::NoTrace;
  if (!has_message) {
    acc.state = 0;
  } else {
    message = m->asString();
    if (max_bytes_ > 0 && acc.bytes + message.size() > max_bytes_) forceFlush(acc, out);
    status = detector_->update(acc.state, message);
  }
  using S = ExceptionDetector::Verdict;
  const bool trigger = status == S::NoTrace || status == S::EndTrace;
  if (acc.messages.empty() && trigger) {
    out.add(out.arena().copy(acc.out_tag), e.time_ns, e.record, e.origin);
  } else {
    switch (status) {
      case S::InsideTrace:
        if (has_message) add(acc, e, message, now);
        break;
      case S::EndTrace:
        if (has_message) add(acc, e, message, now);
        flush(acc, out);
        break;
      case S::NoTrace:
        flush(acc, out);
        out.add(out.arena().copy(acc.out_tag), e.time_ns, e.record, e.origin);  // add + flush of one line
        break;
      case S::StartTrace:
        flush(acc, out);
        add(acc, e, message, now);
        break;
    }
  }
  if (max_lines_ > 0 && acc.messages.size() == max_lines_) forceFlush(acc, out);
}

Status DetectExceptionsOutput::deliver(Batch& out) {
  thread_local int depth = 0;
  if (out.empty()) return Status::ok();
  if (depth >= 32) {
    looped_.add(out.size());
    log_.error("Events re-emitted into detect_exceptions 32 times over (set remove_tag_prefix so the tag changes); " +
               std::to_string(out.size()) + " events dropped. tag=" + std::string(out.events()[0].tag));
    return Status::ok();
  }
  ++depth;
  Status s = router_->emit(out);
  --depth;
  return s;
}

Status DetectExceptionsOutput::emit(Batch& batch) {
  if (batch.empty()) return Status::ok();
  Batch out;  // its arena holds the new tags and joined records; one per call (re-entrant)
  out.setAck(batch.ack());
  const int64_t now = Clock::system().nowNs();
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::string_view last_tag;
    for (const Event& e : batch.events()) {
      id_scratch_.assign(e.tag);
      if (!stream_.empty()) {
        id_scratch_ += '\0';
        if (const Value* v = e.record.find(stream_); v != nullptr && v->isString()) {
          id_scratch_ += v->asString();
        } else if (v != nullptr) {
          appendJson(id_scratch_, *v);
        }
      }
      auto it = accumulators_.find(std::string_view(id_scratch_));
      if (it == accumulators_.end()) {
        auto acc = std::make_unique<Accumulator>();
        acc->field = message_field_;
        std::string_view tag = e.tag;
        if (tag.starts_with(remove_prefix_)) tag.remove_prefix(remove_prefix_.size());
        acc->out_tag.assign(tag);
        it = accumulators_.emplace(id_scratch_, std::move(acc)).first;
      }
      it->second->seen_ns = now;
      push(*it->second, e, now, out);
    }
    // Tags carry container names: forget streams idle for a minute with nothing held, so a
    // node's churn of pods does not grow the map for months (checked every 10 s).
    if (now >= next_sweep_ns_) {
      std::erase_if(accumulators_, [&](const auto& kv) {
        return kv.second->messages.empty() && now - kv.second->seen_ns > kForgetIdleNs;
      });
      next_sweep_ns_ = now + 10'000'000'000;
    }
  }
  return deliver(out);
}

void DetectExceptionsOutput::flushOld(int64_t now_ns, bool all) {
  Batch out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, acc] : accumulators_) {
      if (!acc->messages.empty() && (all || now_ns - acc->started_ns > flush_interval_ns_)) forceFlush(*acc, out);
    }
  }
  Status s = deliver(out);
  if (!s) log_.error("Flushed traces were not accepted: " + s.message());
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<DetectExceptionsOutput>(
      PluginKind::Output, "detect_exceptions",
      "Joins multi-line stack traces into one record and re-emits every record (fluent-plugin-detect-exceptions).",
      kParams).inPipelineOnly();
  return kDescriptor;
}

}  // namespace sluice::plugins::out_detect_exceptions
