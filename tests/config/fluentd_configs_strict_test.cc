// SPDX-License-Identifier: Apache-2.0
// Issue 21 item 5: `sluice --dry-run --strict` over every config under
// ../shared/fixtures/fluentd-configs. Each loads, or fails with a message naming the construct
// sluice does not support, and tests/FLUENTD_DIFFERENCES.md lists which and why: the table of
// its section "The configs of ../shared/fixtures/fluentd-configs under --strict" is checked row
// by row against what the binary answers. Skipped when ../shared is absent.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>

#include "support/test_support.h"

namespace sluice {
namespace {

namespace fs = std::filesystem;

struct Expected {
  bool loads = false;
  std::string message;  // part of the error, when it fails
};

// The rows of the document's table: config path (relative to fluentd-configs) -> outcome.
std::map<std::string, Expected> documented() {
  std::string doc = testing::readFile(std::string(SLUICE_SOURCE_DIR) + "/tests/FLUENTD_DIFFERENCES.md");
  std::map<std::string, Expected> rows;
  size_t at = doc.find("## The configs of ../shared/fixtures/fluentd-configs under `--strict`");
  if (at == std::string::npos) return rows;
  size_t end = doc.find("\n## ", at + 4);
  std::string section = doc.substr(at, end == std::string::npos ? std::string::npos : end - at);
  size_t start = 0;
  while (start < section.size()) {
    size_t nl = section.find('\n', start);
    std::string line = section.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? section.size() : nl + 1;
    if (line.rfind("| `", 0) != 0) continue;
    size_t a = 3, b = line.find('`', a);
    std::string path = line.substr(a, b - a);
    size_t col = line.find("| ", b);
    std::string outcome = line.substr(col + 2, line.find(" |", col + 2) - col - 2);
    Expected e;
    if (outcome == "loads") {
      e.loads = true;
    } else {
      size_t q1 = outcome.find('`'), q2 = outcome.rfind('`');
      e.message = q1 != std::string::npos && q2 > q1 ? outcome.substr(q1 + 1, q2 - q1 - 1) : outcome;
    }
    rows[path] = e;
  }
  return rows;
}

TEST(FluentdConfigsStrictTest, EveryFixtureConfigLoadsOrFailsAsDocumented) {
  if (!testing::sharedFixturesPresent()) GTEST_SKIP() << "../shared/fixtures is absent";
  const std::string root = testing::sharedDir() + "/fixtures/fluentd-configs";
  auto rows = documented();
  ASSERT_FALSE(rows.empty()) << "tests/FLUENTD_DIFFERENCES.md has no table of the fixture configs";
  // The one variable a fixture reads without a default (loki.conf: url "#{ENV['LOKI_URL']}").
  ::setenv("LOKI_URL", "http://127.0.0.1:3100", 1);
  std::vector<std::string> seen;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".conf") continue;
    std::string rel = fs::relative(entry.path(), root).string();
    seen.push_back(rel);
    auto row = rows.find(rel);
    auto r = testing::runSluice({"-c", entry.path().string(), "--dry-run", "--strict"});
    std::string said = r.out + r.err;
    if (row == rows.end()) {
      ADD_FAILURE() << rel << " is not in tests/FLUENTD_DIFFERENCES.md; sluice says (exit " << r.exit_code
                    << "):\n" << said;
      continue;
    }
    if (row->second.loads) {
      EXPECT_EQ(r.exit_code, 0) << rel << " is documented to load; sluice says:\n" << said;
    } else {
      EXPECT_NE(r.exit_code, 0) << rel << " is documented to fail with \"" << row->second.message
                                << "\" but loads now: update tests/FLUENTD_DIFFERENCES.md";
      EXPECT_NE(said.find(row->second.message), std::string::npos)
          << rel << " is documented to fail with \"" << row->second.message << "\"; sluice says:\n" << said;
      // An error names the file and line of the construct.
      EXPECT_NE(said.find(rel.substr(rel.find('/') + 1) + ":"), std::string::npos) << said;
    }
  }
  for (const auto& [path, e] : rows) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), path), seen.end())
        << path << " is in tests/FLUENTD_DIFFERENCES.md but not among the fixture configs";
  }
}

}  // namespace
}  // namespace sluice
