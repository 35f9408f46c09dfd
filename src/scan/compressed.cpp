// Whole-file compression wrappers: gzip (multi-member), bzip2 (multi-stream),
// xz, lzma-alone, zstd (multi-frame) and zlib. joblib writes its compressed
// files this way, and people gzip pickles. The stream is decoded
// incrementally into memory with a hard cap (per-member limit, compression
// ratio, the per-file budget of ScanContext::charge_expanded), then the
// result is scanned as nested content. A corrupt or truncated stream is a
// finding, and whatever decoded before the damage is still scanned: a
// payload at the front of a broken stream still runs in a loader that
// decompresses incrementally.
#include <bzlib.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <string>

#include "scan/format_scanners.hpp"

namespace hfaudit::scan {

namespace {

constexpr size_t k_in_chunk = 64 * 1024;
constexpr size_t k_out_chunk = 256 * 1024;
// Ratios only mean "bomb" once the output is large enough to hurt.
constexpr uint64_t k_ratio_floor = 1ull << 20;
// Decoder memory a header may ask for (xz/lzma dictionaries, zstd windows).
constexpr uint64_t k_lzma_memlimit = 256ull << 20;
constexpr int k_zstd_window_log_max = 27;  // 128 MiB
// Trailing zeros after a gzip member are tolerated padding up to this size.
constexpr uint64_t k_max_zero_padding = 64 * 1024;

enum class Codec { gzip, zlib, bzip2, xz, lzma, zstd };

std::string_view codec_name(Codec c) {
  switch (c) {
    case Codec::gzip:
      return "gzip";
    case Codec::zlib:
      return "zlib";
    case Codec::bzip2:
      return "bzip2";
    case Codec::xz:
      return "xz";
    case Codec::lzma:
      return "lzma";
    case Codec::zstd:
      return "zstd";
  }
  return "?";
}

std::optional<Codec> detect(std::string_view head) {
  auto starts = [&](std::string_view p) { return head.substr(0, p.size()) == p; };
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(head[i]); };
  if (starts("\x1f\x8b")) return Codec::gzip;
  if (starts("BZh")) return Codec::bzip2;
  if (starts(std::string_view("\xfd"
                              "7zXZ\x00",
                              6)))
    return Codec::xz;
  if (starts("\x28\xb5\x2f\xfd")) return Codec::zstd;
  if (head.size() >= 2 && byte(0) == 0x78 && ((byte(0) << 8) | byte(1)) % 31 == 0)
    return Codec::zlib;
  if (head.size() >= 3 && byte(0) == 0x5d && byte(1) == 0 && byte(2) == 0) return Codec::lzma;
  return std::nullopt;
}

// Does `head` start another member/stream/frame this codec would continue with?
bool starts_next_member(Codec c, std::string_view head) {
  switch (c) {
    case Codec::gzip:
      return head.substr(0, 2) == "\x1f\x8b";
    case Codec::bzip2:
      return head.substr(0, 3) == "BZh";
    case Codec::zstd:
      // zstd frames, and skippable frames 0x184D2A5?
      return head.substr(0, 4) == "\x28\xb5\x2f\xfd" ||
             (head.size() >= 4 && (static_cast<unsigned char>(head[0]) & 0xf0) == 0x50 &&
              head.substr(1, 3) == "\x2a\x4d\x18");
    default:
      return false;  // xz concatenation is handled inside liblzma
  }
}

enum class Step { more, end, error };

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Decodes from [in, in+in_len) into [out, out+out_len).
  virtual Step run(const char* in, size_t in_len, size_t& consumed, char* out, size_t out_len,
                   size_t& produced) = 0;
  // Prepares for the next member after Step::end.
  virtual bool restart() = 0;
  std::string error;
};

class ZlibDecoder final : public Decoder {
 public:
  explicit ZlibDecoder(int window_bits) : m_window_bits(window_bits) { m_ok = init(); }
  ~ZlibDecoder() override {
    if (m_ok) inflateEnd(&m_zs);
  }
  ZlibDecoder(const ZlibDecoder&) = delete;
  ZlibDecoder& operator=(const ZlibDecoder&) = delete;

