#include "hub/url.hpp"

#include <boost/test/unit_test.hpp>

using namespace hfaudit::hub;

BOOST_AUTO_TEST_SUITE(url_test)

BOOST_AUTO_TEST_CASE(origin_uses_default_ports_and_ignores_case) {
  auto o = url_origin("HTTPS://HuggingFace.co/api/models").value();
  BOOST_TEST(o.scheme == "https");
  BOOST_TEST(o.host == "huggingface.co");
  BOOST_TEST(o.port == 443);
  BOOST_TEST(same_origin("https://huggingface.co/a", "https://huggingface.co:443/b?x"));
  BOOST_TEST(!same_origin("https://huggingface.co/a", "http://huggingface.co/a"));
  BOOST_TEST(!same_origin("https://huggingface.co/a", "https://huggingface.co:8443/a"));
  BOOST_TEST(!same_origin("https://huggingface.co/a", "https://cdn-lfs.hf.co/a"));
  BOOST_TEST(!same_origin("https://huggingface.co/a", "https://huggingface.co.evil.com/a"));
  BOOST_TEST(!same_origin("https://huggingface.co", "https://evil.com@huggingface.co.evil.com/"));
  BOOST_TEST(same_origin("http://127.0.0.1:8080", "http://127.0.0.1:8080/api"));
  BOOST_TEST(same_origin("http://[::1]:8080/x", "http://[::1]:8080/y"));
  BOOST_TEST(!url_origin("ftp://host/x").has_value());
  BOOST_TEST(!url_origin("/relative").has_value());
  BOOST_TEST(!url_origin("http://host:99999/").has_value());
}

BOOST_AUTO_TEST_CASE(relative_locations_resolve_against_the_responding_url) {
  BOOST_TEST(is_relative_location("/api/models/google-bert/bert-base-uncased"));
  BOOST_TEST(is_relative_location("x/y"));
  BOOST_TEST(is_relative_location("/a:b"));
  BOOST_TEST(!is_relative_location("https://cdn.example/x"));
  BOOST_TEST(!is_relative_location("//cdn.example/x"));
  BOOST_TEST(resolve_location("https://huggingface.co/api/models/bert?x=1", "/api/models/a/b") ==
             "https://huggingface.co/api/models/a/b");
  BOOST_TEST(resolve_location("https://hf.co/a/b/c?q", "d") == "https://hf.co/a/b/d");
  BOOST_TEST(resolve_location("https://hf.co/a/b?q", "?r") == "https://hf.co/a/b?r");
  BOOST_TEST(resolve_location("https://hf.co/a", "//cdn.example/x") == "https://cdn.example/x");
  BOOST_TEST(resolve_location("https://hf.co/a", "https://cdn.example/x") ==
             "https://cdn.example/x");
}

BOOST_AUTO_TEST_SUITE_END()
