// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <re2/re2.h>

#include "core/clock.h"
#include "core/plugin_api.h"

namespace sluice::plugins::filter_concat {

// partial_metadata_format, bound at config time (enumMember): which log driver's field names.
enum class PartialMetadataFormat { DockerFluentd, DockerJournald, DockerJournaldLowercase };
inline constexpr Choice<PartialMetadataFormat> kPartialMetadataFormats[] = {
    {"docker-fluentd", PartialMetadataFormat::DockerFluentd},
    {"docker-journald", PartialMetadataFormat::DockerJournald},
    {"docker-journald-lowercase", PartialMetadataFormat::DockerJournaldLowercase}};

struct ConcatConfig {
  std::string key;
  std::string separator = "\n";  // the default: a newline (a table cell cannot show one)
  int64_t n_lines = -1;
  std::optional<std::string> multiline_start_regexp;
  std::optional<std::string> multiline_end_regexp;
  std::optional<std::string> continuous_line_regexp;
  std::optional<std::string> stream_identity_key;
  Duration flush_interval;
  std::optional<std::string> timeout_label;
  bool use_first_timestamp = false;
  std::optional<std::string> partial_key;
  std::optional<std::string> partial_value;
  bool keep_partial_key = false;
  bool use_partial_metadata = false;
  PartialMetadataFormat partial_metadata_format = PartialMetadataFormat::DockerFluentd;
  bool keep_partial_metadata = false;
  bool use_partial_cri_logtag = false;
  std::optional<std::string> partial_cri_logtag_key;
  std::string partial_cri_stream_key;
};

// fluent-plugin-concat: joins the `key` values of consecutive records of one stream (tag, and
// stream_identity_key) into one record — by count (n_lines), by regexps (multiline_start /
// _end / continuous_line), by a partial flag (partial_key = partial_value), by Docker's partial
// metadata, or by CRI's P/F logtag. A stream whose lines wait longer than flush_interval is
// flushed to timeout_label (or to @ERROR, as Fluentd's emit_error_event), and so is what is
// held at stop.
// Threading: process() runs on the input threads; the streams are guarded by one mutex taken
// once per batch. A timer thread (started by start()) flushes timed-out streams once a second.
class ConcatFilter final : public Filter {
 public:
  static Result<std::unique_ptr<ConcatFilter>> create(const ConcatConfig& config, PluginContext& ctx);
  ~ConcatFilter() override;

  // sluice::Plugin
  Status start() override;
  void stop() override;
  // sluice::Filter
  void process(Batch& batch) override;

  // Flushes the streams idle for flush_interval at `now_ns` (every stream with `all`) to the
  // timeout label or @ERROR. Called by the timer thread and at stop; tests call it with a time
  // of their choosing. Returns the number of records flushed.
  size_t flushIdle(int64_t now_ns, bool all = false);

  enum class Mode { Lines, Partial, PartialMetadata, PartialCri, Regexp };

 private:
  struct Line {
    std::string_view tag;  // in the stream's arena
    int64_t time_ns;
    Value record;  // deep copy in the stream's arena
  };
  struct Stream {
    std::string tag;
    Arena arena{1024};
    std::vector<Line> lines;
    int64_t updated_ns = 0;
  };
  // An event to add to the output: a record, or a flush of a stream (optionally keeping `keep`
  // as the stream's first line afterwards).
  struct Emit {
    int64_t time_ns;
    Value record;
  };

  ConcatFilter(const ConcatConfig& config, Mode mode, std::unique_ptr<RE2> start, std::unique_ptr<RE2> end,
               std::unique_ptr<RE2> continuous, EventSink* timeout_sink, PluginContext& ctx);
  // The joined record of `s`'s lines (first record, `key` joined) in `arena`; clears the lines.
  Value flush(Stream& s, Arena& arena, int64_t* first_time);
  void hold(Stream& s, const Event& e);
  // What Fluentd's filter_stream adds for one input event; false: pass the event through.
  void processOne(Stream& s, const Event& e, std::string_view text, Batch& batch, std::vector<Event>& out);
  Value finish(const Value& current, Value joined, Arena& arena) const;
  bool matches(const std::unique_ptr<RE2>& re, std::string_view text) const;
  void timerLoop();

  const std::string key_;
  const std::string separator_;
  const int64_t n_lines_;
  const Mode mode_;
  const std::unique_ptr<RE2> start_, end_, continuous_;
  const std::optional<std::string> stream_key_;
  const int64_t flush_interval_ns_;
  const bool use_first_timestamp_;
  const std::optional<std::string> partial_key_, partial_value_;
  const bool keep_partial_key_;
  std::string meta_message_, meta_id_, meta_ordinal_, meta_last_, meta_indicator_;
  const bool keep_partial_metadata_;
  const std::string cri_logtag_key_, cri_stream_key_;
  EventSink* const timeout_sink_;  // timeout_label, else @ERROR when defined, else nullptr
  SourceLogger log_;
  Counter& timeouts_;
  Counter& lost_;

  std::mutex mu_;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<Stream>, Hash, std::equal_to<>> streams_;  // guarded by mu_
  std::vector<Event> out_;   // guarded by mu_; reused per batch
  std::string id_scratch_;   // guarded by mu_
  int64_t next_sweep_ns_ = 0;  // guarded by mu_: when idle empty streams are next forgotten

  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool stopping_ = false;  // guarded by timer_mu_
  std::thread timer_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::filter_concat
