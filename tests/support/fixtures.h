// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "core/arena.h"
#include "core/value.h"

namespace sluice::testing {

// Reads a JSON fixture from ../shared/fixtures (relative path) into `arena`; nullopt-like
// null Value when the folder is absent (callers GTEST_SKIP on sharedFixturesPresent()).
Value loadJsonFixture(const std::string& relative_path, Arena& arena);

}  // namespace sluice::testing