  Step run(const char* in, size_t in_len, size_t& consumed, char* out, size_t out_len,
           size_t& produced) override {
    if (!m_ok) {
      error = "cannot initialise zlib";
      return Step::error;
    }
    m_zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in));
    m_zs.avail_in = static_cast<uInt>(in_len);
    m_zs.next_out = reinterpret_cast<Bytef*>(out);
    m_zs.avail_out = static_cast<uInt>(out_len);
    const int rc = inflate(&m_zs, Z_NO_FLUSH);
    consumed = in_len - m_zs.avail_in;
    produced = out_len - m_zs.avail_out;
    if (rc == Z_STREAM_END) return Step::end;
    if (rc == Z_OK || (rc == Z_BUF_ERROR && (consumed || produced || in_len == 0)))
      return Step::more;
    error = m_zs.msg ? m_zs.msg : "inflate error " + std::to_string(rc);
    return Step::error;
  }
  bool restart() override { return inflateReset(&m_zs) == Z_OK; }

 private:
  bool init() { return inflateInit2(&m_zs, m_window_bits) == Z_OK; }
  int m_window_bits;
  z_stream m_zs{};
  bool m_ok = false;
};

class Bzip2Decoder final : public Decoder {
 public:
  Bzip2Decoder() { m_ok = BZ2_bzDecompressInit(&m_bz, 0, 0) == BZ_OK; }
  ~Bzip2Decoder() override {
    if (m_ok) BZ2_bzDecompressEnd(&m_bz);
  }
  Bzip2Decoder(const Bzip2Decoder&) = delete;
  Bzip2Decoder& operator=(const Bzip2Decoder&) = delete;

  Step run(const char* in, size_t in_len, size_t& consumed, char* out, size_t out_len,
           size_t& produced) override {
    if (!m_ok) {
      error = "cannot initialise bzip2";
      return Step::error;
    }
    m_bz.next_in = const_cast<char*>(in);
    m_bz.avail_in = static_cast<unsigned>(in_len);
    m_bz.next_out = out;
    m_bz.avail_out = static_cast<unsigned>(out_len);
    const int rc = BZ2_bzDecompress(&m_bz);
    consumed = in_len - m_bz.avail_in;
    produced = out_len - m_bz.avail_out;
    if (rc == BZ_STREAM_END) return Step::end;
    if (rc == BZ_OK) return Step::more;
    error = "bzip2 error " + std::to_string(rc);
    return Step::error;
  }
  bool restart() override {
    BZ2_bzDecompressEnd(&m_bz);
    m_bz = bz_stream{};
    m_ok = BZ2_bzDecompressInit(&m_bz, 0, 0) == BZ_OK;
    return m_ok;
  }

 private:
  bz_stream m_bz{};
  bool m_ok = false;
};

class LzmaDecoder final : public Decoder {
 public:
  explicit LzmaDecoder(bool alone) {
    m_ok = (alone ? lzma_alone_decoder(&m_strm, k_lzma_memlimit)
                  : lzma_stream_decoder(&m_strm, k_lzma_memlimit, LZMA_CONCATENATED)) == LZMA_OK;
  }
  ~LzmaDecoder() override { lzma_end(&m_strm); }
  LzmaDecoder(const LzmaDecoder&) = delete;
  LzmaDecoder& operator=(const LzmaDecoder&) = delete;

  Step run(const char* in, size_t in_len, size_t& consumed, char* out, size_t out_len,
           size_t& produced) override {
    if (!m_ok) {
      error = "cannot initialise liblzma";
      return Step::error;
    }
    m_strm.next_in = reinterpret_cast<const uint8_t*>(in);
    m_strm.avail_in = in_len;
    m_strm.next_out = reinterpret_cast<uint8_t*>(out);
    m_strm.avail_out = out_len;
    // With LZMA_CONCATENATED the decoder only knows the input ended when told.
    const lzma_ret rc = lzma_code(&m_strm, in_len == 0 ? LZMA_FINISH : LZMA_RUN);
    consumed = in_len - m_strm.avail_in;
    produced = out_len - m_strm.avail_out;
    if (rc == LZMA_STREAM_END) return Step::end;
    if (rc == LZMA_OK || (rc == LZMA_BUF_ERROR && (consumed || produced))) return Step::more;
    switch (rc) {
      case LZMA_MEMLIMIT_ERROR:
        error = "the stream needs more decoder memory than allowed";
        break;
      case LZMA_FORMAT_ERROR:
        error = "not an xz/lzma stream";
        break;
      case LZMA_DATA_ERROR:
        error = "corrupt data";
        break;
      case LZMA_BUF_ERROR:
        error = "truncated stream";
        break;
      default:
        error = "liblzma error " + std::to_string(static_cast<int>(rc));
        break;
    }
    return Step::error;
  }
  bool restart() override { return false; }

