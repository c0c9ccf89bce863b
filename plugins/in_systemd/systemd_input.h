// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/plugin_api.h"
#include "plugins/in_systemd/entry_mutator.h"

typedef struct sd_journal sd_journal;

namespace sluice::plugins::in_systemd {

struct SystemdConfig {
  std::string path;
  std::optional<std::string> matches;
  bool read_from_head = false;
  std::string tag;
};

struct StorageConfig {
  std::string type;
  bool persistent = false;
  std::optional<std::string> path;
  bool autosave = true;
  Duration autosave_interval;
  bool save_at_shutdown = true;
};

// fluent-plugin-systemd's `systemd` input: reads the systemd journal with libsystemd's
// sd-journal (a directory of journal files, or one file), keeps entries that pass `matches`,
// turns each into a record (its fields, mapped by <entry>), and keeps the cursor of the last
// accepted entry in <storage path> as Fluentd's local storage does ({"journal":"<cursor>"}),
// rewritten atomically after each accepted batch. After a restart reading resumes after that
// entry: nothing lost, nothing read twice.
// Threading: run() on the input's own thread (it owns the sd_journal handle); create, start,
// checkState and stop on the main thread.
class SystemdInput final : public Input {
 public:
  static Result<std::unique_ptr<SystemdInput>> create(const SystemdConfig& config, PluginContext& ctx);
  ~SystemdInput() override;

  // sluice::Plugin
  Status start() override;
  Status checkState() override;
  // sluice::Input
  Status run(EventSink& out, const StopToken& stop) override;

  // One field=value clause of `matches`; clauses of one group are ANDed (libsystemd ORs two
  // values of one field), groups are ORed.
  using MatchGroup = std::vector<std::string>;
  static Result<std::vector<MatchGroup>> parseMatches(std::string_view json);
  // The cursor kept in a storage file: Fluentd's local storage JSON, or a bare cursor (the
  // plugin's old pos_file); "" when absent or unreadable.
  static std::string parseCursorFile(std::string_view text);

 private:
  SystemdInput(const SystemdConfig& config, std::vector<MatchGroup> matches, EntryMutator mutator,
               std::optional<std::string> cursor_path, PluginContext& ctx);

  bool open(const StopToken& stop);
  void close();
  void position();
  bool readEntry(Batch& batch);
  Status persist();

  const std::string path_;
  const std::string tag_;
  const bool read_from_head_;
  const std::vector<MatchGroup> matches_;
  const EntryMutator mutator_;
  const std::optional<std::string> cursor_path_;  // <storage path>, when kept on disk
  SourceLogger log_;
  Counter& errors_;

  // run()'s thread only:
  sd_journal* journal_ = nullptr;
  std::string committed_;         // cursor of the last accepted entry ("" = none yet)
  bool positioned_once_ = false;  // the start position (head or tail) was taken
  bool skip_committed_ = false;   // after a seek to committed_: the next entry may be it
  std::vector<Member> fields_;    // reused per entry
  std::vector<Member> scratch_;   // reused per entry by the mutator
  std::string open_error_;        // last reported open failure (reported once)
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::in_systemd
