#include "util/hash.hpp"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <fstream>
#include <string>

using namespace hfaudit::util;

BOOST_AUTO_TEST_SUITE(hash_test)

BOOST_AUTO_TEST_CASE(git_blob_id_matches_git_for_known_vectors) {
  BOOST_TEST(git_blob_id_hex("") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  BOOST_TEST(git_blob_id_hex("hello world\n") == "3b18e512dba79e4c8300dd08aeb37f8e728b8dad");
}

BOOST_AUTO_TEST_CASE(sha256_and_sha1_match_published_vectors) {
  BOOST_TEST(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  BOOST_TEST(sha256_hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  BOOST_TEST(sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
}

BOOST_AUTO_TEST_CASE(chunked_updates_equal_one_shot) {
  std::string data;
  for (int i = 0; i < 100000; ++i) data.push_back(static_cast<char>((i * 131) ^ (i >> 7)));
  const std::string sha256 = sha256_hex(data);
  const std::string git = git_blob_id_hex(data);
  for (const size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, size_t{65536}, data.size()}) {
    ContentHasher hasher(GitBlobId::compute, data.size());
    for (size_t off = 0; off < data.size(); off += chunk) {
      hasher.update(std::string_view(data).substr(off, chunk));
    }
    auto digests = hasher.finish();
    BOOST_TEST_REQUIRE(digests.ok());
    BOOST_TEST(digests->sha256 == sha256);
    BOOST_TEST(digests->git_sha1 == git);
    BOOST_TEST(digests->size == data.size());
  }
}

BOOST_AUTO_TEST_CASE(hasher_is_reusable_after_finish) {
  Hasher h(DigestAlgorithm::sha256);
  h.update("abc");
  BOOST_TEST(h.finish_hex() == sha256_hex("abc"));
  h.update("");
  BOOST_TEST(h.finish_hex() == sha256_hex(""));
}

BOOST_AUTO_TEST_CASE(content_hasher_skips_git_id_when_not_asked) {
  ContentHasher hasher(GitBlobId::skip, 3);
  hasher.update("abc");
  auto digests = hasher.finish();
  BOOST_TEST_REQUIRE(digests.ok());
  BOOST_TEST(digests->git_sha1.empty());
  BOOST_TEST(digests->sha256 == sha256_hex("abc"));
}

BOOST_AUTO_TEST_CASE(size_different_from_announced_is_an_integrity_error) {
  GitBlobHasher git(5);
  git.update("abc");
  auto id = git.finish_hex();
  BOOST_TEST(!id.ok());
  BOOST_TEST((id.error().code == ErrorCode::integrity));

  ContentHasher content(GitBlobId::skip, 2);
  content.update("abc");
  auto digests = content.finish();
  BOOST_TEST(!digests.ok());
  BOOST_TEST((digests.error().code == ErrorCode::integrity));
}

BOOST_AUTO_TEST_CASE(hash_file_streams_a_file) {
  char name[] = "/tmp/hfaudit-hash-XXXXXX";
  const int fd = ::mkstemp(name);
  BOOST_TEST_REQUIRE(fd >= 0);
  ::close(fd);
  std::string data(200000, 'x');
  std::ofstream(name, std::ios::binary) << data;
  auto digests = hash_file(name, GitBlobId::compute);
  std::remove(name);
  BOOST_TEST_REQUIRE(digests.ok());
  BOOST_TEST(digests->sha256 == sha256_hex(data));
  BOOST_TEST(digests->git_sha1 == git_blob_id_hex(data));
  auto missing = hash_file("/nonexistent/file", GitBlobId::skip);
  BOOST_TEST((missing.error().code == ErrorCode::not_found));
}

BOOST_AUTO_TEST_CASE(is_lower_hex_checks_length_and_alphabet) {
  BOOST_TEST(is_lower_hex("0123456789abcdef", 16));
  BOOST_TEST(!is_lower_hex("0123456789ABCDEF", 16));
  BOOST_TEST(!is_lower_hex("abc", 4));
  BOOST_TEST(!is_lower_hex("abg", 3));
}

BOOST_AUTO_TEST_SUITE_END()
