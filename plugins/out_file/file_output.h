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
// batch.
class FileOutput final : public Output {
 public:
  static Result<std::unique_ptr<FileOutput>> create(const FileConfig& config, PluginContext& ctx);
  ~FileOutput() override;

  // sluice::Plugin
  Status start() override;
  void stop() override;
  // sluice::Output
  void format(const Batch& batch, FormattedEvents& out) override { formatter_.formatBatch(batch, out); }
  WriteResult write(const ChunkView& chunk) override;

 private:
  FileOutput(std::string path, bool append, Formatter formatter)
      : path_(std::move(path)), append_(append), formatter_(std::move(formatter)) {}

  const std::string path_;
  const bool append_;
  const Formatter formatter_;
  int fd_ = -1;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_file
