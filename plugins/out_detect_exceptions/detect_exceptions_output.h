// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <re2/re2.h>

#include "core/clock.h"
#include "core/plugin_api.h"

namespace sluice::plugins::out_detect_exceptions {

struct DetectConfig {
  std::string message;
  std::string remove_tag_prefix;
  Duration multiline_flush_interval;
  StringList languages;
  int64_t max_lines = 1000;
  int64_t max_bytes = 0;
  std::string stream;
  std::string join_separator;
};

// The state machine of fluent-plugin-detect-exceptions (exception_detector.rb): per language,
// rules "in state S, a line matching P moves to state T". Immutable after build(); each
// accumulator keeps its own state.
class ExceptionDetector {
 public:
  enum class Verdict { NoTrace, StartTrace, InsideTrace, EndTrace };
  // `languages`: java, js, javascript, csharp, python, py, php, go, ruby, rb, dart, all
  // (empty = all). An unknown language is an error naming it.
  static Result<std::shared_ptr<const ExceptionDetector>> build(const std::vector<std::string>& languages);
  // Moves `state` for `line`; what the line is to a trace.
  Verdict update(int& state, std::string_view line) const;

 private:
  struct Target {
    const RE2* pattern;
    int to;
    bool anchored;  // has ^ or $: matched without the line's final "\n" (see transition)
  };
  bool transition(int& state, std::string_view line) const;
  std::vector<std::unique_ptr<RE2>> patterns_;
  std::vector<std::vector<Target>> rules_;  // by from-state
};

// fluent-plugin-detect-exceptions' `detect_exceptions` <match> output: records of one stream
// (tag, and the `stream` field) whose messages form a stack trace (Java, JS, C#, Python, PHP,
// Go, Ruby, Dart) are joined into the first one's record; every record is re-emitted into the
// router with the tag less `remove_tag_prefix.`. A trace is flushed when it ends, at max_lines
// or max_bytes, after multiline_flush_interval without one, and at stop.
// Threading: emit() runs on the input threads; the accumulators are guarded by one mutex taken
// once per batch, and events are re-emitted (on the calling thread) after it is released. A
// flush thread runs when multiline_flush_interval is set.
class DetectExceptionsOutput final : public Output, public EventSink {
 public:
  static Result<std::unique_ptr<DetectExceptionsOutput>> create(const DetectConfig& config, PluginContext& ctx);
  ~DetectExceptionsOutput() override;

  // sluice::Plugin
  Status start() override;
  void stop() override;
  // sluice::Output
  EventSink* asSink() override { return this; }
  // sluice::EventSink
  Status emit(Batch& batch) override;

  // Flushes traces begun `multiline_flush_interval` before `now_ns` (all with `all`). Called by
  // the flush thread and at stop; tests may call it.
  void flushOld(int64_t now_ns, bool all = false);

 private:
  struct Accumulator {
    std::string out_tag;
    Arena arena{1024};
    int state = 0;
    std::string field;  // the message field, learnt from the first record when `message` is ''
    Value first_record;
    int64_t first_time = 0;
    uint64_t first_origin = 0;
    std::vector<std::string_view> messages;  // in `arena`
    size_t bytes = 0;
    int64_t started_ns = 0;
    int64_t seen_ns = 0;  // last record, for forgetting idle streams
  };

  DetectExceptionsOutput(const DetectConfig& config, std::shared_ptr<const ExceptionDetector> detector,
                         EventSink* router, PluginContext& ctx);
  void push(Accumulator& acc, const Event& e, int64_t now, Batch& out);
  void flush(Accumulator& acc, Batch& out);
  void forceFlush(Accumulator& acc, Batch& out);
  void add(Accumulator& acc, const Event& e, std::string_view message, int64_t now);
  Status deliver(Batch& out);
  void flushLoop();

  const std::string message_field_;
  const std::string remove_prefix_;  // "<remove_tag_prefix>."
  const int64_t flush_interval_ns_;
  const size_t max_lines_;
  const size_t max_bytes_;
  const std::string stream_;
  const std::string separator_;
  const std::shared_ptr<const ExceptionDetector> detector_;
  EventSink* const router_;
  SourceLogger log_;
  Counter& traces_;
  Counter& looped_;

  std::mutex mu_;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<Accumulator>, Hash, std::equal_to<>> accumulators_;  // mu_
  std::string id_scratch_;  // mu_
  int64_t next_sweep_ns_ = 0;  // mu_: when idle empty accumulators are next forgotten

  std::mutex flush_mu_;
  std::condition_variable flush_cv_;
  bool stopping_ = false;  // flush_mu_
  std::thread flusher_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_detect_exceptions
