// Test helpers for the container scanners: zip and tar builders that can also
// write hostile variants (duplicate names, mismatched local headers, unlisted
// entries, prefix data, zip64, flagged entries, deflate), compressors for
// every wrapper format, a ByteSource that records which bytes were read, and
// small report queries. Header-only: only *_test.cpp files are compiled.
#pragma once

#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "scan/context.hpp"
#include "scan/engine.hpp"
#include "util/byte_source.hpp"

namespace hfaudit::test {

inline void put16(std::string& s, uint16_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>(v >> 8);
}
inline void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v & 0xffff));
  put16(s, static_cast<uint16_t>(v >> 16));
}
inline void put64(std::string& s, uint64_t v) {
  put32(s, static_cast<uint32_t>(v & 0xffffffffu));
  put32(s, static_cast<uint32_t>(v >> 32));
}

// ---- compressors -----------------------------------------------------------

// windowBits: -15 raw deflate, 15 zlib, 31 gzip.
inline std::string deflate_with(const std::string& data, int window_bits) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
inline std::string deflate_raw(const std::string& data) {
  return deflate_with(data, -15);
}
inline std::string zlib_compress(const std::string& data) {
  return deflate_with(data, 15);
}
inline std::string gzip_compress(const std::string& data) {
  return deflate_with(data, 31);
}

inline std::string bzip2_compress(const std::string& data) {
  auto cap = static_cast<unsigned int>(data.size() + data.size() / 100 + 600);
  std::string out(cap, '\0');
  if (BZ2_bzBuffToBuffCompress(out.data(), &cap, const_cast<char*>(data.data()),
                               static_cast<unsigned int>(data.size()), 9, 0, 0) != BZ_OK)
    throw std::runtime_error("bzip2");
  out.resize(cap);
  return out;
}

inline std::string lzma_encode(const std::string& data, bool alone) {
  lzma_stream strm = LZMA_STREAM_INIT;
  lzma_ret rc;
  if (alone) {
    lzma_options_lzma opt;
    lzma_lzma_preset(&opt, 6);
    rc = lzma_alone_encoder(&strm, &opt);
  } else {
    rc = lzma_easy_encoder(&strm, 6, LZMA_CHECK_CRC64);
  }
  if (rc != LZMA_OK) throw std::runtime_error("lzma init");
  std::string out(data.size() + data.size() / 2 + 4096, '\0');
  strm.next_in = reinterpret_cast<const uint8_t*>(data.data());
  strm.avail_in = data.size();
  strm.next_out = reinterpret_cast<uint8_t*>(out.data());
  strm.avail_out = out.size();
  rc = lzma_code(&strm, LZMA_FINISH);
  if (rc != LZMA_STREAM_END) throw std::runtime_error("lzma");
  out.resize(strm.total_out);
  lzma_end(&strm);
  return out;
}
inline std::string xz_compress(const std::string& data) {
  return lzma_encode(data, false);
}
inline std::string lzma_alone_compress(const std::string& data) {
  return lzma_encode(data, true);
}

inline std::string zstd_compress(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  if (ZSTD_isError(n)) throw std::runtime_error("zstd");
  out.resize(n);
  return out;
}

// ---- zip -------------------------------------------------------------------

struct ZipMember {
  std::string name;
  std::string data;     // uncompressed content
  uint16_t method = 0;  // 0 stored, 8 deflated here, others: data written as-is
  uint16_t flags = 0;   // central-directory flags
  std::optional<uint16_t> local_flags;
  std::optional<std::string> local_name;
  std::optional<uint16_t> local_method;
  std::optional<uint32_t> local_crc;
  std::optional<uint32_t> local_compressed_size;
  std::optional<uint32_t> declared_size;  // central uncompressed size override
  bool data_descriptor = false;           // sizes after the data (flag bit 3 everywhere)
  bool listed = true;                     // false: local header only, no central record
  uint16_t align = 0;                     // pad the local extra field so data is aligned
};

struct BuiltZip {
  std::string bytes;
  std::vector<uint64_t> data_offsets;  // per member, in add() order
  std::vector<uint64_t> data_sizes;    // compressed sizes
};

