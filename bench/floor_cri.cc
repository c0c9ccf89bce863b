// SPDX-License-Identifier: Apache-2.0
// The physical floor for the tail → cri → json benchmark: only the unavoidable work on the
// same files — large reads, memchr line splitting, CRI prefix strip, simdjson parse of the
// payload. No records, no output.
//   sluice_floor_cri FILE...

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>

int main(int argc, char** argv) {
  constexpr size_t kRead = 1 << 20;
  std::unique_ptr<char[]> buf(new char[2 * kRead + simdjson::SIMDJSON_PADDING]);
  simdjson::dom::parser parser;
  long lines = 0, fields = 0;
  auto start = std::chrono::steady_clock::now();
  for (int a = 1; a < argc; ++a) {
    int fd = ::open(argv[a], O_RDONLY);
    if (fd < 0) return 1;
    size_t have = 0;
    while (true) {
      ssize_t n = ::read(fd, buf.get() + have, kRead);
      if (n <= 0) break;
      have += static_cast<size_t>(n);
      std::memset(buf.get() + have, 0, simdjson::SIMDJSON_PADDING);
      char* p = buf.get();
      char* end = buf.get() + have;
      while (char* nl = static_cast<char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))) {
        std::string_view line(p, static_cast<size_t>(nl - p));
        size_t s1 = line.find(' '), s2 = line.find(' ', s1 + 1), s3 = line.find(' ', s2 + 1);
        std::string_view payload = line.substr(s3 + 1);
        simdjson::dom::element doc;
        if (!parser.parse(payload.data(), payload.size(), false).get(doc)) {
          fields += static_cast<long>(doc.get_object().value_unsafe().size());
        }
        ++lines;
        p = nl + 1;
      }
      have = static_cast<size_t>(end - p);
      std::memmove(buf.get(), p, have);
    }
    ::close(fd);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("floor: %ld lines (%ld fields) in %.3f s: %.0f lines/s\n", lines, fields, s, lines / s);
  return 0;
}
