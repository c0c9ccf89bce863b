// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_systemd/systemd_input.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace sluice::plugins::in_systemd {
namespace {

// Entries per batch: enough to amortise the emit and the cursor write, small enough that a
// batch's arena stays in cache.
constexpr size_t kMaxBatch = 1024;

const std::array<Param<SystemdConfig>, 4> kParams = {{
    {"path", &SystemdConfig::path, "/var/log/journal", "Folder of journal files (or one journal file) to read."},
    {"matches", &SystemdConfig::matches, nullptr,
     "JSON array of hashes: fields of one hash must all match, any hash may match; an array value matches any of its "
     "values (journalctl's FIELD=value and `+`). Default: every entry.",
     {}, 0, "filters"},
    {"read_from_head", &SystemdConfig::read_from_head, "false",
     "Without a stored cursor, read the whole journal; otherwise only entries written after start-up."},
    {"tag", &SystemdConfig::tag, nullptr, "Tag of the events.", {}, kRequired},
}};

const std::array<Param<StorageConfig>, 6> kStorageParams = {{
    {"@type", &StorageConfig::type, "local", "Storage plugin: only `local` (a JSON file).", "local"},
    {"persistent", &StorageConfig::persistent, "false",
     "Keep the cursor on disk (needs path). sluice also keeps it on disk whenever path is set."},
    {"path", &StorageConfig::path, nullptr,
     "File holding the cursor as {\"journal\":\"<cursor>\"}, rewritten atomically after each accepted batch."},
    {"autosave", &StorageConfig::autosave, "true", "Fluentd saves the storage periodically; sluice saves after every batch.", {}, kIgnored},
    {"autosave_interval", &StorageConfig::autosave_interval, "10s", "Fluentd's save period; sluice saves after every batch.", {}, kIgnored},
    {"save_at_shutdown", &StorageConfig::save_at_shutdown, "true", "sluice's cursor is always current on disk.", {}, kIgnored},
}};

const std::array<Param<EntryConfig>, 4> kEntryParams = {{
    {"field_map", &EntryConfig::field_map, nullptr,
     "JSON hash of source field to new field (or array of new fields); several sources of one new field are joined "
     "with a space."},
    {"field_map_strict", &EntryConfig::field_map_strict, "false", "Keep only the fields field_map produces."},
    {"fields_strip_underscores", &EntryConfig::fields_strip_underscores, "false",
     "Strip leading underscores from the names of fields not in field_map."},
    {"fields_lowercase", &EntryConfig::fields_lowercase, "false", "Lowercase the names of fields not in field_map."},
}};

bool validFieldName(std::string_view name) {
  // journald's rule (journal-file.c): A-Z, 0-9 and '_', not starting with a digit, at most 64.
  if (name.empty() || name.size() > 64 || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

std::string errnoText(int r) { return std::strerror(r < 0 ? -r : r); }

std::string parentOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The nearest existing folder above `file` must be writable (folders below it are created).
Status checkStorageWritable(const std::string& file) {
  struct stat st;
  if (::stat(file.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::invalidConfig("<storage> path " + file + " is a directory");
  }
  for (std::string dir = parentOf(file);; dir = parentOf(dir)) {
    if (::stat(dir.c_str(), &st) == 0) {
      // A file created and removed, as root passes access() on a read-only folder.
      std::string probe = dir + "/.sluice-write-check-" + std::to_string(::getpid());
      int fd = S_ISDIR(st.st_mode) ? ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
      if (fd >= 0 || (S_ISDIR(st.st_mode) && errno == EEXIST)) {
        if (fd >= 0) {
          ::close(fd);
          ::unlink(probe.c_str());
        }
        return Status::ok();
      }
      return Status::invalidConfig("<storage> path " + file + " cannot be written: " + dir +
                                   " is not a writable folder; the journal cursor could not be kept and entries "
                                   "would be read again after a restart");
    }
    if (dir == "/" || dir == ".") return Status::ok();
  }
}

}  // namespace

Result<std::vector<SystemdInput::MatchGroup>> SystemdInput::parseMatches(std::string_view json) {
  std::vector<MatchGroup> groups;
  Arena arena;
  auto parsed = parseJson(json, arena);
  const char* shape = "matches must be a JSON array of hashes, like [{\"_SYSTEMD_UNIT\": \"kubelet.service\"}]";
  if (!parsed || !parsed->isArray()) return Status::invalidConfig(shape);
  for (const Value& group : parsed->items()) {
    if (!group.isObject()) return Status::invalidConfig(shape);
    MatchGroup g;
    for (const Member& m : group.members()) {
      if (!validFieldName(m.key)) {
        return Status::invalidConfig("matches: '" + std::string(m.key) +
                                     "' is not a journal field name (A-Z, 0-9 and _, not starting with a digit)");
      }
      auto add = [&](const Value& v) -> Status {
        if (v.isString()) {
          g.push_back(std::string(m.key) + "=" + std::string(v.asString()));
        } else if (v.isInt() || v.isBool() || v.isDouble()) {
          g.push_back(std::string(m.key) + "=" + toJson(v));  // Ruby's to_s of 28097
        } else {
          return Status::invalidConfig("matches: the value of " + std::string(m.key) +
                                       " must be a string, a number or an array of them");
        }
        return Status::ok();
      };
      if (m.value.isArray()) {
        for (const Value& v : m.value.items()) {
          Status s = add(v);
          if (!s) return s;
        }
      } else {
        Status s = add(m.value);
        if (!s) return s;
      }
    }
    if (!g.empty()) groups.push_back(std::move(g));
  }
  return groups;
}

std::string SystemdInput::parseCursorFile(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) text.remove_prefix(1);
  if (text.empty()) return "";
  if (text.front() != '{') return std::string(text);  // the old pos_file: the cursor alone
  Arena arena;
  auto parsed = parseJson(text, arena);
  if (!parsed || !parsed->isObject()) return "";
  const Value* cursor = parsed->find("journal");
  return cursor != nullptr && cursor->isString() ? std::string(cursor->asString()) : "";
}

Result<std::unique_ptr<SystemdInput>> SystemdInput::create(const SystemdConfig& config, PluginContext& ctx) {
  std::vector<MatchGroup> matches;
  if (config.matches) {
    auto m = parseMatches(*config.matches);
    if (!m) return m.takeStatus();
    matches = std::move(*m);
  }
  EntryConfig entry;
  std::optional<std::string> cursor_path;
  for (const config::Element& e : ctx.element().elements) {
    if (e.name == "entry") {
      Status s = ctx.bind(std::span<const Param<EntryConfig>>(kEntryParams), e, entry);
      if (!s) return s;
    } else if (e.name == "storage") {
      StorageConfig storage;
      Status s = ctx.bind(std::span<const Param<StorageConfig>>(kStorageParams), e, storage);
      if (!s) return s;
      if (storage.persistent && !storage.path) {
        return Status::invalidConfig(e.where.str() + ": <storage> persistent true needs a path");
      }
      cursor_path = storage.path;
    }
  }
  auto mutator = EntryMutator::create(entry);
  if (!mutator) return mutator.takeStatus();
  return std::unique_ptr<SystemdInput>(
      new SystemdInput(config, std::move(matches), std::move(*mutator), std::move(cursor_path), ctx));
}

SystemdInput::SystemdInput(const SystemdConfig& config, std::vector<MatchGroup> matches, EntryMutator mutator,
                           std::optional<std::string> cursor_path, PluginContext& ctx)
    : path_(config.path),
      tag_(config.tag),
      read_from_head_(config.read_from_head),
      matches_(std::move(matches)),
      mutator_(std::move(mutator)),
      cursor_path_(std::move(cursor_path)),
      log_(ctx.log()),
      errors_(ctx.metrics().counter("errors_total", "Journal read and cursor write failures.",
                                    {{"error_type", "journal"}, {"stage", "read"}})) {}

SystemdInput::~SystemdInput() { close(); }

Status SystemdInput::checkState() {
  return cursor_path_ ? checkStorageWritable(*cursor_path_) : Status::ok();
}

Status SystemdInput::start() {
  Status s = checkState();
  if (!s) return s;
  if (cursor_path_) {
    int fd = ::open(cursor_path_->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      std::string text;
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
      ::close(fd);
      committed_ = parseCursorFile(text);
      if (committed_.empty() && !text.empty()) {
        log_.warn("The storage file " + *cursor_path_ + " holds no journal cursor; reading from " +
                  (read_from_head_ ? "head" : "tail"));
      }
    }
  }
  return Status::ok();
}

bool SystemdInput::open(const StopToken& stop) {
  struct stat st;
  int r;
  if (::stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    const char* files[] = {path_.c_str(), nullptr};
    r = sd_journal_open_files(&journal_, files, 0);
  } else {
    r = sd_journal_open_directory(&journal_, path_.c_str(), 0);
  }
  if (r < 0) {
    journal_ = nullptr;
    std::string why = "Cannot open the journal at " + path_ + ": " + errnoText(r) + "; retrying every second";
    if (why != open_error_) log_.warn(why);
    open_error_ = why;
    errors_.add(1);
    stop.sleepFor(1.0);
    return false;
  }
  open_error_.clear();
  sd_journal_set_data_threshold(journal_, 0);  // whole fields, never truncated at 64 KiB
  for (size_t g = 0; g < matches_.size(); ++g) {
    if (g > 0) sd_journal_add_disjunction(journal_);
    for (const std::string& clause : matches_[g]) sd_journal_add_match(journal_, clause.data(), clause.size());
  }
  sd_journal_get_fd(journal_);  // sets up inotify before the first wait, as sd_journal_get_fd(3) advises
  position();
  return true;
}

void SystemdInput::close() {
  if (journal_ != nullptr) sd_journal_close(journal_);
  journal_ = nullptr;
}

void SystemdInput::position() {
  skip_committed_ = false;
  if (!committed_.empty()) {
    int r = sd_journal_seek_cursor(journal_, committed_.c_str());
    if (r >= 0) {
      skip_committed_ = true;
      return;
    }
    log_.warn("Could not seek to cursor " + committed_ + " found in " + cursor_path_.value_or("memory") +
              ", falling back to reading from " + (read_from_head_ ? "head" : "tail"));
    committed_.clear();
    positioned_once_ = false;
  }
  // The start position is taken once: a later reopen (after a refused batch) without an
  // accepted entry yet re-reads from the head, which held no entry past the tail taken then.
  if (read_from_head_ || positioned_once_) {
    sd_journal_seek_head(journal_);
  } else {
    sd_journal_seek_tail(journal_);
    if (sd_journal_previous(journal_) > 0) {
      char* cursor = nullptr;
      if (sd_journal_get_cursor(journal_, &cursor) >= 0) {
        committed_ = cursor;
        std::free(cursor);
        skip_committed_ = false;  // already standing on it: next() moves past it
        Status s = persist();
        if (!s) log_.error(s.message());
      }
    }
  }
  positioned_once_ = true;
}

bool SystemdInput::readEntry(Batch& batch) {
  uint64_t usec = 0;
  sd_journal_get_realtime_usec(journal_, &usec);
  uint64_t mono = 0;
  sd_id128_t boot;
  std::memset(&boot, 0, sizeof boot);
  sd_journal_get_monotonic_usec(journal_, &mono, &boot);
  Arena& arena = batch.arena();
  fields_.clear();
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the fields: part of the event's origin
  const void* data;
  size_t length;
  sd_journal_restart_data(journal_);
  int r;
  while ((r = sd_journal_enumerate_data(journal_, &data, &length)) > 0) {
    std::string_view field(static_cast<const char*>(data), length);
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) continue;
    for (unsigned char c : field) {
      h ^= c;
      h *= 1099511628211ull;
    }
    std::string_view copy = arena.copy(field);
    std::string_view key = copy.substr(0, eq);
    Value value = Value::string(copy.substr(eq + 1));
    bool seen = false;
    for (Member& m : fields_) {  // a field given twice: the last value, at the first place
      if (m.key == key) {
        m.value = value;
        seen = true;
        break;
      }
    }
    if (!seen) fields_.push_back(Member{key, value});
  }
  if (r < 0) {
    log_.warn("Error reading a journal entry: " + errnoText(r) + "; the entry is skipped");
    errors_.add(1);
    return false;
  }
  Value record = mutator_.apply(fields_, arena, scratch_);
  uint64_t b = 0;
  for (int i = 0; i < 8; ++i) b = (b << 8) | boot.bytes[i];
  batch.add(tag_, static_cast<int64_t>(usec) * 1000, record, lineOrigin(b ^ h, mono, usec));
  return true;
}

Status SystemdInput::persist() {
  if (!cursor_path_ || committed_.empty()) return Status::ok();
  const std::string& path = *cursor_path_;
  for (size_t i = 1; i < path.size(); ++i) {
    if (path[i] == '/') ::mkdir(path.substr(0, i).c_str(), 0755);
  }
  std::string text = "{\"journal\":";
  appendJsonString(text, committed_);
  text += "}";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::ioError("Cannot write the journal cursor to " + tmp + ": " + std::strerror(errno));
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t w = ::write(fd, rest.data(), rest.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      Status s = Status::ioError("Cannot write the journal cursor to " + tmp + ": " + std::strerror(errno));
      ::close(fd);
      return s;
    }
    rest.remove_prefix(static_cast<size_t>(w));
  }
  ::fdatasync(fd);  // a power loss leaves the old cursor or the new one
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::ioError("Cannot rename " + tmp + ": " + std::strerror(errno));
  }
  return Status::ok();
}

