#include "util/fs.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>

using namespace hfaudit::util;

BOOST_AUTO_TEST_SUITE(fs_test)

BOOST_AUTO_TEST_CASE(safe_relative_paths_follow_the_huggingface_hub_rule) {
  struct Case {
    std::string path;
    bool safe;
  };
  const Case cases[] = {
      {"config.json", true},
      {"unet/config.json", true},
      {"a/b/c.bin", true},
      {".gitattributes", true},
      {"..foo", true},  // a name starting with dots is not a parent reference
      {"", false},
      {"..", false},
      {"../x", false},
      {"a/../../b", false},
      {"a/..", false},
      {"./a", false},
      {"/etc/passwd", false},
      {"a//b", false},
      {"a/", false},
      {"C:\\x", false},
      {"C:x", false},
      {"c:/x", false},
      {"a\\b", false},
      {"\\\\server\\share", false},
      {std::string("a\0b", 3), false},
  };
  for (const auto& c : cases) {
    BOOST_TEST_INFO("path: " << c.path);
    BOOST_TEST(is_safe_relative_path(c.path) == c.safe);
  }
}

BOOST_AUTO_TEST_CASE(write_file_atomic_replaces_content_with_exact_mode) {
  char dir[] = "/tmp/hfaudit-fs-XXXXXX";
  BOOST_TEST_REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string path = std::string(dir) + "/f";
  BOOST_TEST(write_file_atomic(path, "one").ok());
  BOOST_TEST(write_file_atomic(path, "two", 0600).ok());
  auto content = read_file(path);
  BOOST_TEST_REQUIRE(content.ok());
  BOOST_TEST(*content == "two");
  struct stat st {};
  BOOST_TEST(::stat(path.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  // No temp file left behind.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++entries;
  BOOST_TEST(entries == 1u);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(random_hex_has_requested_length) {
  BOOST_TEST(random_hex(8).size() == 8u);
  BOOST_TEST(random_hex(7).size() == 7u);
  BOOST_TEST(random_hex(8) != random_hex(8));
}

BOOST_AUTO_TEST_SUITE_END()