class ZipBuilder {
 public:
  ZipBuilder& add(ZipMember m) {
    m_members.push_back(std::move(m));
    return *this;
  }
  ZipBuilder& add(std::string name, std::string data, uint16_t method = 0) {
    ZipMember m;
    m.name = std::move(name);
    m.data = std::move(data);
    m.method = method;
    return add(std::move(m));
  }
  // Bytes before the archive; offsets are adjusted to the file unless
  // `relative` (then they are relative to the archive, like `cat a b`).
  ZipBuilder& prefix(std::string bytes, bool relative = false) {
    m_prefix = std::move(bytes);
    m_relative = relative;
    return *this;
  }
  ZipBuilder& trailing(std::string bytes) {
    m_trailing = std::move(bytes);
    return *this;
  }
  ZipBuilder& comment(std::string c) {
    m_comment = std::move(c);
    return *this;
  }
  ZipBuilder& zip64(bool on = true) {
    m_zip64 = on;
    return *this;
  }
  // Writes this many central records but declares `n` in the end record.
  ZipBuilder& declared_count(uint16_t n) {
    m_declared = n;
    return *this;
  }

  BuiltZip build() const {
    BuiltZip out;
    std::string& s = out.bytes;
    s = m_prefix;
    const uint64_t base = m_relative ? m_prefix.size() : 0;
    std::string central;
    uint64_t listed = 0;
    for (const auto& m : m_members) {
      const std::string payload = m.method == 8 ? deflate_raw(m.data) : m.data;
      const uint32_t crc = static_cast<uint32_t>(crc32(
          0L, reinterpret_cast<const Bytef*>(m.data.data()), static_cast<uInt>(m.data.size())));
      const uint64_t local_offset = s.size() - base;
      const uint16_t flags = static_cast<uint16_t>(m.flags | (m.data_descriptor ? 0x8 : 0));
      const uint16_t lflags =
          static_cast<uint16_t>(m.local_flags.value_or(m.flags) | (m.data_descriptor ? 0x8 : 0));
      const std::string& lname = m.local_name ? *m.local_name : m.name;
      std::string lextra;
      if (m_zip64) {
        put16(lextra, 1);
        put16(lextra, 16);
        put64(lextra, m.data_descriptor ? 0 : m.data.size());
        put64(lextra, m.data_descriptor ? 0 : payload.size());
      }
      if (m.align) {
        const uint64_t data_at = s.size() + 30 + lname.size() + lextra.size() + 4;
        const uint64_t pad = (m.align - data_at % m.align) % m.align;
        put16(lextra, 0x4246);  // "FB", what torch uses
        put16(lextra, static_cast<uint16_t>(pad));
        lextra.append(pad, 'Z');
      }
      put32(s, 0x04034b50);
      put16(s, m_zip64 ? 45 : 20);
      put16(s, lflags);
      put16(s, m.local_method.value_or(m.method));
      put16(s, 0);
      put16(s, 0x21);
      put32(s, m.data_descriptor ? 0 : m.local_crc.value_or(crc));
      if (m_zip64) {
        put32(s, 0xffffffffu);
        put32(s, 0xffffffffu);
      } else {
        put32(s, m.data_descriptor
                     ? 0
                     : m.local_compressed_size.value_or(static_cast<uint32_t>(payload.size())));
        put32(s, m.data_descriptor ? 0 : static_cast<uint32_t>(m.data.size()));
      }
      put16(s, static_cast<uint16_t>(lname.size()));
      put16(s, static_cast<uint16_t>(lextra.size()));
      s += lname;
      s += lextra;
      out.data_offsets.push_back(s.size());
      out.data_sizes.push_back(payload.size());
      s += payload;
      if (m.data_descriptor) {
        put32(s, 0x08074b50);
        put32(s, crc);
        if (m_zip64) {
          put64(s, payload.size());
          put64(s, m.data.size());
        } else {
          put32(s, static_cast<uint32_t>(payload.size()));
          put32(s, static_cast<uint32_t>(m.data.size()));
        }
      }
      if (!m.listed) continue;
      ++listed;
      const uint64_t usize = m.declared_size.value_or(static_cast<uint32_t>(m.data.size()));
      std::string cextra;
      if (m_zip64) {
        put16(cextra, 1);
        put16(cextra, 24);
        put64(cextra, usize);
        put64(cextra, payload.size());
        put64(cextra, local_offset);
      }
      put32(central, 0x02014b50);
      put16(central, m_zip64 ? 45 : 20);
      put16(central, m_zip64 ? 45 : 20);
      put16(central, flags);
      put16(central, m.method);
      put16(central, 0);
      put16(central, 0x21);
      put32(central, crc);
      put32(central, m_zip64 ? 0xffffffffu : static_cast<uint32_t>(payload.size()));
      put32(central, m_zip64 ? 0xffffffffu : static_cast<uint32_t>(usize));
      put16(central, static_cast<uint16_t>(m.name.size()));
      put16(central, static_cast<uint16_t>(cextra.size()));
      put16(central, 0);
      put16(central, 0);
      put16(central, 0);
      put32(central, 0);
      put32(central, m_zip64 ? 0xffffffffu : static_cast<uint32_t>(local_offset));
      central += m.name;
      central += cextra;
    }
    const uint64_t cd_offset = s.size() - base;
    s += central;
    const uint64_t count = m_declared.value_or(static_cast<uint16_t>(listed));
    if (m_zip64) {
      const uint64_t eocd64 = s.size() - base;
      put32(s, 0x06064b50);
      put64(s, 44);
      put16(s, 45);
      put16(s, 45);
      put32(s, 0);
      put32(s, 0);
      put64(s, count);
      put64(s, count);
      put64(s, central.size());
      put64(s, cd_offset);
      put32(s, 0x07064b50);
      put32(s, 0);
      put64(s, eocd64);
      put32(s, 1);
    }
    put32(s, 0x06054b50);
    put16(s, 0);
    put16(s, 0);
    put16(s, m_zip64 ? 0xffff : static_cast<uint16_t>(count));
    put16(s, m_zip64 ? 0xffff : static_cast<uint16_t>(count));
    put32(s, m_zip64 ? 0xffffffffu : static_cast<uint32_t>(central.size()));
    put32(s, m_zip64 ? 0xffffffffu : static_cast<uint32_t>(cd_offset));
    put16(s, static_cast<uint16_t>(m_comment.size()));
    s += m_comment;
    s += m_trailing;
    return out;
  }

