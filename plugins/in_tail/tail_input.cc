// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_tail/tail_input.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "plugins/in_tail/pos_file.h"

namespace sluice::plugins::in_tail {
namespace {

using C = TailConfig;
const std::array<Param<C>, 24> kParams = {{
    {"path", &C::path, nullptr, "Files to follow: comma-separated globs, with strftime placeholders (`/var/log/app/%Y-%m-%d.log`, `/path/%Y/%m/%d/*`) expanded with the current time at start and at every refresh_interval.", {}, kRequired},
    {"path_timezone", &C::path_timezone, nullptr, "Time zone of the strftime placeholders in path and exclude_path, as an offset (`+09:00`, `-0700`, `+00`, `UTC`); the process's local zone without it."},
    {"exclude_path", &C::exclude_path, "", "Globs of files not to follow (array; strftime placeholders as in path)."},
    {"pos_file", &C::pos_file, nullptr, "Where positions are recorded (Fluentd's format plus a fingerprint column). Its folder must be writable (checked at start-up and by --dry-run). Without it, a restart starts over."},
    {"pos_file_compaction_interval", &C::pos_file_compaction_interval, "0", "sluice drops entries of unwatched files at every write; accepted for compatibility."},
    {"tag", &C::tag, nullptr, "Tag of the events; a `*` is replaced by the file path with `/` turned into `.`.", {}, kRequired},
    {"read_from_head", &C::read_from_head, "false", "Read files found at start-up (without a recorded position) from the beginning, not the end. Files appearing later are always read from the beginning."},
    {"refresh_interval", &C::refresh_interval, "60", "How often the globs (and path's strftime placeholders) are expanded again."},
    {"rotate_wait", &C::rotate_wait, "5", "After a rotation, keep reading the old file this long before moving to the new one."},
    {"follow_inodes", &C::follow_inodes, "false", "sluice always follows a rotated file by its open descriptor and finds rotated siblings by inode and fingerprint.", {}, kIgnored},
    {"enable_stat_watcher", &C::enable_stat_watcher, "true", "Use inotify to learn of changes at once."},
    {"enable_watch_timer", &C::enable_watch_timer, "true", "Also check every file once a second (a fallback for missed events)."},
    {"read_lines_limit", &C::read_lines_limit, "1000", "Lines read and emitted per batch, at most."},
    {"read_bytes_limit_per_second", &C::read_bytes_limit_per_second, "0", "Bytes read per file and second, at most (0: no limit)."},
    {"max_line_size", &C::max_line_size, "1m", "Longer lines are skipped with a warning."},
    {"skip_refresh_on_startup", &C::skip_refresh_on_startup, "false", "Do not expand the globs at start-up; wait for the first refresh_interval."},
    {"path_key", &C::path_key, nullptr, "Add the file path to each record under this key."},
    {"ignore_repeated_permission_error", &C::ignore_repeated_permission_error, "false", "Report a file that cannot be opened only once."},
    {"limit_recently_modified", &C::limit_recently_modified, "0", "Ignore files not modified within this time (0: no limit)."},
    {"multiline_flush_interval", &C::multiline_flush_interval, "5", "Emit a held partial or multi-line event after this long without its end."},
    {"symlink_roots", &C::symlink_roots, "", "More folders that followed files may resolve into (array). By default a file (through its symlinks) must lie under the folder its glob names, /var/log/pods or /var/lib/docker/containers; others are refused, logged once and counted."},
    {"emit_unmatched_lines", &C::emit_unmatched_lines, "false", "Emit a line the parser rejects (and, with a multiline parser, a line before the first format_firstline match, or a joined event format1.. rejects) as `{\"unmatched_line\": \"<text>\"}` (plus path_key) with the current time and the file's tag, instead of only logging it."},
    {"encoding", &C::encoding, nullptr, "Encoding of the lines emitted. Alone it changes nothing (Ruby's force_encoding); with from_encoding, lines are converted with iconv (names as `iconv -l` or Ruby's, e.g. UTF-8, ASCII-8BIT)."},
    {"from_encoding", &C::from_encoding, nullptr, "Encoding of the files (needs encoding): each line is converted before it is parsed. Bytes invalid in it, or characters encoding cannot hold, become U+FFFD (`?` for a non-UTF-8 encoding), as Fluentd's replace retry does; the line is kept. Encodings that do not write \"\\n\" as the byte 0x0A (UTF-16, UTF-32) are refused."},
}};
// v0.12's parser keys, in the order they go into the <parse> section built from them.
constexpr std::array<std::pair<std::string_view, std::optional<std::string> C::*>, 17> kCompatParseKeys = {{
    {"time_format", &C::time_format},
    {"time_key", &C::time_key},
    {"keep_time_key", &C::keep_time_key},
    {"types", &C::types},
    {"keys", &C::keys},
    {"delimiter", &C::delimiter},
    {"label_delimiter", &C::label_delimiter},
    {"message_key", &C::message_key},
    {"format_firstline", &C::format_firstline},
    {"json_parser", &C::json_parser},
    {"null_empty_string", &C::null_empty_string},
    {"null_value_pattern", &C::null_value_pattern},
    {"with_priority", &C::with_priority},
    {"message_format", &C::message_format},
    {"rfc5424_time_format", &C::rfc5424_time_format},
    {"localtime", &C::localtime},
    {"utc", &C::utc},
}};
const std::array<Param<C>, 18> kCompatParams = {{
    {"format", &C::format, nullptr, "v0.12 (Fluentd v1 reads it too): without a <parse> section, the parser's @type (`/regexp/` means @type regexp with that expression); the other v0.12 parser keys written beside it (time_format, time_key, keep_time_key, types, keys, delimiter, message_key, format_firstline and the rest below) go into that section."},
    {"time_format", &C::time_format, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"time_key", &C::time_key, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"keep_time_key", &C::keep_time_key, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"types", &C::types, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"keys", &C::keys, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"delimiter", &C::delimiter, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"label_delimiter", &C::label_delimiter, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"message_key", &C::message_key, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"format_firstline", &C::format_firstline, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"json_parser", &C::json_parser, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"null_empty_string", &C::null_empty_string, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"null_value_pattern", &C::null_value_pattern, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"with_priority", &C::with_priority, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"message_format", &C::message_format, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"rfc5424_time_format", &C::rfc5424_time_format, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"localtime", &C::localtime, nullptr, "v0.12: moved into the <parse> section built from format."},
    {"utc", &C::utc, nullptr, "v0.12: moved into the <parse> section built from format."},
}};
const auto kAllParams = concatParams(kParams, kCompatParams);

// The <parse> section Fluentd's compat_parameters makes of v0.12's `format` and the keys beside it.
std::unique_ptr<config::Element> compatParseSection(const TailConfig& config, const config::Element& tail) {
  auto section = std::make_unique<config::Element>();
  section->name = "parse";
  section->where = tail.where;
  const std::string& format = *config.format;
  if (format.size() >= 2 && format.front() == '/' && format.back() == '/') {
    section->set("@type", "regexp");
    section->set("expression", format);
  } else {
    section->set("@type", format);
  }
  for (const auto& [name, member] : kCompatParseKeys) {
    if (config.*member) section->set(std::string(name), *(config.*member));
  }
  return section;
}

}  // namespace

Result<std::unique_ptr<TailInput>> TailInput::create(const TailConfig& config, PluginContext& ctx) {
  std::vector<std::string> patterns;
  size_t start = 0;
  while (start <= config.path.size()) {
    size_t comma = config.path.find(',', start);
    std::string p = config.path.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t a = p.find_first_not_of(" \t"), b = p.find_last_not_of(" \t");
    if (a != std::string::npos) patterns.push_back(p.substr(a, b - a + 1));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (patterns.empty()) return Status::invalidConfig("path names no file");
  if (config.read_lines_limit < 1) return Status::invalidConfig("read_lines_limit must be at least 1");
  if (config.max_line_size.bytes < 64) return Status::invalidConfig("max_line_size must be at least 64 bytes");
  if (config.pos_file) {
    // Positions that cannot be kept mean every line is read again after a restart: refuse to
    // start (this also runs for --dry-run).
    Status s = PosFile::checkWritable(*config.pos_file);
    if (!s) return Status::invalidConfig(ctx.element().where.str() + ": " + s.message());
  }
  auto sections = ctx.element().children("parse");
  std::unique_ptr<config::Element> compat_parse;
  if (sections.empty() && config.format) compat_parse = compatParseSection(config, ctx.element());
  if (sections.empty() && !compat_parse) {
    return Status::invalidConfig(ctx.element().where.str() + ": tail needs a <parse> section (e.g. @type none, json, cri or kubernetes)");
  }
  if (config.path_timezone && !parseZoneOffset(*config.path_timezone)) {
    return Status::invalidConfig(ctx.element().where.str() + ": path_timezone '" + *config.path_timezone +
                                 "' is not an offset like +09:00 (zone names such as Asia/Tokyo are not supported)");
  }
  auto encoding = resolveEncodings(config.encoding, config.from_encoding);
  if (!encoding) return Status::invalidConfig(ctx.element().where.str() + ": " + encoding.status().message());
  std::unique_ptr<GroupRules> groups;
  auto group_sections = ctx.element().children("group");
  if (group_sections.size() > 1) {
    return Status::invalidConfig(group_sections[1]->where.str() + ": tail takes one <group> (with several <rule>s)");
  }
  if (!group_sections.empty()) {
    auto g = GroupRules::create(*group_sections.front());
    if (!g) return g.takeStatus();
    groups = std::move(*g);
  }
  auto parser = ctx.createParser(compat_parse ? *compat_parse : *sections.front());
  if (!parser) return parser.takeStatus();
  return std::unique_ptr<TailInput>(new TailInput(config, std::move(compat_parse), std::move(*parser), std::move(patterns),
                                                  std::move(*encoding), std::move(groups), ctx));
}

TailInput::TailInput(const TailConfig& config, std::unique_ptr<config::Element> compat_parse, ParserPtr parser,
                     std::vector<std::string> patterns, EncodingSpec encoding, std::unique_ptr<GroupRules> groups,
                     PluginContext& ctx)
    : config_(config),
      compat_parse_(std::move(compat_parse)),
      parser_(std::move(parser)),
      patterns_(std::move(patterns)),
      log_(ctx.log()),
      encoding_(std::move(encoding)),
      groups_(std::move(groups)),
      clock_(&ctx.clock()) {
  if (config.path_timezone) path_offset_s_ = parseZoneOffset(*config.path_timezone);
  PluginMetrics& m = ctx.metrics();
  metrics_.read_lines = &m.pluginCounter("read_lines_total", "Lines read from files.");
  metrics_.read_bytes = &m.pluginCounter("read_bytes_total", "Bytes read from files.");
  metrics_.parse_errors = &m.counter("errors_total", "Lines the parser rejected.", {{"error_type", "parse"}, {"stage", "parse"}});
  metrics_.skipped_long_lines = &m.counter("discarded_records_total", "Lines longer than max_line_size.", {{"intentional", "false"}});
  metrics_.rotations = &m.pluginCounter("rotations_total", "Rotations seen (rename, delete and recreate).");
  metrics_.truncations = &m.pluginCounter("truncations_total", "Files truncated in place (copytruncate).");
  metrics_.watched_files = &m.gauge("tail_watched_files", "Files being followed.");
  metrics_.lag_bytes = &m.gauge("tail_lag_bytes", "Bytes written to the followed files and not read yet (measured once a second).");
  metrics_.lost_bytes = &m.pluginCounter("lost_bytes_total", "Bytes of files deleted before they were read (where the length is known).");
  metrics_.lost_files = &m.pluginCounter("lost_files_total", "Files gone (deleted or unreadable) before they were read to the end.");
  metrics_.refused_files = &m.pluginCounter("refused_files_total", "Paths not followed: they resolve outside the allowed folders.");
  metrics_.fd_cycles = &m.pluginCounter("fd_cycles_total", "Files closed to free a descriptor for another (more files than descriptors).");
}

Status TailInput::start() {
  static std::once_flag once;
  std::call_once(once, [this] {
    struct rlimit rl {};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t before = rl.rlim_cur;
    rlim_t target = rl.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : rl.rlim_max;  // the kernel's nr_open default
    if (rl.rlim_cur < target) {
      rl.rlim_cur = target;
      if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        log_.warn("Cannot raise the open-file limit (RLIMIT_NOFILE) from " + std::to_string(before) + " to " +
                  std::to_string(rl.rlim_max) + ": " + std::strerror(errno));
        return;
      }
      log_.info("Raised the open-file limit (RLIMIT_NOFILE) from " + std::to_string(before) + " to " +
                std::to_string(rl.rlim_cur));
    } else {
      log_.info("Open-file limit (RLIMIT_NOFILE): " + std::to_string(rl.rlim_cur));
    }
  });
  return Status::ok();
}

std::vector<std::string> TailInput::expandPaths(const std::vector<std::string>& patterns, int64_t now_ns) const {
  std::vector<std::string> out;
  out.reserve(patterns.size());
  for (const std::string& p : patterns) {
    if (p.find('%') == std::string::npos) {
      out.push_back(p);
      continue;
    }
    std::string expanded;
    if (path_offset_s_) {
      formatTime(expanded, now_ns + int64_t{*path_offset_s_} * kNanosPerSecond, p, true);
    } else {
      formatTime(expanded, now_ns, p, false);
    }
    out.push_back(std::move(expanded));
  }
  return out;
}

std::string TailInput::tagFor(const std::string& path) const {
  size_t star = config_.tag.find('*');
  if (star == std::string::npos) return config_.tag;
  std::string dotted;
  for (char c : path) {
    char d = c == '/' ? '.' : c;
    if (d == '.' && (dotted.empty() || dotted.back() == '.')) continue;  // no empty parts
    dotted += d;
  }
  return config_.tag.substr(0, star) + dotted + config_.tag.substr(star + 1);
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<TailInput>(
      PluginKind::Input, "tail",
      "Follows files (inotify + stat timer), through rotation and restarts, with a Fluentd-format pos_file.",
      kAllParams,
      {{"parse", "The parser of each line (required, or v0.12's format): none, json, regexp, cri, docker, kubernetes, …", {}},
       {"group", "Line limits per group of files (Fluentd 1.15): `pattern` takes named captures from each path, `<rule>`s give the groups and their limits per `rate_period`. At most one.",
        describeParams(groupParams())},
       {"group><rule", "A group (required, one or more in `<group>`): the files whose captures all match `match` (rules with more keys are tried first; a file no rule takes is in the default group, limited only by a rule without `match`).",
        describeParams(groupRuleParams())}})
      .needing("<parse>\n @type json\n</parse>\n");
  return kDescriptor;
}

}  // namespace sluice::plugins::in_tail
