// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_secondary_file/secondary_file_output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "core/file_path.h"

namespace sluice::plugins::out_secondary_file {
namespace {

using C = SecondaryFileConfig;
const std::array<Param<C>, 4> kParams = {{
    {"directory", &C::directory, nullptr, "Folder of the files (created). Chunk-key placeholders are expanded as in basename.", {}, kRequired},
    {"basename", &C::basename, "dump.bin", "File name: ${chunk_id}, ${tag}, ${tag[N]}, ${key} of the primary's chunk keys and %Y%m%d%H%M%S%L of its timekey are expanded per chunk."},
    {"append", &C::append, "false", "Append every chunk to one file; false: a new file per chunk, <basename>.0, .1, …"},
    {"compress", enumMember<&C::compress, kCompressions>(), "text", "gzip: each chunk written as a gzip member, the file named with .gz."},
}};

// ${chunk_id} as Fluentd writes it: 32 hex digits, unique per chunk.
std::string chunkId(uint64_t serial) {
  static const uint64_t kProcess = std::random_device{}() * 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(::getpid());
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(kProcess),
                static_cast<unsigned long long>(serial));
  return buf;
}

}  // namespace

Result<std::unique_ptr<SecondaryFileOutput>> SecondaryFileOutput::create(const SecondaryFileConfig& config,
                                                                         PluginContext& ctx) {
  const std::string where = ctx.element().where.str() + ": ";
  if (config.directory.empty()) return Status::invalidConfig(where + "directory is empty");
  if (config.basename.empty() || config.basename.find('/') != std::string::npos) {
    return Status::invalidConfig(where + "basename must be a file name, without '/'");
  }
  std::string path = config.directory;
  if (!path.ends_with('/')) path += '/';
  path += config.basename;
  return std::unique_ptr<SecondaryFileOutput>(new SecondaryFileOutput(std::move(path), config.append, config.compress));
}

Result<int> SecondaryFileOutput::open(const std::string& base, std::string& path) {
  const char* suffix = compress_ == FileCompression::Gzip ? ".gz" : "";
  if (Status s = makeParentDirs(base); !s) return s;
  if (append_) {
    path = base + suffix;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return Status::ioError("cannot open " + path + ": " + std::strerror(errno));
    return fd;
  }
  for (uint64_t i = 0;; ++i) {
    path = base + "." + std::to_string(i) + suffix;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno != EEXIST) return Status::ioError("cannot create " + path + ": " + std::strerror(errno));
  }
}

WriteResult SecondaryFileOutput::write(const ChunkView& chunk) {
  static const ChunkKey kNoKey;
  std::string text = path_;
  for (size_t at = text.find("${chunk_id}"); at != std::string::npos; at = text.find("${chunk_id}", at)) {
    std::string id = chunkId(writes_.fetch_add(1));
    text.replace(at, 11, id);
    at += id.size();
  }
  auto base = expandPathPlaceholders(text, chunk.key ? *chunk.key : kNoKey, false);
  if (!base) return WriteResult::fail(base.status().message());
  std::string zipped;
  std::string_view bytes = chunk.bytes;
  if (compress_ == FileCompression::Gzip) {
    auto z = codec::compress(codec::Compression::Gzip, bytes);
    if (!z) return WriteResult::retry(z.status().message());
    zipped = std::move(*z);
    bytes = zipped;
  }
  std::string path;
  auto fd = open(*base, path);
  if (!fd) return WriteResult::retry(fd.status().message());
  // A failed write (a full disk) leaves nothing for the retry to repeat: an append is cut back,
  // a new file removed.
  off_t before = append_ ? ::lseek(*fd, 0, SEEK_END) : 0;
  WriteResult r = writeFully(*fd, bytes);
  if (r.kind != WriteResult::Kind::Ok) {
    bool undone = append_ ? before >= 0 && ::ftruncate(*fd, before) == 0 : ::unlink(path.c_str()) == 0;
    if (!undone) r.reason += "; could not undo the partial write of " + path;
  }
  ::close(*fd);
  return r;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<SecondaryFileOutput>(
      PluginKind::Output, "secondary_file",
      "Fluentd's out_secondary_file, for <secondary>: writes each chunk that failed for good, as the primary formatted "
      "it, to a file per chunk (or appended to one), optionally gzipped.",
      kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::out_secondary_file
