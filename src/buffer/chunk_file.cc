// SPDX-License-Identifier: Apache-2.0
// The file buffer's on-disk format (buffer/chunk_file.h): the small file helpers (atomic
// writes, folder checks), CRC-32C (SSE4.2 and table), the frame scanners, a chunk's metadata
// as JSON, FileChunk (create, append, seal, settle, read) and recovery at start. FileChunk is
// not thread-safe: append() and seal() run on the inputs' threads and settle()/read*() on the
// flush threads, each under the buffer's lock or on a chunk the buffer has handed to one thread
// alone; recover() runs on the engine's thread before the buffer starts.
// Why one file of ~770 lines: it is one format. A frame written by append() is read back by
// scanFrames()/compactFrames(), appendTextInto() and recover(), and its CRC by all of them; a
// change to the layout changes them together, and this file is the place to read the format
// whole. The seam, if it grows: CRC-32C (crc32Of and its shift tables, ~140 lines) has no
// other tie to the rest and can move to buffer/crc32c.cc as it is.
#include "buffer/chunk_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>

#include "core/arena.h"
#include "core/json.h"
#include "core/time.h"

namespace sluice::buffer {
namespace {

constexpr uint32_t kMaxFrame = 256u * 1024 * 1024;  // a length beyond this is damage

std::string errnoText() { return std::strerror(errno); }

Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::ioError("cannot write " + path + ": " + errnoText());
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

// writev() until all `total` bytes of `iov` are written (a short write goes on where it stopped).
Status writevAll(int fd, iovec* iov, size_t count, size_t total, const std::string& path) {
  while (total > 0) {
    ssize_t n = ::writev(fd, iov, static_cast<int>(count));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::ioError("cannot write " + path + ": " + errnoText());
    }
    total -= static_cast<size_t>(n);
    auto done = static_cast<size_t>(n);
    while (count > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return Status::ok();
}

Status writeFileAtomically(const std::string& path, std::string_view data, bool sync) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::ioError("cannot create " + tmp + ": " + errnoText());
  Status s = writeAll(fd, data, tmp);
  if (s && sync && ::fdatasync(fd) != 0) s = Status::ioError("cannot sync " + tmp + ": " + errnoText());
  ::close(fd);
  if (!s) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::ioError("cannot rename " + tmp + ": " + errnoText());
  return Status::ok();
}

// Reads the file into `out` (its capacity reused), sized from fstat.
Status readWholeInto(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::ioError("cannot read " + path + ": " + errnoText());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::ioError("cannot read " + path + ": " + errnoText());
  }
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  ssize_t n = 0;
  while (got < out.size() && (n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(got))) > 0) {
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (n < 0) return Status::ioError("cannot read " + path + ": " + errnoText());
  out.resize(got);  // the file was shorter than fstat said
  return Status::ok();
}

Result<std::string> readWhole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::ioError("cannot read " + path + ": " + errnoText());
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0) return Status::ioError("cannot read " + path + ": " + errnoText());
  return out;
}

Status ensureDir(const std::string& dir) {
  for (size_t i = 1; i <= dir.size(); ++i) {
    if (i == dir.size() || dir[i] == '/') {
      std::string part = dir.substr(0, i);
      if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST) {
        return Status::ioError("cannot create directory " + part + ": " + errnoText());
      }
    }
  }
  ::chmod(dir.c_str(), 0700);  // buffer files hold log data
  return Status::ok();
}

}  // namespace

Status checkWritableDir(const std::string& dir, bool create) {
  std::string where = dir;  // the folder the probe file goes in
  if (create) {
    Status s = ensureDir(dir);
    if (!s) return s;
  } else {
    // The nearest folder that exists, from `dir` up: the rest would be made in it.
    struct stat st;
    while (::stat(where.c_str(), &st) != 0) {
      if (errno != ENOENT) return Status::ioError("cannot inspect " + where + ": " + errnoText());
      const size_t slash = where.find_last_of('/');
      if (slash == std::string::npos || slash == 0) {
        where = slash == 0 ? "/" : ".";
        break;
      }
      where.resize(slash);
    }
    if (::stat(where.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      return Status::ioError("cannot create directory " + dir + ": " + where + " is not a directory");
    }
  }
  std::string probe = where + "/.sluice-probe-" + std::to_string(::getpid());
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::ioError("cannot write in " + where + ": " + errnoText());
  ::close(fd);
  ::unlink(probe.c_str());
  return Status::ok();
}

namespace {

std::string newId() {
  static std::atomic<uint32_t> counter{0};
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%016llx%08x", static_cast<unsigned long long>(nowNs()),
                counter.fetch_add(1) ^ static_cast<uint32_t>(::getpid() << 16));
  return buf;
}


uint32_t getU32(const char* p) {
  return uint32_t(uint8_t(p[0])) | uint32_t(uint8_t(p[1])) << 8 | uint32_t(uint8_t(p[2])) << 16 |
         uint32_t(uint8_t(p[3])) << 24;
}

}  // namespace

