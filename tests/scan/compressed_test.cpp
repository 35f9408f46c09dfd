#include <boost/test/unit_test.hpp>

#include "archive_builder.hpp"

using namespace hfaudit;
using namespace hfaudit::test;
using scan::Format;
using scan::Severity;

namespace {

struct CodecCase {
  const char* name;
  Format format;
  std::string (*compress)(const std::string&);
};

const CodecCase k_codecs[] = {
    {"gzip", Format::gzip, gzip_compress},       {"zlib", Format::zlib, zlib_compress},
    {"bzip2", Format::bzip2, bzip2_compress},    {"xz", Format::xz, xz_compress},
    {"lzma", Format::lzma, lzma_alone_compress}, {"zstd", Format::zstd, zstd_compress},
};

// A protocol 2 pickle followed by enough bytes to make compression matter.
std::string payload() {
  return pickle_int(7) + std::string(100000, 'A');
}

}  // namespace

BOOST_AUTO_TEST_SUITE(compressed_test)

BOOST_AUTO_TEST_CASE(every_codec_is_decoded_and_its_content_scanned) {
  for (const auto& c : k_codecs) {
    BOOST_TEST_CONTEXT(c.name) {
      const std::string plain = payload();
      const auto report = scan_bytes(c.compress(plain), "model.joblib");
      BOOST_TEST(report.format == c.format);
      const auto* o = find_object(report, "<decompressed>");
      BOOST_REQUIRE(o);
      BOOST_TEST(o->format == Format::pickle);
      BOOST_TEST(o->size == plain.size());
      BOOST_TEST(!find_rule(report, "compressed.malformed"));
      BOOST_TEST(!find_rule(report, "container.bomb"));
      BOOST_TEST(report.objects[0].details["codec"].get<std::string>() == c.name);
      BOOST_TEST(report.objects[0].details["decompressed_bytes"].get<size_t>() == plain.size());
    }
  }
}

BOOST_AUTO_TEST_CASE(multi_member_gzip_bzip2_zstd_and_xz_are_concatenated) {
  for (const auto& c : k_codecs) {
    if (c.format == Format::zlib || c.format == Format::lzma) continue;
    BOOST_TEST_CONTEXT(c.name) {
      const auto report =
          scan_bytes(c.compress(pickle_int(1)) + c.compress("second member"), "x.bin");
      const auto* o = find_object(report, "<decompressed>");
      BOOST_REQUIRE(o);
      BOOST_TEST(o->size == pickle_int(1).size() + 13);
      BOOST_TEST(!find_rule(report, "compressed.malformed"));
      BOOST_TEST(!find_rule(report, "compressed.trailing_data"));
    }
  }
}

BOOST_AUTO_TEST_CASE(corrupt_streams_are_malformed_and_the_decoded_part_scanned) {
  for (const auto& c : k_codecs) {
    BOOST_TEST_CONTEXT(c.name) {
      // Incompressible data so the damage lands after some output.
      std::string plain = pickle_int(1);
      uint32_t x = 12345;
      for (int i = 0; i < 2000000; ++i) {  // bzip2 needs several blocks
        x = x * 1103515245 + 12345;
        plain += static_cast<char>(x >> 24);
      }
      const std::string good = c.compress(plain);
      const auto truncated = scan_bytes(good.substr(0, good.size() * 3 / 4), "x.bin");
      const auto* f = find_rule(truncated, "compressed.malformed");
      BOOST_REQUIRE(f);
      BOOST_TEST(f->severity == Severity::medium);
      const auto* o = find_object(truncated, "<decompressed>");
      BOOST_REQUIRE(o);
      BOOST_TEST(o->size > 0u);
      BOOST_TEST(o->size < plain.size());

      // zstd stores incompressible data in raw blocks without a checksum by
      // default: flipped content bytes are undetectable there.
      if (c.format == Format::zstd) continue;
      std::string flipped = good;
      for (size_t i = good.size() / 2; i < good.size() / 2 + 64; ++i) flipped[i] ^= 0x55;
      const auto corrupt = scan_bytes(flipped, "x.bin");
      BOOST_TEST(find_rule(corrupt, "compressed.malformed"));
    }
  }
}

BOOST_AUTO_TEST_CASE(header_only_and_garbage_inputs_never_crash) {
  for (const auto& c : k_codecs) {
    const std::string good = c.compress(payload());
    for (size_t cut = 1; cut < std::min<size_t>(good.size(), 64); ++cut)
      BOOST_TEST(scan_bytes(good.substr(0, cut), "x.bin").objects.size() >= 1u);
    for (size_t i = 0; i < std::min<size_t>(good.size(), 48); ++i) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ 0xa5);
      BOOST_TEST(scan_bytes(bad, "x.bin").objects.size() >= 1u);
    }
  }
}

BOOST_AUTO_TEST_CASE(trailing_garbage_is_reported_and_scanned) {
  const auto report = scan_bytes(gzip_compress("hello") + pickle_int(3), "x.gz");
  const auto* f = find_rule(report, "compressed.trailing_data");
  BOOST_REQUIRE(f);
  BOOST_TEST(f->severity == Severity::low);
  BOOST_TEST(find_object(report, "<trailing>")->format == Format::pickle);
  // Zero padding after a gzip member is normal.
  const auto padded = scan_bytes(gzip_compress("hello") + std::string(512, '\0'), "x.gz");
  BOOST_TEST(!find_rule(padded, "compressed.trailing_data"));
}

BOOST_AUTO_TEST_CASE(bombs_are_capped_and_reported) {
  const std::string zeros(16 << 20, '\0');
  for (const auto& c : k_codecs) {
    BOOST_TEST_CONTEXT(c.name) {
      const std::string bomb = c.compress(zeros);
      {
        scan::ScanLimits limits;
        limits.max_compression_ratio = 100;
        const auto report = scan_bytes(bomb, "x.bin", limits);
        const auto* f = find_rule(report, "container.bomb");
        BOOST_REQUIRE(f);
        BOOST_TEST(f->severity == Severity::high);
        BOOST_TEST(find_object(report, "<decompressed>")->size < zeros.size());
      }
      {
        scan::ScanLimits limits;
        limits.max_compression_ratio = 1u << 30;  // only the member limit applies
        limits.max_expanded_member = 2 << 20;
        const auto report = scan_bytes(bomb, "x.bin", limits);
        const auto* f = find_rule(report, "container.bomb");
        BOOST_REQUIRE(f);
        BOOST_TEST(f->severity == Severity::medium);
        BOOST_TEST(find_object(report, "<decompressed>")->size == 2u << 20);
      }
      {
        scan::ScanLimits limits;
        limits.max_compression_ratio = 1u << 30;
        limits.max_expanded_total = 1 << 20;
        const auto report = scan_bytes(bomb, "x.bin", limits);
        BOOST_TEST(find_rule(report, "container.limit.expanded_total"));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(nested_wrappers_recurse_within_depth) {
  const std::string inner = gzip_compress(xz_compress(zstd_compress(pickle_int(1))));
  const auto report = scan_bytes(inner, "x.gz");
  const auto* o = find_object(report, "<decompressed>!/<decompressed>!/<decompressed>");
  BOOST_REQUIRE(o);
  BOOST_TEST(o->format == Format::pickle);
  scan::ScanLimits limits;
  limits.max_depth = 1;
  BOOST_TEST(find_rule(scan_bytes(inner, "x.gz", limits), "container.limit.depth"));
}

BOOST_AUTO_TEST_SUITE_END()
