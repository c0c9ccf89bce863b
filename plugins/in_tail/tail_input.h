// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/clock.h"
#include "core/plugin_api.h"
#include "plugins/in_tail/tail_encoding.h"
#include "plugins/in_tail/tail_group.h"

namespace sluice::plugins::in_tail {

struct TailConfig {
  std::string path;
  StringList exclude_path;
  std::optional<std::string> pos_file;
  Duration pos_file_compaction_interval;
  std::string tag;
  bool read_from_head = false;
  Duration refresh_interval;
  Duration rotate_wait;
  bool follow_inodes = false;
  bool enable_stat_watcher = true;
  bool enable_watch_timer = true;
  int64_t read_lines_limit = 1000;
  ByteSize read_bytes_limit_per_second;
  ByteSize max_line_size;
  bool skip_refresh_on_startup = false;
  std::optional<std::string> path_key;
  bool ignore_repeated_permission_error = false;
  Duration limit_recently_modified;
  Duration multiline_flush_interval;
  StringList symlink_roots;
  bool emit_unmatched_lines = false;
  std::optional<std::string> encoding;
  std::optional<std::string> from_encoding;
  std::optional<std::string> path_timezone;
  // Fluentd v0.12's parser parameters written beside the tail (Fluentd v1 still reads them, its
  // compat_parameters): with no <parse> section, the tail builds one from them.
  std::optional<std::string> format, time_format, time_key, keep_time_key, types, keys, delimiter, label_delimiter, message_key, format_firstline, json_parser, null_empty_string, null_value_pattern, with_priority, message_format, rfc5424_time_format, localtime, utc;
};

// Fluentd's in_tail: follows files matching `path` (inotify plus a stat timer), survives
// rotation by rename (the kubelet's), copytruncate, delete-and-recreate, and restarts, and
// records its position in a Fluentd-format pos_file that advances only after the events before
// it were accepted downstream.
// Threads: create() and start() run on the engine's thread; run() on the input's own thread,
// which reads every file of the input (tail_run.h) until the stop token fires.
class TailInput final : public Input {
 public:
  static Result<std::unique_ptr<TailInput>> create(const TailConfig& config, PluginContext& ctx);

  // sluice::Input
  Status run(EventSink& out, const StopToken& stop) override;
  // sluice::Plugin: raises the soft RLIMIT_NOFILE to the hard limit (once per process) and
  // logs the figure. Called on the engine's thread before data flows.
  Status start() override;

  const TailConfig& config() const { return config_; }
  const Parser& parser() const { return *parser_; }
  const std::vector<std::string>& patterns() const { return patterns_; }
  // `patterns` (or `exclude`) with their strftime placeholders expanded for `now_ns`, in
  // path_timezone (the process's zone without it). Patterns without `%` are returned as they are.
  std::vector<std::string> expandPaths(const std::vector<std::string>& patterns, int64_t now_ns) const;
  const SourceLogger& log() const { return log_; }
  // encoding/from_encoding, resolved (convert is false when lines are kept as read).
  const EncodingSpec& encoding() const { return encoding_; }
  // The <group> rules, or nullptr without a <group>.
  const GroupRules* groups() const { return groups_.get(); }
  // The time every timer of the input runs on: the context's (the system's, or a test's
  // ManualClock).
  Clock& clock() const { return *clock_; }
  // "kubernetes.*" + "/var/log/containers/a.log" → "kubernetes.var.log.containers.a.log"
  std::string tagFor(const std::string& path) const;

  struct Metrics {
    Counter* read_lines;
    Counter* read_bytes;
    Counter* parse_errors;
    Counter* skipped_long_lines;
    Counter* rotations;
    Counter* truncations;
    Gauge* watched_files;
    Gauge* lag_bytes;      // bytes written to the followed files and not read yet
    Counter* lost_bytes;   // bytes of files gone before they were read (where the length is known)
    Counter* lost_files;   // files gone (deleted, unreadable) before they were read to the end
    Counter* fd_cycles;    // files closed to free a descriptor for another (reading in turns)
    Counter* refused_files;  // paths resolving outside the folders symlinks may lead into
  };
  const Metrics& metrics() const { return metrics_; }

 private:
  TailInput(const TailConfig& config, std::unique_ptr<config::Element> compat_parse, ParserPtr parser,
            std::vector<std::string> patterns, EncodingSpec encoding, std::unique_ptr<GroupRules> groups,
            PluginContext& ctx);

  const TailConfig config_;
  // The <parse> section built from v0.12 parameters (nullptr with a written one): the parser's
  // instance refers to it, so it lives as long as the input.
  const std::unique_ptr<config::Element> compat_parse_;
  const ParserPtr parser_;
  const std::vector<std::string> patterns_;
  const SourceLogger log_;
  const EncodingSpec encoding_;
  const std::unique_ptr<GroupRules> groups_;
  std::optional<int32_t> path_offset_s_;  // path_timezone, seconds east of UTC
  Clock* clock_;
  Metrics metrics_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::in_tail
