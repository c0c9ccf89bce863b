// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <string>

#include "codec/codec.h"
#include "core/plugin_api.h"

namespace sluice::plugins::out_secondary_file {

enum class FileCompression { Text, Gzip };
inline constexpr Choice<FileCompression> kCompressions[] = {{"text", FileCompression::Text},
                                                            {"gzip", FileCompression::Gzip}};

struct SecondaryFileConfig {
  std::string directory;
  std::string basename;
  bool append = false;
  FileCompression compress = FileCompression::Text;
};

// Fluentd's out_secondary_file, for a <secondary> section: writes each chunk that failed for
// good, as the primary output formatted it (its bulk body, its JSON lines), to
// <directory>/<basename>. Without `append` every chunk gets a new file, <basename>.0, .1, …
// (the first number not taken, claimed with O_EXCL so flush threads never share one); with it
// chunks are appended to <basename>. `compress gzip` writes each chunk as one gzip member and
// adds ".gz" (members concatenate into one valid gzip file). ${chunk_id} is a fresh id per
// write; ${tag}, ${key}, %Y%m%d%H%M%S%L of the primary's chunk keys are expanded like the file
// output's path (each value one path component, never another folder).
// Threading: write() on the primary's flush threads, concurrently; nothing shared but a counter.
class SecondaryFileOutput final : public Output {
 public:
  static Result<std::unique_ptr<SecondaryFileOutput>> create(const SecondaryFileConfig& config, PluginContext& ctx);

  // sluice::Output
  WriteResult write(const ChunkView& chunk) override;

 private:
  SecondaryFileOutput(std::string path, bool append, FileCompression compress)
      : path_(std::move(path)), append_(append), compress_(compress) {}
  // The file of one chunk for an expanded path (without the suffix): opened (its name in
  // `path`), or an error.
  Result<int> open(const std::string& base, std::string& path);

  const std::string path_;  // directory/basename, placeholders unexpanded
  const bool append_;
  const FileCompression compress_;
  std::atomic<uint64_t> writes_{0};  // for ${chunk_id}
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_secondary_file
