// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "core/plugin_api.h"

namespace sluice::plugins::out_file {

struct FileConfig {
  std::string path;
  bool append = true;
  bool add_path_suffix = false;
  std::string path_suffix;
};

// Appends events to a file, one line each (default format: the record as JSON). Parent
// directories are created. The file is opened at start() and written with one write() per
// batch or chunk; a path with chunk-key placeholders (${tag}, ${tag[N]}, ${$.a.b}, %Y%m%d…,
// with a <buffer> keyed accordingly) is expanded and opened for each chunk. Substituted values
// come from log content: they can never name another folder (expandPathPlaceholders).
// Threading: format() on the threads of the inputs whose events reach it; write() on a flush thread
// when buffered, else under the output stage's lock on an input thread.
class FileOutput final : public Output {
 public:
  static Result<std::unique_ptr<FileOutput>> create(const FileConfig& config, PluginContext& ctx);
  ~FileOutput() override;

  // sluice::Plugin
  Status start() override;
  void stop() override;
  // sluice::Output
  void format(const Batch& batch, FormattedEvents& out) override { formatter_->formatBatch(batch, out); }
  WriteResult write(const ChunkView& chunk) override;

 private:
  FileOutput(std::string path, bool append, FormatterPtr formatter, Counter& refused)
      : path_(std::move(path)),
        append_(append),
        formatter_(std::move(formatter)),
        refused_(refused),
        dynamic_(path_.find("${") != std::string::npos || path_.find('%') != std::string::npos) {}
  WriteResult writeTo(int fd, std::string_view bytes);

  const std::string path_;
  const bool append_;
  const FormatterPtr formatter_;
  Counter& refused_;
  const bool dynamic_;  // the path has chunk-key placeholders: opened per chunk
  int fd_ = -1;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_file