 private:
  std::vector<ZipMember> m_members;
  std::string m_prefix;
  bool m_relative = false;
  std::string m_trailing;
  std::string m_comment;
  bool m_zip64 = false;
  std::optional<uint16_t> m_declared;
};

// ---- tar -------------------------------------------------------------------

struct TarMember {
  TarMember(std::string name_, std::string data_, char type_ = '0', std::string linkname_ = {})
      : name(std::move(name_)),
        data(std::move(data_)),
        type(type_),
        linkname(std::move(linkname_)) {}
  std::string name;
  std::string data;
  char type = '0';
  std::string linkname;
  bool pax_path = false;       // name written through a PAX 'path' record
  bool gnu_long_name = false;  // name written through a GNU 'L' record
  bool base256_size = false;
  bool bad_checksum = false;
};

inline std::string tar_header(const std::string& name, uint64_t size, char type,
                              const std::string& linkname, bool base256, bool bad_checksum) {
  std::string h(512, '\0');
  std::copy_n(name.begin(), std::min<size_t>(name.size(), 100), h.begin());
  auto octal = [&](size_t at, size_t width, uint64_t v) {
    std::string digits;
    do {
      digits.insert(digits.begin(), static_cast<char>('0' + (v & 7)));
      v >>= 3;
    } while (v);
    while (digits.size() < width - 1) digits.insert(digits.begin(), '0');
    std::copy(digits.begin(), digits.end(), h.begin() + static_cast<std::ptrdiff_t>(at));
  };
  octal(100, 8, 0644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  if (base256) {
    h[124] = static_cast<char>(0x80);
    for (int i = 0; i < 8; ++i)
      h[135 - static_cast<size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xff);
  } else {
    octal(124, 12, size);
  }
  octal(136, 12, 0);
  h[156] = type;
  std::copy_n(linkname.begin(), std::min<size_t>(linkname.size(), 100), h.begin() + 157);
  std::copy_n(
      "ustar\0"
      "00",
      8, h.begin() + 257);
  std::fill(h.begin() + 148, h.begin() + 156, ' ');
  unsigned sum = 0;
  for (const char c : h) sum += static_cast<unsigned char>(c);
  if (bad_checksum) sum += 1;
  std::string cks(8, '\0');
  for (int i = 5; i >= 0; --i) {
    cks[static_cast<size_t>(i)] = static_cast<char>('0' + (sum & 7));
    sum >>= 3;
  }
  cks[6] = '\0';
  cks[7] = ' ';
  std::copy(cks.begin(), cks.end(), h.begin() + 148);
  return h;
}

inline void tar_pad(std::string& s) {
  s.append((512 - s.size() % 512) % 512, '\0');
}

inline std::string pax_record(const std::string& key, const std::string& value) {
  const std::string body = " " + key + "=" + value + "\n";
  size_t len = body.size() + 1;
  while (std::to_string(len).size() + body.size() != len) ++len;
  return std::to_string(len) + body;
}

inline std::string build_tar(const std::vector<TarMember>& members, bool end_marker = true) {
  std::string s;
  for (const auto& m : members) {
    std::string name = m.name;
    if (m.pax_path) {
      const std::string rec = pax_record("path", m.name);
      s += tar_header("PaxHeaders/x", rec.size(), 'x', "", false, false);
      s += rec;
      tar_pad(s);
      name = "short-name";
    } else if (m.gnu_long_name) {
      const std::string rec = m.name + '\0';
      s += tar_header("././@LongLink", rec.size(), 'L', "", false, false);
      s += rec;
      tar_pad(s);
      name = m.name.substr(0, 99);
    }
    s += tar_header(name, m.data.size(), m.type, m.linkname, m.base256_size, m.bad_checksum);
    s += m.data;
    tar_pad(s);
  }
  if (end_marker) s.append(1024, '\0');
  return s;
}

// ---- npy -------------------------------------------------------------------

// An .npy file with `dict` as its header, padded to 64 bytes like numpy does.
inline std::string make_npy(const std::string& dict, const std::string& body, int major = 1) {
  std::string header = dict;
  const size_t fixed = major == 1 ? 10 : 12;
  header.append((64 - (fixed + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  if (major == 1)
    put16(out, static_cast<uint16_t>(header.size()));
  else
    put32(out, static_cast<uint32_t>(header.size()));
  return out + header + body;
}

// ---- sources and reports ---------------------------------------------------

// Records every byte range read through it.
class CountingSource final : public util::ByteSource {
 public:
  explicit CountingSource(const util::ByteSource& inner) : m_inner(inner) {}
  uint64_t size() const override { return m_inner.size(); }
  util::Result<size_t> read_at(uint64_t offset, char* out, size_t length) const override {
    auto n = m_inner.read_at(offset, out, length);
    if (n && *n > 0) m_reads.emplace_back(offset, offset + *n);
    return n;
  }
  // True if any read touched [begin, end).
  bool touched(uint64_t begin, uint64_t end) const {
    return std::any_of(m_reads.begin(), m_reads.end(),
                       [&](const auto& r) { return r.first < end && begin < r.second; });
  }
  uint64_t bytes_read() const {
    uint64_t n = 0;
    for (const auto& r : m_reads) n += r.second - r.first;
    return n;
  }

 private:
  const util::ByteSource& m_inner;
  mutable std::vector<std::pair<uint64_t, uint64_t>> m_reads;
};

inline scan::FileReport scan_bytes(std::string bytes, const std::string& name,
                                   const scan::ScanLimits& limits = {}) {
  scan::ScanOptions options;
  options.limits = limits;
  return scan::scan_source(util::MemorySource(std::move(bytes)), name, options);
}

// Scans `bytes` as if a container had handed them on with a forced format:
// reaches a scanner whatever the content sniffs as (a prefixed zip, say).
inline scan::FileReport scan_forced(const util::ByteSource& bytes, const std::string& name,
                                    scan::Format format, const scan::ScanLimits& limits = {}) {
  scan::FileReport report;
  report.path = name;
  report.size = bytes.size();
  scan::ScanContext ctx(report, limits);
  ctx.scan_nested(bytes, name, format);
  return report;
}

inline size_t count_rule(const scan::FileReport& r, const std::string& rule) {
  return static_cast<size_t>(std::count_if(r.findings.begin(), r.findings.end(),
                                           [&](const scan::Finding& f) { return f.rule == rule; }));
}
inline const scan::Finding* find_rule(const scan::FileReport& r, const std::string& rule) {
  for (const auto& f : r.findings)
    if (f.rule == rule) return &f;
  return nullptr;
}
inline const scan::ObjectReport* find_object(const scan::FileReport& r, const std::string& member) {
  for (const auto& o : r.objects)
    if (o.member == member) return &o;
  return nullptr;
}
inline size_t count_objects(const scan::FileReport& r, const std::string& member) {
  return static_cast<size_t>(std::count_if(r.objects.begin(), r.objects.end(),
                                           [&](const auto& o) { return o.member == member; }));
}

// Small pickles (protocol 2) for members whose role is "a pickle".
inline std::string pickle_int(uint8_t v) {
  return std::string("\x80\x02K", 3) + static_cast<char>(v) + ".";
}
inline const std::string k_pickle_empty_dict("\x80\x02}q\x00.", 6);

}  // namespace hfaudit::test

// Readable values in Boost.Test failure messages (a specialisation rather than
// operator<<, so it cannot collide with printers other test files define).
namespace boost::test_tools::tt_detail {
template <>
struct print_log_value<hfaudit::scan::Format> {
  void operator()(std::ostream& os, hfaudit::scan::Format f) { os << hfaudit::scan::to_string(f); }
};
template <>
struct print_log_value<hfaudit::scan::Severity> {
  void operator()(std::ostream& os, hfaudit::scan::Severity s) {
    os << hfaudit::scan::to_string(s);
  }
};
}  // namespace boost::test_tools::tt_detail
