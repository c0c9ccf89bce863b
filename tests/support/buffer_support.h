// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "buffer/buffer_config.h"

namespace sluice::testing {

// A <buffer> for tests: memory or file, 8 MiB chunks, interval flushing every 50 ms, one flush
// thread, fast retries without jitter (10 ms doubling), an hour's retry_timeout.
BufferConfig testBufferConfig(std::string type = "memory");

}  // namespace sluice::testing