 private:
  lzma_stream m_strm = LZMA_STREAM_INIT;
  bool m_ok = false;
};

class ZstdDecoder final : public Decoder {
 public:
  ZstdDecoder() : m_ctx(ZSTD_createDCtx()) {
    if (m_ctx) ZSTD_DCtx_setParameter(m_ctx, ZSTD_d_windowLogMax, k_zstd_window_log_max);
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(m_ctx); }
  ZstdDecoder(const ZstdDecoder&) = delete;
  ZstdDecoder& operator=(const ZstdDecoder&) = delete;

  Step run(const char* in, size_t in_len, size_t& consumed, char* out, size_t out_len,
           size_t& produced) override {
    if (!m_ctx) {
      error = "cannot initialise zstd";
      return Step::error;
    }
    ZSTD_inBuffer input{in, in_len, 0};
    ZSTD_outBuffer output{out, out_len, 0};
    const size_t rc = ZSTD_decompressStream(m_ctx, &output, &input);
    consumed = input.pos;
    produced = output.pos;
    if (ZSTD_isError(rc)) {
      error = ZSTD_getErrorName(rc);
      return Step::error;
    }
    // 0: a frame is complete and flushed.
    return rc == 0 ? Step::end : Step::more;
  }
  bool restart() override { return true; }  // the context continues with the next frame

 private:
  ZSTD_DCtx* m_ctx;
};

std::unique_ptr<Decoder> make_decoder(Codec c) {
  switch (c) {
    case Codec::gzip:
      return std::make_unique<ZlibDecoder>(16 + MAX_WBITS);
    case Codec::zlib:
      return std::make_unique<ZlibDecoder>(MAX_WBITS);
    case Codec::bzip2:
      return std::make_unique<Bzip2Decoder>();
    case Codec::xz:
      return std::make_unique<LzmaDecoder>(false);
    case Codec::lzma:
      return std::make_unique<LzmaDecoder>(true);
    case Codec::zstd:
      return std::make_unique<ZstdDecoder>();
  }
  return nullptr;
}

bool all_zero(const util::ByteSource& bytes, uint64_t from) {
  if (bytes.size() - from > k_max_zero_padding) return false;
  auto rest = bytes.read_string(from, static_cast<size_t>(bytes.size() - from));
  return rest && rest->find_first_not_of('\0') == std::string::npos;
}

