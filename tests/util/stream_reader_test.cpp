#include "util/stream_reader.hpp"

#include <boost/test/unit_test.hpp>

using hfaudit::util::MemorySource;
using hfaudit::util::StreamReader;

BOOST_AUTO_TEST_SUITE(stream_reader_test)

BOOST_AUTO_TEST_CASE(reads_little_endian_integers_in_order) {
  MemorySource src(std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9));
  StreamReader r(src);
  uint8_t a = 0;
  uint32_t b = 0;
  uint32_t c = 0;
  BOOST_TEST(r.read_u8(a));
  BOOST_TEST(a == 1);
  BOOST_TEST(r.read_u32le(b));
  BOOST_TEST(b == 0x05040302u);
  BOOST_TEST(r.read_u32le(c));
  BOOST_TEST(c == 0x09080706u);
  BOOST_TEST(r.at_end());
}

BOOST_AUTO_TEST_CASE(short_read_fails_and_stops_at_end) {
  MemorySource src(std::string("\x01\x02\x03", 3));
  StreamReader r(src);
  uint32_t v = 0;
  BOOST_TEST(!r.read_u32le(v));
  BOOST_TEST(r.at_end());
  BOOST_TEST(!r.io_failed());
}

BOOST_AUTO_TEST_CASE(read_line_stops_at_delimiter_or_limit) {
  MemorySource src(std::string("os\nsystem\nlongerthanlimit"));
  StreamReader r(src);
  std::string line;
  BOOST_TEST(r.read_line(line, 100));
  BOOST_TEST(line == "os");
  BOOST_TEST(r.read_line(line, 100));
  BOOST_TEST(line == "system");
  BOOST_TEST(!r.read_line(line, 4));
  BOOST_TEST(line == "long");
}

BOOST_AUTO_TEST_CASE(skip_past_end_fails_without_reading) {
  MemorySource src(std::string(10, 'x'));
  StreamReader r(src);
  BOOST_TEST(r.skip(4));
  BOOST_TEST(r.position() == 4u);
  BOOST_TEST(!r.skip(100));
  BOOST_TEST(r.at_end());
}

BOOST_AUTO_TEST_SUITE_END()
