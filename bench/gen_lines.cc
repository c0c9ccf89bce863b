// SPDX-License-Identifier: Apache-2.0
// Writes N W1 JSON log lines (bench/w1.h, ~242 bytes each) to stdout.
//   sluice_gen N [seed]

#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/w1.h"

int main(int argc, char** argv) {
  long n = argc > 1 ? std::atol(argv[1]) : 1000000;
  uint64_t x = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 42;
  std::string out;
  out.reserve(1 << 20);
  for (long i = 0; i < n; ++i) {
    sluice::bench::appendW1Line(out, i, x);
    out += '\n';
    if (out.size() > (1 << 20) - 512) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
