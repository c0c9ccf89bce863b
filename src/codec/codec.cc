// SPDX-License-Identifier: Apache-2.0
#include "codec/codec.h"

#include <zlib.h>
#include <zstd.h>

namespace sluice::codec {

Compression compressionFromName(std::string_view name) {
  if (name == "gzip") return Compression::Gzip;
  if (name == "zstd") return Compression::Zstd;
  return Compression::Text;
}

std::string_view compressionName(Compression c) {
  switch (c) {
    case Compression::Gzip: return "gzip";
    case Compression::Zstd: return "zstd";
    default: return "text";
  }
}

Result<std::string> compress(Compression c, std::string_view data, int level) {
  if (c == Compression::Text) return std::string(data);
  if (c == Compression::Zstd) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level < 0 ? 3 : level);
    if (ZSTD_isError(n)) return Status::internal(std::string("zstd: ") + ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  z_stream zs{};
  if (deflateInit2(&zs, level < 0 ? Z_DEFAULT_COMPRESSION : level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::internal("gzip: deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t n = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::internal("gzip: deflate failed");
  out.resize(n);
  return out;
}

Result<std::string> decompress(Compression c, std::string_view data) {
  if (c == Compression::Text) return std::string(data);
  if (c == Compression::Zstd) {
    unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ULL << 34)) {
      return Status::corruption("zstd: not a zstd frame with a known size");
    }
    std::string out(size, '\0');
    size_t n = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
    if (ZSTD_isError(n) || n != size) return Status::corruption(std::string("zstd: ") + ZSTD_getErrorName(n));
    return out;
  }
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return Status::internal("gzip: inflateInit2 failed");
  std::string out;
  char buf[65536];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::corruption("gzip: damaged data");
    }
    out.append(buf, sizeof(buf) - zs.avail_out);
  } while (rc != Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

}  // namespace sluice::codec
