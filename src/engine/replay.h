// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "engine/pipeline.h"

namespace sluice::engine {

// `sluice replay DIR -c CONFIG`: sends the events of the dead-letter files in DIR (JSON lines
// of buffer::deadLetterLine) through the outputs they failed in, by @id. Delivered lines are
// removed from their file (a file left empty is deleted); the rest stay for another try.
// Prints a summary; returns an exit code (0: everything delivered).
int replayDeadLetters(Pipeline& pipeline, const std::string& dir);

}  // namespace sluice::engine