void scan_compressed_impl(ScanContext& ctx, const util::ByteSource& bytes) {
  auto head = bytes.read_string(0, 8);
  if (!head) {
    ctx.report("scan.read_error", Severity::medium, 0, head.error().message);
    return;
  }
  const auto codec = detect(*head);
  if (!codec) {
    ctx.report("compressed.malformed", Severity::medium, 0,
               "no known compression header; nothing was decoded");
    return;
  }
  auto decoder = make_decoder(*codec);
  const ScanLimits& limits = ctx.limits();
  const uint64_t in_size = bytes.size();
  uint64_t ratio_cap =
      limits.max_compression_ratio != 0 && in_size > UINT64_MAX / limits.max_compression_ratio
          ? UINT64_MAX
          : in_size * limits.max_compression_ratio;
  ratio_cap = std::max(ratio_cap, k_ratio_floor);
  const uint64_t cap = std::min(limits.max_expanded_member, ratio_cap);

  std::string out;
  std::string in_buf(k_in_chunk, '\0');
  std::string out_buf(k_out_chunk, '\0');
  uint64_t in_pos = 0;  // file offset of in_buf[in_at]
  size_t in_at = 0, in_len = 0;
  uint64_t members = 0;
  int stalls = 0;
  bool stream_done = false;  // the last member ended cleanly
  enum class Stop { none, capped, vetoed, error, truncated, trailing } stop = Stop::none;
  std::string error;

  while (stop == Stop::none) {
    if (in_at == in_len && in_pos < in_size) {
      auto n = bytes.read_at(in_pos, in_buf.data(), in_buf.size());
      if (!n) {
        ctx.report("scan.read_error", Severity::medium, in_pos, n.error().message);
        stop = Stop::error;
        error = "read error";
        break;
      }
      in_at = 0;
      in_len = *n;
    }
    const bool input_left = in_at < in_len;
    if (stream_done) {
      if (!input_left) break;
      // Another member, or trailing bytes?
      auto next = bytes.read_string(in_pos, 4);
      if (next && starts_next_member(*codec, *next) && decoder->restart()) {
        stream_done = false;
        continue;
      }
      stop = Stop::trailing;
      break;
    }
    size_t consumed = 0, produced = 0;
    const Step step = decoder->run(in_buf.data() + in_at, in_len - in_at, consumed, out_buf.data(),
                                   out_buf.size(), produced);
    in_at += consumed;
    in_pos += consumed;
    if (produced > 0) {
      const uint64_t room = cap - std::min<uint64_t>(cap, out.size());
      const uint64_t keep = std::min<uint64_t>(produced, room);
      if (keep > 0 && !ctx.charge_expanded(keep, in_pos)) {
        stop = Stop::vetoed;
        break;
      }
      out.append(out_buf.data(), static_cast<size_t>(keep));
      if (keep < produced) {
        stop = Stop::capped;
        break;
      }
    }
    if (step == Step::error) {
      stop = Stop::error;
      error = decoder->error;
      break;
    }
    if (step == Step::end) {
      ++members;
      stream_done = true;
      continue;
    }
    if (consumed == 0 && produced == 0 && input_left && ++stalls > 2) {
      stop = Stop::error;
      error = "the decoder made no progress";
      break;
    }
    if (consumed == 0 && produced == 0 && !input_left && in_pos >= in_size) {
      // liblzma with LZMA_CONCATENATED reports the end only when told the
      // input is finished (which an empty run does); others are truncated.
      stop = Stop::truncated;
    }
  }

  nlohmann::json& d = ctx.details();
  d["codec"] = std::string(codec_name(*codec));
  d["decompressed_bytes"] = out.size();
  d["members"] = members;
  switch (stop) {
    case Stop::none:
      break;
    case Stop::capped:
      if (out.size() >= limits.max_expanded_member)
        ctx.report("container.bomb", Severity::medium, in_pos,
                   "decompresses beyond the per-member limit of " +
                       std::to_string(limits.max_expanded_member) +
                       " bytes; only the first part was scanned");
      else
        ctx.report("container.bomb", Severity::high, in_pos,
                   "compression ratio exceeds " + std::to_string(limits.max_compression_ratio) +
                       ":1 (decompression bomb); only the first " + std::to_string(out.size()) +
                       " bytes were scanned");
      break;
    case Stop::vetoed:
      break;  // ScanContext reported the exhausted budget
    case Stop::error:
      ctx.report("compressed.malformed", Severity::medium, in_pos,
                 std::string(codec_name(*codec)) + " stream is corrupt (" + error + "); the " +
                     std::to_string(out.size()) + " bytes decoded before it were scanned");
      break;
    case Stop::truncated:
      ctx.report("compressed.malformed", Severity::medium, in_pos,
                 std::string(codec_name(*codec)) + " stream is truncated; the " +
                     std::to_string(out.size()) + " bytes decoded were scanned");
      break;
    case Stop::trailing:
      if (!all_zero(bytes, in_pos)) {
        ctx.report("compressed.trailing_data", Severity::low, in_pos,
                   std::to_string(in_size - in_pos) + " bytes follow the compressed stream");
        ctx.scan_nested(util::SliceSource(bytes, in_pos, in_size - in_pos), "<trailing>");
      }
      break;
  }
  if (out.empty() && members == 0 && stop != Stop::none) return;
  ctx.scan_nested(util::MemorySource(std::move(out)), "<decompressed>");
}

}  // namespace

void scan_compressed(ScanContext& ctx, const util::ByteSource& bytes) {
  scan_compressed_impl(ctx, bytes);
}

}  // namespace hfaudit::scan