namespace {

// CRC-32C (Castagnoli). The SSE4.2 instruction does 8 bytes a step, with a latency of 3 cycles
// and a throughput of one a cycle: one stream of steps runs at a third of what the processor
// can do. So the bytes are cut into three blocks whose CRCs run side by side, and combined by
// shifting a block's CRC over the length of the next (a table lookup: Mark Adler's method, as
// in his crc32c.c). Every frame is checksummed twice (written, read back): ~1.4 KB a document.
// A table is the fallback for processors without SSE4.2.
constexpr uint32_t kCrc32cPoly = 0x82F63B78u;
constexpr size_t kCrcLong = 4096;  // a block of the big steps
constexpr size_t kCrcShort = 128;  // a block of the small steps (documents of ~1 KB)

// Over GF(2): a 32x32 matrix (one word per column) times a vector.
uint32_t gf2Times(const uint32_t* mat, uint32_t vec) {
  uint32_t sum = 0;
  while (vec) {
    if (vec & 1) sum ^= *mat;
    vec >>= 1;
    ++mat;
  }
  return sum;
}

void gf2Square(uint32_t* square, const uint32_t* mat) {
  for (int n = 0; n < 32; ++n) square[n] = gf2Times(mat, mat[n]);
}

// The tables that move a CRC register over `len` zero bytes (len a power of two), a byte of the
// register at a time.
using CrcShiftTables = std::array<std::array<uint32_t, 256>, 4>;
CrcShiftTables crcShiftTables(size_t len) {
  uint32_t even[32], odd[32];
  odd[0] = kCrc32cPoly;  // one zero bit
  for (int n = 1; n < 32; ++n) odd[n] = 1u << (n - 1);
  gf2Square(even, odd);  // two zero bits
  gf2Square(odd, even);  // four
  const uint32_t* op = odd;
  while (true) {  // eight zero bits (one byte), then doubling until len bytes
    gf2Square(even, odd);
    op = even;
    len >>= 1;
    if (len == 0) break;
    gf2Square(odd, even);
    op = odd;
    len >>= 1;
    if (len == 0) break;
  }
  CrcShiftTables t{};
  for (uint32_t n = 0; n < 256; ++n) {
    t[0][n] = gf2Times(op, n);
    t[1][n] = gf2Times(op, n << 8);
    t[2][n] = gf2Times(op, n << 16);
    t[3][n] = gf2Times(op, n << 24);
  }
  return t;
}

inline uint64_t crcShift(const CrcShiftTables& t, uint64_t crc) {
  return t[0][crc & 0xFF] ^ t[1][(crc >> 8) & 0xFF] ^ t[2][(crc >> 16) & 0xFF] ^ t[3][(crc >> 24) & 0xFF];
}

const CrcShiftTables& crcLongShift() {
  static const CrcShiftTables t = crcShiftTables(kCrcLong);
  return t;
}
const CrcShiftTables& crcShortShift() {
  static const CrcShiftTables t = crcShiftTables(kCrcShort);
  return t;
}

template <size_t kBlock>
__attribute__((target("sse4.2"))) inline uint64_t crc32cThreeWay(uint64_t crc0, const char*& p, size_t& n,
                                                               const CrcShiftTables& shift) {
  while (n >= 3 * kBlock) {
    uint64_t crc1 = 0, crc2 = 0;
    for (size_t i = 0; i < kBlock; i += 8) {
      uint64_t a, b, c;
      std::memcpy(&a, p + i, 8);
      std::memcpy(&b, p + kBlock + i, 8);
      std::memcpy(&c, p + 2 * kBlock + i, 8);
      crc0 = __builtin_ia32_crc32di(crc0, a);
      crc1 = __builtin_ia32_crc32di(crc1, b);
      crc2 = __builtin_ia32_crc32di(crc2, c);
    }
    crc0 = crcShift(shift, crc0) ^ crc1;
    crc0 = crcShift(shift, crc0) ^ crc2;
    p += 3 * kBlock;
    n -= 3 * kBlock;
  }
  return crc0;
}

// `prev`: the CRC of the bytes before these (0 for none), to checksum pieces as one.
__attribute__((target("sse4.2"))) uint32_t crc32cHardware(const char* p, size_t n, uint32_t prev = 0) {
  uint64_t crc = prev ^ 0xFFFFFFFFu;
  if (n >= 3 * kCrcLong) crc = crc32cThreeWay<kCrcLong>(crc, p, n, crcLongShift());
  if (n >= 3 * kCrcShort) crc = crc32cThreeWay<kCrcShort>(crc, p, n, crcShortShift());
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    crc = __builtin_ia32_crc32di(crc, v);
    p += 8;
    n -= 8;
  }
  uint32_t c = static_cast<uint32_t>(crc);
  while (n--) c = __builtin_ia32_crc32qi(c, static_cast<unsigned char>(*p++));
  return c ^ 0xFFFFFFFFu;
}