Status SystemdInput::run(EventSink& out, const StopToken& stop) {
  Batch batch;
  bool refused = false;  // the last batch was not accepted: said once until one is
  while (!stop.stopRequested()) {
    if (journal_ == nullptr && !open(stop)) continue;
    batch.clear();
    bool failed = false;
    while (batch.size() < kMaxBatch && !stop.stopRequested()) {
      int r = sd_journal_next(journal_);
      if (r < 0) {
        log_.warn("Error moving to the next journal entry: " + errnoText(r) + "; reopening the journal");
        errors_.add(1);
        failed = true;
        break;
      }
      if (r == 0) break;
      if (skip_committed_) {
        skip_committed_ = false;
        if (sd_journal_test_cursor(journal_, committed_.c_str()) > 0) continue;  // read before
      }
      readEntry(batch);
    }
    if (!batch.empty()) {
      char* cursor = nullptr;
      int r = sd_journal_get_cursor(journal_, &cursor);
      std::string next_cursor = r >= 0 ? std::string(cursor) : std::string();
      std::free(cursor);
      Status s = out.emit(batch);
      if (s) {
        refused = false;
        if (!next_cursor.empty()) {
          committed_ = std::move(next_cursor);
          Status p = persist();
          if (!p) {
            log_.error(p.message());
            errors_.add(1);
          }
        }
      } else {
        // Backpressure (a full buffer that throws): the entries stay in the journal and are
        // read again from the last accepted cursor a second later.
        if (!refused) log_.warn("Events not accepted downstream; reading them again in 1 s: " + s.message());
        refused = true;
        failed = true;
        stop.sleepFor(1.0);
      }
    }
    if (failed) {
      close();
      continue;
    }
    if (batch.size() >= kMaxBatch) continue;
    // Nothing more for now: wait for the journal to change, or for a stop.
    uint64_t timeout_usec = 0;
    int timeout_ms = 1000;
    if (sd_journal_get_timeout(journal_, &timeout_usec) >= 0 && timeout_usec != UINT64_MAX) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      uint64_t now = uint64_t(ts.tv_sec) * 1000000 + uint64_t(ts.tv_nsec) / 1000;
      timeout_ms = timeout_usec <= now ? 0 : static_cast<int>(std::min<uint64_t>(1000, (timeout_usec - now + 999) / 1000));
    }
    struct pollfd fds[2] = {{sd_journal_get_fd(journal_), static_cast<short>(sd_journal_get_events(journal_)), 0},
                            {stop.fd(), POLLIN, 0}};
    ::poll(fds, 2, timeout_ms);
    if (stop.stopRequested()) break;
    sd_journal_process(journal_);
  }
  close();
  return Status::ok();
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<SystemdInput>(
      PluginKind::Input, "systemd",
      "Reads the systemd journal with libsystemd (fluent-plugin-systemd), keeping its cursor across restarts.",
      kParams,
      {{"storage", "Where the journal cursor is kept (Fluentd's local storage).",
        describeParams(std::span<const Param<StorageConfig>>(kStorageParams))},
       {"entry", "How journal fields become record fields.",
        describeParams(std::span<const Param<EntryConfig>>(kEntryParams))}});
  return kDescriptor;
}

}  // namespace sluice::plugins::in_systemd
