// SPDX-License-Identifier: Apache-2.0
// Runs a fuzz target over files and directories given on the command line, so the corpus is
// replayed by ctest in every build (libFuzzer itself needs -DSLUICE_FUZZ=ON and clang).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  int count = 0;
  int unreadable = 0;
  auto run = [&](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {  // a missing corpus file is a broken test, not an empty input
      std::fprintf(stderr, "cannot read %s\n", p.c_str());
      ++unreadable;
      return;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string data = ss.str();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    // Every prefix too: truncated input is the most common malformed input.
    for (size_t cut = 0; cut < data.size(); cut += 1 + data.size() / 64) {
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), cut);
    }
    ++count;
  };
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(p)) {
        if (e.is_regular_file()) run(e.path());
      }
    } else {
      run(p);
    }
  }
  std::printf("replayed %d inputs\n", count);
  return count > 0 && unreadable == 0 ? 0 : 1;
}
