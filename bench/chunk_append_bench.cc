// SPDX-License-Identifier: Apache-2.0
// File-buffer append throughput: 250-byte records appended to chunk files (framed, one
// write() per batch of 1,000) into the page cache. Prints payload bytes per second.
//   sluice_chunk_append_bench DIR [RECORDS]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "buffer/chunk_file.h"

using namespace sluice;

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string dir = argv[1];
  long n = argc > 2 ? std::atol(argv[2]) : 2000000;
  FormattedEvents batch;
  std::string record(249, 'x');
  record += '\n';
  for (int i = 0; i < 1000; ++i) {
    batch.bytes += record;
    batch.endEvent();
  }
  uint64_t bytes = 0;
  auto start = std::chrono::steady_clock::now();
  std::unique_ptr<buffer::FileChunk> chunk;
  for (long done = 0; done < n; done += 1000) {
    if (!chunk || chunk->meta().bytes >= 8u << 20) {
      if (chunk) {
        Status s = chunk->seal(0);
        if (!s) return 1;
      }
      auto c = buffer::FileChunk::create(dir, ChunkKey{"bench", 0, {}}, buffer::SyncPolicy::None);
      if (!c) return 1;
      chunk = std::move(*c);
    }
    Status s = chunk->append(batch.bytes, batch.ends);
    if (!s) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return 1;
    }
    bytes += batch.bytes.size();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("file-buffer append: %ld records of 250 bytes, %.0f MB in %.3f s: %.2f GB/s of payload\n", n,
              bytes / 1e6, secs, bytes / 1e9 / secs);
  return 0;
}
