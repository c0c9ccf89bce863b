// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small helpers for outputs that write files (out_file, out_secondary_file).

#include <string>

#include "core/status.h"

namespace sluice {

// Creates every folder above `path` that is missing (0755), as `mkdir -p $(dirname path)`.
// Called when an output opens a file, on the thread that writes it.
Status makeParentDirs(const std::string& path);

}  // namespace sluice
