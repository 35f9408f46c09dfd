#include "util/text.hpp"

#include <boost/test/unit_test.hpp>

using namespace hfaudit::util;

BOOST_AUTO_TEST_SUITE(text_test)

BOOST_AUTO_TEST_CASE(ascii_lower_folds_only_ascii_letters) {
  BOOST_TEST(ascii_lower("Content-Type: GGUF.Q4_K") == "content-type: gguf.q4_k");
  // Non-ASCII bytes (here UTF-8 for "İ") pass through untouched.
  BOOST_TEST(ascii_lower("\xC4\xB0X") == "\xC4\xB0x");
  BOOST_TEST(ascii_lower("") == "");
}

BOOST_AUTO_TEST_CASE(iequals_compares_length_and_letters) {
  BOOST_TEST(iequals("Retry-After", "retry-after"));
  BOOST_TEST(!iequals("Retry-After", "retry-afte"));
  BOOST_TEST(!iequals("a[", "A{"));  // '[' and '{' differ by the case bit but are not letters
  BOOST_TEST(iequals("", ""));
}

BOOST_AUTO_TEST_CASE(contains_icase_finds_needles_anywhere) {
  BOOST_TEST(contains_icase("Error: Invalid Credentials in header", "invalid credentials"));
  BOOST_TEST(!contains_icase("invalid", "invalid token"));
  BOOST_TEST(contains_icase("abc", ""));
}

BOOST_AUTO_TEST_SUITE_END()
