// SPDX-License-Identifier: Apache-2.0
#include "support/fixtures.h"

#include "core/json.h"
#include "support/test_support.h"

namespace sluice::testing {

Value loadJsonFixture(const std::string& relative_path, Arena& arena) {
  std::string text = readFile(sharedDir() + "/fixtures/" + relative_path);
  auto v = parseJson(text, arena);
  return v ? *v : Value();
}

}  // namespace sluice::testing
