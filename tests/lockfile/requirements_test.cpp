#include "lockfile/requirements.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace hfaudit::lockfile;

BOOST_AUTO_TEST_SUITE(requirements_test)

BOOST_AUTO_TEST_CASE(comments_and_blank_lines_are_skipped_and_lines_counted) {
  const std::string text =
      "# models of the search service\n"
      "\n"
      "org/encoder\n"
      "  org/reranker@v1.2   # pinned tag\r\n"
      "\t\n"
      "org/tokenizer@0123456789abcdef0123456789abcdef01234567";  // no final newline
  auto parsed = parse_requirements(text, "models.txt");
  BOOST_TEST_REQUIRE(parsed.ok());
  BOOST_TEST_REQUIRE(parsed->size() == 3u);
  BOOST_TEST((*parsed)[0].line == 3u);
  BOOST_TEST((*parsed)[0].spec == "org/encoder");
  BOOST_TEST((*parsed)[1].line == 4u);
  BOOST_TEST((*parsed)[1].spec == "org/reranker@v1.2");
  BOOST_TEST((*parsed)[2].line == 6u);
  BOOST_TEST((*parsed)[2].spec == "org/tokenizer@0123456789abcdef0123456789abcdef01234567");
}

BOOST_AUTO_TEST_CASE(an_empty_or_comment_only_file_has_no_requirements) {
  for (const std::string text : {"", "\n\n", "# nothing yet\n"}) {
    auto parsed = parse_requirements(text, "r.txt");
    BOOST_TEST_REQUIRE(parsed.ok());
    BOOST_TEST(parsed->empty());
  }
}

BOOST_AUTO_TEST_CASE(two_words_on_a_line_are_an_error_naming_file_and_line) {
  auto parsed = parse_requirements("org/a\norg/b org/c\n", "r.txt");
  BOOST_TEST_REQUIRE(!parsed.ok());
  BOOST_TEST(parsed.error().message ==
             "r.txt:2: expected one org/name[@rev] per line, got \"org/b org/c\"");

  parsed = parse_requirements(std::string("org/a\0x\n", 8), "r.txt");
  BOOST_TEST_REQUIRE(!parsed.ok());
  BOOST_TEST(parsed.error().message == "r.txt:1: NUL byte in the line");
}

BOOST_AUTO_TEST_SUITE_END()
