// SPDX-License-Identifier: Apache-2.0
// Fuzz target: whatever a crash, a disk or another program leaves in a tail pos_file, reading
// it never crashes, skips what is not an entry, keeps one entry per file (path and inode) and
// no unwatched marker, and what it read is written back and read again unchanged. Any file
// name (the input as a path: newlines, tabs, '%', bytes that are not UTF-8) survives a write
// and a read with its position.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "plugins/in_tail/pos_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sluice::plugins::in_tail::PosFile;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  std::vector<PosFile::Entry> entries = PosFile::parse(input);
  std::set<std::pair<std::string, uint64_t>> seen;
  for (const PosFile::Entry& e : entries) {
    if (e.offset == ~uint64_t{0} || e.fp.len > sluice::plugins::in_tail::Fingerprint::kBytes) std::abort();
    if (!seen.emplace(e.path, e.inode).second) std::abort();
  }
  const std::string text = PosFile::format(entries);
  if (PosFile::parse(text) != entries || PosFile::format(PosFile::parse(text)) != text) std::abort();

  // The input as a file name, next to an ordinary entry.
  PosFile::Entry named;
  named.path = std::string(input);
  named.offset = size;
  named.inode = sluice::plugins::in_tail::fingerprintHash(input.data(), input.size());
  if (size % 2 == 1) named.fp = {static_cast<uint32_t>(1 + size % 256), named.inode ^ 0x5a5a};
  PosFile::Entry plain{"/var/log/containers/a.log", 42, 7, {}};
  const std::vector<PosFile::Entry> both = {plain, named};
  std::vector<PosFile::Entry> back = PosFile::parse(PosFile::format(both));
  if (named.path == plain.path && named.inode == plain.inode) {
    if (back.size() != 1 || back[0] != named) std::abort();
  } else if (back != both) {
    std::abort();
  }
  return 0;
}