uint32_t crc32cSoftware(const char* p, size_t n, uint32_t prev = 0) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = prev ^ 0xFFFFFFFFu;
  while (n--) c = table[(c ^ static_cast<unsigned char>(*p++)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace

bool crc32HasSse42() {
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  return hardware;
}

uint32_t crc32OfSse42(std::string_view data) { return crc32cHardware(data.data(), data.size()); }
uint32_t crc32OfTable(std::string_view data) { return crc32cSoftware(data.data(), data.size()); }

uint32_t crc32Of(std::string_view data, uint32_t prev) {
  return crc32HasSse42() ? crc32cHardware(data.data(), data.size(), prev)
                         : crc32cSoftware(data.data(), data.size(), prev);
}

bool FrameDecoder::take(uint32_t word, std::string_view payload) {
  const uint32_t kind = word & ~kFrameLengthMask;
  if (kind == 0) {
    out_.bytes.append(payload);
    out_.ends.push_back(static_cast<uint32_t>(out_.bytes.size()));
    return true;
  }
  if (kind == kEntryFrame) {
    entries_.emplace_back(payload);
    return true;
  }
  if (kind != kSplicedFrame || payload.size() < 4) return false;
  const uint32_t count = getU32(payload.data());
  if ((payload.size() - 4) / 8 < count) return false;
  const char* table = payload.data() + 4;
  const std::string_view body = payload.substr(4 + size_t{8} * count);
  const size_t base = out_.bytes.size();
  size_t at = 0;
  for (uint32_t k = 0; k < count; ++k) {
    const uint32_t to = getU32(table + 8 * k), entry = getU32(table + 8 * k + 4);
    if (to < at || to > body.size() || entry >= entries_.size()) {
      out_.bytes.resize(base);
      return false;
    }
    out_.bytes.append(body.substr(at, to - at));
    out_.bytes.append(entries_[entry]);
    at = to;
  }
  out_.bytes.append(body.substr(at));
  out_.ends.push_back(static_cast<uint32_t>(out_.bytes.size()));
  return true;
}

FrameScan decodeFrames(std::string_view b, ChunkData& out) {
  FrameScan scan;
  FrameDecoder decoder(out);
  const size_t size = b.size();
  size_t pos = 0;
  while (pos < size) {
    if (size - pos < kFrameHeaderBytes) break;  // a torn header
    const uint32_t word = getU32(b.data() + pos), crc = getU32(b.data() + pos + 4);
    const uint32_t len = word & kFrameLengthMask;
    if (len > kMaxFrame) {
      scan.damaged = true;
      break;
    }
    if (size - pos - kFrameHeaderBytes < len) break;  // a torn payload
    const std::string_view payload = b.substr(pos + kFrameHeaderBytes, len);
    if (crc32Of(payload) != crc) {
      // A bad last frame is a torn write; a bad frame with more after it is damage.
      if (pos + kFrameHeaderBytes + len < size) scan.damaged = true;
      break;
    }
    if (!decoder.take(word, payload)) {  // checksummed yet not a frame this reader knows
      scan.damaged = true;
      break;
    }
    pos += kFrameHeaderBytes + len;
    scan.valid_bytes = pos;
  }
  scan.entries = decoder.entries();
  return scan;
}

FrameScan scanFrames(std::string_view b) {
  ChunkData data;
  FrameScan scan = decodeFrames(b, data);
  scan.data = std::move(data);
  return scan;
}

std::string ChunkMeta::toJson() const {
  std::string out = "{\"id\":";
  appendJsonString(out, id);
  out += ",\"key\":{\"tag\":";
  appendJsonString(out, key.tag);
  out += ",\"time\":" + std::to_string(key.time_slice) + ",\"vars\":{";
  for (size_t i = 0; i < key.vars.size(); ++i) {
    if (i) out += ',';
    appendJsonString(out, key.vars[i].first);
    out += ':';
    appendJsonString(out, key.vars[i].second);
  }
  out += "}},\"created_ns\":" + std::to_string(created_ns) + ",\"sealed_ns\":" + std::to_string(sealed_ns) +
         ",\"records\":" + std::to_string(records) + ",\"bytes\":" + std::to_string(bytes) +
         ",\"attempts\":" + std::to_string(attempts) + ",\"first_failure_ns\":" + std::to_string(first_failure_ns) +
         ",\"next_retry_ns\":" + std::to_string(next_retry_ns) + ",\"compress\":\"" + compress + "\"}\n";
  return out;
}

Result<ChunkMeta> ChunkMeta::fromJson(std::string_view text) {
  Arena arena;
  auto v = parseJson(text, arena);
  if (!v || !v->isObject()) return Status::corruption("chunk metadata is not a JSON object");
  ChunkMeta m;
  auto str = [&](const Value& obj, const char* k) -> std::optional<std::string> {
    const Value* f = obj.find(k);
    if (f == nullptr || !f->isString()) return std::nullopt;
    return std::string(f->asString());
  };
  auto num = [&](const Value& obj, const char* k) -> std::optional<int64_t> {
    const Value* f = obj.find(k);
    if (f == nullptr || !f->isInt()) return std::nullopt;
    return f->asInt();
  };
  auto id = str(*v, "id");
  const Value* key = v->find("key");
  if (!id || id->empty() || id->find('/') != std::string::npos || key == nullptr || !key->isObject()) {
    return Status::corruption("chunk metadata lacks id or key");
  }
  m.id = *id;
  m.key.tag = str(*key, "tag").value_or("");
  m.key.time_slice = num(*key, "time").value_or(0);
  if (const Value* vars = key->find("vars"); vars && vars->isObject()) {
    for (const Member& mem : vars->members()) {
      m.key.vars.emplace_back(std::string(mem.key), mem.value.isString() ? std::string(mem.value.asString()) : "");
    }
  }
  m.created_ns = num(*v, "created_ns").value_or(0);
  m.sealed_ns = num(*v, "sealed_ns").value_or(0);
  int64_t records = num(*v, "records").value_or(0), bytes = num(*v, "bytes").value_or(0),
          attempts = num(*v, "attempts").value_or(0);
  if (records < 0 || bytes < 0 || attempts < 0 || attempts > int64_t{UINT32_MAX}) {
    return Status::corruption("chunk metadata has a negative or absurd count");
  }
  m.records = static_cast<uint64_t>(records);
  m.bytes = static_cast<uint64_t>(bytes);
  m.attempts = static_cast<uint32_t>(attempts);
  m.first_failure_ns = num(*v, "first_failure_ns").value_or(0);
  m.next_retry_ns = num(*v, "next_retry_ns").value_or(0);
  m.compress = str(*v, "compress").value_or("text");
  if (m.compress != "text" && m.compress != "gzip" && m.compress != "zstd") {
    return Status::corruption("chunk metadata names an unknown compression");
  }
  return m;
}

FileChunk::FileChunk(std::string dir, ChunkMeta meta, SyncPolicy sync)
    : dir_(std::move(dir)), meta_(std::move(meta)), sync_(sync) {}

FileChunk::~FileChunk() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<FileChunk>> FileChunk::create(const std::string& dir, ChunkKey key, SyncPolicy sync) {
  Status s = ensureDir(dir);
  if (!s) return s;
  ChunkMeta meta;
  meta.id = newId();
  meta.key = std::move(key);
  meta.created_ns = nowNs();
  auto chunk = std::unique_ptr<FileChunk>(new FileChunk(dir, std::move(meta), sync));
  // Metadata first: a chunk file without metadata can only be a leftover.
  s = chunk->saveMeta();
  if (!s) return s;
  chunk->chunk_path_ = chunk->pathFor(false);
  chunk->fd_ = ::open(chunk->chunk_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (chunk->fd_ < 0) return Status::ioError("cannot create " + chunk->chunk_path_ + ": " + errnoText());
  return chunk;
}

Status FileChunk::append(std::string_view bytes, std::span<const uint32_t> ends) {
  return appendFrames(bytes, ends.data(), 0, ends.size(), nullptr);
}

Status FileChunk::append(const FormattedEvents& events, size_t first, size_t count) {
  return appendFrames(events.bytes, events.ends.data(), first, count, events.splices.empty() ? nullptr : &events);
}

Status FileChunk::appendFrames(std::string_view bytes, const uint32_t* ends, size_t first, size_t count,
                               const FormattedEvents* splices) {
  if (sealed()) return Status::internal("append to a sealed chunk");
  // The frames go out with writev(): each header (and a spliced event's table) from small
  // arrays, each payload and entry text from where the output formatted it (no copy into a
  // frame buffer; a queued chunk keeps no buffer). The arrays are sized first: iovecs point
  // into them.
  thread_local std::vector<std::array<char, 8>> headers;
  thread_local std::string tables;
  thread_local std::vector<iovec> iov;
  size_t table_bytes = 0, new_entries_max = 0;
  if (splices != nullptr) {
    const size_t s0 = first == 0 ? 0 : splices->splicesTo(first - 1);
    const size_t s1 = count == 0 ? s0 : splices->splicesTo(first + count - 1);
    new_entries_max = s1 - s0;
    table_bytes = 4 * count + 8 * (s1 - s0);
  }
  headers.resize(count + new_entries_max);
  tables.resize(table_bytes);
  iov.clear();
  iov.reserve(3 * count + 2 * new_entries_max);
  auto putU32 = [](char* p, uint32_t v) {
    for (int b = 0; b < 4; ++b) p[b] = static_cast<char>(v >> (8 * b));
  };
  size_t header = 0, table = 0;
  auto frame = [&](uint32_t word, uint32_t crc) {
    char* h = headers[header++].data();
    putU32(h, word);
    putU32(h + 4, crc);
    iov.push_back({h, 8});
  };
  std::vector<uint64_t> added;  // entries this call adds, forgotten again if it fails
  const uint32_t entries_before = entry_count_;
  uint64_t whole_bytes = 0, written = 0;
  for (size_t i = first; i < first + count; ++i) {
    const uint32_t start = i == 0 ? 0 : ends[i - 1];
    const std::string_view payload = bytes.substr(start, ends[i] - start);
    whole_bytes += payload.size();
    const size_t s0 = splices == nullptr || i == 0 ? 0 : splices->splicesTo(i - 1);
    const size_t s1 = splices == nullptr ? 0 : splices->splicesTo(i);
    if (s0 == s1) {
      frame(static_cast<uint32_t>(payload.size()), crc32Of(payload));
      iov.push_back({const_cast<char*>(payload.data()), payload.size()});
      written += kFrameHeaderBytes + payload.size();
      continue;
    }
    // Entries first: a text this chunk has not stored yet goes in before the event using it.
    char* t = tables.data() + table;
    putU32(t, static_cast<uint32_t>(s1 - s0));
    for (size_t k = s0; k < s1; ++k) {
      const Splice& piece = splices->splices[k];
      whole_bytes += piece.text.size();
      auto [it, fresh] = entries_.try_emplace(piece.id, entry_count_);
      if (fresh) {
        ++entry_count_;
        added.push_back(piece.id);
        frame(kEntryFrame | static_cast<uint32_t>(piece.text.size()), crc32Of(piece.text));
        iov.push_back({const_cast<char*>(piece.text.data()), piece.text.size()});
        written += kFrameHeaderBytes + piece.text.size();
      }
      putU32(t + 4 + 8 * (k - s0), piece.at - start);
      putU32(t + 8 + 8 * (k - s0), it->second);
    }
    const std::string_view spliced_table(t, 4 + 8 * (s1 - s0));
    table += spliced_table.size();
    const auto len = static_cast<uint32_t>(spliced_table.size() + payload.size());
    frame(kSplicedFrame | len, crc32Of(payload, crc32Of(spliced_table)));
    iov.push_back({const_cast<char*>(spliced_table.data()), spliced_table.size()});
    iov.push_back({const_cast<char*>(payload.data()), payload.size()});
    written += kFrameHeaderBytes + len;
  }
  constexpr size_t kIovPerCall = 1024;  // IOV_MAX
  for (size_t at = 0; at < iov.size(); at += kIovPerCall) {
    const size_t n = std::min(kIovPerCall, iov.size() - at);
    size_t total = 0;
    for (size_t k = at; k < at + n; ++k) total += iov[k].iov_len;
    Status s = writevAll(fd_, iov.data() + at, n, total, chunk_path_);
    if (!s) {
      // A full disk: cut back what got in, so the chunk stays whole frames, and forget the
      // entries that did not make it.
      for (uint64_t id : added) entries_.erase(id);
      entry_count_ = entries_before;
      if (::ftruncate(fd_, static_cast<off_t>(file_size_)) != 0) {
        return Status::ioError(s.message() + "; and cannot cut the partial frame back: " + errnoText());
      }
      return s;
    }
  }
  if (sync_ == SyncPolicy::Append && ::fdatasync(fd_) != 0) {
    return Status::ioError("cannot sync " + chunk_path_ + ": " + errnoText());
  }
  file_size_ += written;
  meta_.records += count;
  meta_.bytes += whole_bytes;
  return Status::ok();
}

Status FileChunk::seal(int64_t now_ns) {
  if (sealed()) return Status::ok();
  std::string queued = pathFor(true);
  ::close(fd_);
  fd_ = -1;
  if (::rename(chunk_path_.c_str(), queued.c_str()) != 0) {
    return Status::ioError("cannot rename " + chunk_path_ + ": " + errnoText());
  }
  chunk_path_ = queued;
  // The metadata on disk is left as it is (a file less to create per chunk: on a busy ext4
  // folder each new file costs a search of the inode table): settle() writes it with the
  // sealing time, and recovery takes a chunk by its queued name as sealed.
  meta_.sealed_ns = now_ns;
  return Status::ok();
}

Status FileChunk::settle(std::string_view compression) {
  if (!sealed()) return Status::internal("settle() before seal()");
  const bool sync = sync_ != SyncPolicy::None;
  if (compression != "text" && meta_.compress == "text") {
    auto raw = readWhole(chunk_path_);
    if (!raw) return raw.takeStatus();
    auto packed = buffer::compress(compressionFromName(compression), *raw);
    if (!packed) return packed.takeStatus();
    meta_.compress = std::string(compression);
    // The compressed file replaces the plain one; the metadata saying so follows it. A crash
    // between the two leaves compressed bytes that recovery cannot frame: moved aside.
    Status s = writeFileAtomically(chunk_path_, *packed, sync);
    if (!s) {
      meta_.compress = "text";
      return s;
    }
    file_size_ = packed->size();
  } else if (sync) {
    int fd = ::open(chunk_path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::ioError("cannot open " + chunk_path_ + ": " + errnoText());
    int rc = ::fdatasync(fd);
    ::close(fd);
    if (rc != 0) return Status::ioError("cannot sync " + chunk_path_ + ": " + errnoText());
  }
  return writeFileAtomically(metaPath(), meta_.toJson(), sync);
}

Status FileChunk::saveMeta() const { return writeFileAtomically(metaPath(), meta_.toJson(), false); }

Result<ChunkData> FileChunk::read() const {
  ChunkData out;
  Status s = readInto(out);
  if (!s) return s;
  return out;
}

Status FileChunk::readInto(ChunkData& out) const {
  out.bytes.clear();
  out.ends.clear();
  return appendInto(out);
}

Status FileChunk::appendInto(ChunkData& out) const {
  if (meta_.compress == "text") return appendTextInto(out);
  ChunkData own;
  Status s = readWholeInto(chunk_path_, own.bytes);
  if (!s) return s;
  auto raw = decompress(compressionFromName(meta_.compress), own.bytes);
  if (!raw) return raw.takeStatus();
  const size_t base_bytes = out.bytes.size(), base_ends = out.ends.size();
  FrameScan scan = decodeFrames(*raw, out);
  if (scan.damaged || scan.valid_bytes != raw->size()) {
    out.bytes.resize(base_bytes);
    out.ends.resize(base_ends);
    return Status::corruption("chunk " + chunk_path_ + " has damaged frames");
  }
  return Status::ok();
}

Status FileChunk::appendTextInto(ChunkData& out) const {
  // The file is read 256 KiB at a time into a buffer that stays in the processor's cache, and
  // each frame's payload is checked there and appended to `out` whole (one copy of each byte,
  // no zero-filling of `out`); a frame larger than the buffer is read into a buffer of its own.
  constexpr size_t kWindow = 256 * 1024;
  thread_local std::unique_ptr<char[]> window(new char[kWindow]);
  thread_local std::string large;
  FrameDecoder decoder(out);
  const size_t base_bytes = out.bytes.size(), base_ends = out.ends.size();
  auto fail = [&](Status s) {
    out.bytes.resize(base_bytes);
    out.ends.resize(base_ends);
    return s;
  };
  int fd = ::open(chunk_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::ioError("cannot read " + chunk_path_ + ": " + errnoText());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::ioError("cannot read " + chunk_path_ + ": " + errnoText());
  }
  out.bytes.reserve(base_bytes + static_cast<size_t>(st.st_size));
  char* w = window.get();
  uint64_t offset = 0;  // of the file, where the next read starts
  size_t have = 0;      // bytes in the window, from its start
  bool damaged = false;
  auto readAt = [&](char* into, size_t n, uint64_t at) -> ssize_t {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd, into + got, n - got, static_cast<off_t>(at + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return -1;
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return static_cast<ssize_t>(got);
  };
  while (true) {
    ssize_t n = readAt(w + have, kWindow - have, offset);
    if (n < 0) {
      Status e = Status::ioError("cannot read " + chunk_path_ + ": " + errnoText());
      ::close(fd);
      return fail(e);
    }
    offset += static_cast<uint64_t>(n);
    have += static_cast<size_t>(n);
    const bool eof = static_cast<size_t>(n) == 0 || have < kWindow;
    size_t pos = 0;
    while (have - pos >= kFrameHeaderBytes) {
      const uint32_t word = getU32(w + pos), crc = getU32(w + pos + 4), len = word & kFrameLengthMask;
      if (len > kMaxFrame) {
        damaged = true;
        break;
      }
      if (have - pos - kFrameHeaderBytes >= len) {
        std::string_view payload(w + pos + kFrameHeaderBytes, len);
        if (crc32Of(payload) != crc || !decoder.take(word, payload)) {
          damaged = true;
          break;
        }
        pos += kFrameHeaderBytes + len;
        continue;
      }
      if (kFrameHeaderBytes + len <= kWindow) break;  // the window holds it after a move
      // Larger than the window: read whole into a buffer of its own.
      const size_t in_window = have - pos - kFrameHeaderBytes;
      large.resize(len);
      std::memcpy(large.data(), w + pos + kFrameHeaderBytes, in_window);
      ssize_t rest = readAt(large.data() + in_window, len - in_window, offset);
      if (rest < 0) {
        Status e = Status::ioError("cannot read " + chunk_path_ + ": " + errnoText());
        ::close(fd);
        return fail(e);
      }
      offset += static_cast<uint64_t>(rest);
      const bool good = static_cast<size_t>(rest) == len - in_window && crc32Of(large) == crc && decoder.take(word, large);
      if (large.capacity() > 4 * kWindow) std::string().swap(large);  // not kept for the rare large event
      if (!good) {
        damaged = true;
        break;
      }
      pos = have;
    }
    if (damaged) break;
    std::memmove(w, w + pos, have - pos);
    have -= pos;
    if (eof) break;
  }
  ::close(fd);
  // Bytes left over after the last whole frame (a torn write), or a bad frame: as before, a
  // sealed chunk must be whole.
  if (damaged || have != 0) return fail(Status::corruption("chunk " + chunk_path_ + " has damaged frames"));
  return Status::ok();
}

std::string FileChunk::quarantine() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  std::string bad = dir_ + "/corrupt";
  ::mkdir(bad.c_str(), 0700);
  auto base = [](const std::string& path) { return path.substr(path.rfind('/') + 1); };
  ::rename(chunk_path_.c_str(), (bad + "/" + base(chunk_path_)).c_str());
  ::rename(metaPath().c_str(), (bad + "/" + base(metaPath())).c_str());
  return bad;
}

Status FileChunk::remove() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (::unlink(chunk_path_.c_str()) != 0 && errno != ENOENT) {
    return Status::ioError("cannot delete " + chunk_path_ + ": " + errnoText());
  }
  if (::unlink(metaPath().c_str()) != 0 && errno != ENOENT) {
    return Status::ioError("cannot delete " + metaPath() + ": " + errnoText());
  }
  return Status::ok();
}

FileChunk::Recovered FileChunk::recover(const std::string& dir, SyncPolicy sync, const SourceLogger& log) {
  Recovered out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  std::map<std::string, std::string> metas, chunks;  // id → file name
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.ends_with(".meta")) metas[name.substr(0, name.size() - 5)] = name;
    if (name.ends_with(".b.chunk") || name.ends_with(".q.chunk")) chunks[name.substr(0, name.size() - 8)] = name;
  }
  ::closedir(d);
  auto quarantine = [&](const std::string& id, const std::string& why) {
    std::string bad = dir + "/corrupt";
    ::mkdir(bad.c_str(), 0700);
    for (const auto* m : {&metas, &chunks}) {
      auto it = m->find(id);
      if (it != m->end()) ::rename((dir + "/" + it->second).c_str(), (bad + "/" + it->second).c_str());
    }
    log.error("Buffer chunk " + id + " moved to " + bad + ": " + why);
    out.quarantined.push_back(id);
  };
  for (const auto& [id, chunk_name] : chunks) {
    if (!metas.count(id)) quarantine(id, "it has no metadata");
  }
  for (const auto& [id, meta_name] : metas) {
    auto cit = chunks.find(id);
    if (cit == chunks.end()) {
      quarantine(id, "its chunk file is missing");
      continue;
    }
    auto text = readWhole(dir + "/" + meta_name);
    auto meta = text ? ChunkMeta::fromJson(*text) : Result<ChunkMeta>(text.takeStatus());
    if (!meta || meta->id != id) {
      quarantine(id, "its metadata is unreadable");
      continue;
    }
    std::string path = dir + "/" + cit->second;
    auto bytes = readWhole(path);
    if (bytes && meta->compress != "text") bytes = decompress(compressionFromName(meta->compress), *bytes);
    if (!bytes) {
      quarantine(id, bytes.status().message());
      continue;
    }
    FrameScan scan = scanFrames(*bytes);
    if (scan.damaged) {
      quarantine(id, "a frame before the end fails its checksum");
      continue;
    }
    if (scan.valid_bytes < bytes->size() && meta->compress != "text") {
      quarantine(id, "its compressed frames are incomplete");
      continue;
    }
    if (scan.valid_bytes < bytes->size()) {
      // A torn last frame: cut it off (its event was never acknowledged as appended).
      out.cut_bytes += bytes->size() - scan.valid_bytes;
      if (::truncate(path.c_str(), static_cast<off_t>(scan.valid_bytes)) != 0) {
        quarantine(id, "cannot cut its torn tail: " + errnoText());
        continue;
      }
      log.warn("Buffer chunk " + id + ": cut a torn last frame (" +
               std::to_string(bytes->size() - scan.valid_bytes) + " bytes) left by a crash");
    }
    bool sealed = cit->second.ends_with(".q.chunk");
    auto chunk = std::unique_ptr<FileChunk>(new FileChunk(dir, std::move(*meta), sync));
    chunk->chunk_path_ = path;
    chunk->file_size_ = scan.valid_bytes;
    chunk->meta_.records = scan.data.ends.size();
    chunk->meta_.bytes = scan.data.bytes.size();
    chunk->entry_count_ = scan.entries;
    if (sealed) {
      if (chunk->meta_.sealed_ns == 0) chunk->meta_.sealed_ns = nowNs();
      out.queued.push_back(std::move(chunk));
    } else {
      chunk->meta_.sealed_ns = 0;
      chunk->fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      if (chunk->fd_ < 0) {
        quarantine(id, "cannot reopen it: " + errnoText());
        continue;
      }
      out.staged.push_back(std::move(chunk));
    }
  }
  return out;
}

}  // namespace sluice::buffer
