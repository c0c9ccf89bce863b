// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_file/file_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/file_path.h"

namespace sluice::plugins::out_file {
namespace {

const std::array<Param<FileConfig>, 4> kParams = {{
    {"path", &FileConfig::path, nullptr, "File to write. With a <buffer> keyed by tag, time or fields, ${tag}, ${tag[N]}, ${$.a.b} and %Y%m%d… are expanded per chunk; each value becomes one path component ('/', '%' and NUL percent-encoded, `.` and `..` as %2E), and an empty value sends the chunk to the dead letters.", {}, kRequired},
    {"append", &FileConfig::append, "true", "Append to the file (false: truncate it at start)."},
    {"add_path_suffix", &FileConfig::add_path_suffix, "false", "Append path_suffix to path (Fluentd's default is true)."},
    {"path_suffix", &FileConfig::path_suffix, ".log", "Suffix added with add_path_suffix."},
}};

}  // namespace

Result<std::unique_ptr<FileOutput>> FileOutput::create(const FileConfig& config, PluginContext& ctx) {
  auto formatter = ctx.formatter({"json", false});
  if (!formatter) return formatter.takeStatus();
  std::string path = config.path;
  if (config.add_path_suffix && !path.ends_with(config.path_suffix)) path += config.path_suffix;
  Counter& refused = ctx.metrics().pluginCounter(
      "file_refused_records_total",
      "Events whose expanded path was refused (an empty value, or too long) and went to <secondary> or the dead letters.");
  return std::unique_ptr<FileOutput>(new FileOutput(std::move(path), config.append, std::move(*formatter), refused));
}

FileOutput::~FileOutput() { stop(); }

Status FileOutput::start() {
  if (dynamic_) return Status::ok();
  Status s = makeParentDirs(path_);
  if (!s) return s;
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append_ ? O_APPEND : O_TRUNC);
  fd_ = ::open(path_.c_str(), flags, 0644);
  if (fd_ < 0) return Status::ioError("cannot open " + path_ + ": " + std::strerror(errno));
  return Status::ok();
}

void FileOutput::stop() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

WriteResult FileOutput::write(const ChunkView& chunk) {
  if (dynamic_) {
    static const ChunkKey kNoKey;
    // Values from log content are encoded into single path components; what cannot be is
    // refused for good, so the chunk goes to <secondary> or the dead letters.
    auto expanded = expandPathPlaceholders(path_, chunk.key ? *chunk.key : kNoKey, false);
    if (!expanded) {
      refused_.add(chunk.events());
      return WriteResult::fail(expanded.status().message());
    }
    const std::string& path = *expanded;
    Status s = makeParentDirs(path);
    if (!s) return WriteResult::retry(s.message());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return WriteResult::retry("cannot open " + path + ": " + std::strerror(errno));
    WriteResult r = writeTo(fd, chunk.bytes);
    ::close(fd);
    return r;
  }
  if (fd_ < 0) return WriteResult::retry("file " + path_ + " is not open");
  return writeTo(fd_, chunk.bytes);
}

// A write that fails half-way (a full disk) is cut back, so that the retry does not repeat
// the part that got in.
WriteResult FileOutput::writeTo(int fd, std::string_view bytes) {
  off_t before = ::lseek(fd, 0, SEEK_END);
  WriteResult r = writeFully(fd, bytes);
  if (r.kind != WriteResult::Kind::Ok && before >= 0) {
    if (::ftruncate(fd, before) != 0) r.reason += "; could not cut the partial write back";
  }
  return r;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<FileOutput>(
      PluginKind::Output, "file", "Appends events to a file as JSON lines (or a <format>).", kParams,
      {formatSection("json", "How events are written (default @type json).")});
  return kDescriptor;
}

}  // namespace sluice::plugins::out_file
