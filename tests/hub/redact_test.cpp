#include "hub/redact.hpp"

#include <boost/test/unit_test.hpp>

using namespace hfaudit::hub;

namespace {
constexpr const char* k_token = "hf_SecretTokenValue0123456789abcdefXYZ";
bool leaks(const std::string& text) {
  return text.find("SecretTokenValue") != std::string::npos;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(redact_test)

BOOST_AUTO_TEST_CASE(urls_lose_credentials_in_query_and_userinfo) {
  const std::string url = std::string("https://user:") + k_token +
                          "@huggingface.co/api/models?token=" + k_token +
                          "&author=x&access_token=abc";
  const std::string r = redact_url(url);
  BOOST_TEST(!leaks(r), r);
  BOOST_TEST(r ==
             "https://huggingface.co/api/models?token=[REDACTED]&author=x&access_token=[REDACTED]");
  const std::string signed_url =
      "https://cas-bridge.xethub.hf.co/xet-bridge-us/abc/def?X-Amz-Algorithm=AWS4-HMAC-SHA256"
      "&X-Amz-Credential=AKIA%2F20250101&X-Amz-Signature=deadbeef&X-Amz-Expires=3600";
  const std::string s = redact_url(signed_url);
  BOOST_TEST(s.find("deadbeef") == std::string::npos);
  BOOST_TEST(s.find("AKIA") == std::string::npos);
  BOOST_TEST(s.find("X-Amz-Expires=3600") != std::string::npos);
  BOOST_TEST(redact_url("https://huggingface.co/a/b") == "https://huggingface.co/a/b");
}

BOOST_AUTO_TEST_CASE(authorization_header_values_are_hidden) {
  BOOST_TEST(redact_header_value("Authorization", std::string("Bearer ") + k_token) ==
             "Bearer [REDACTED]");
  BOOST_TEST(redact_header_value("authorization", k_token) == "[REDACTED]");
  BOOST_TEST(redact_header_value("Cookie", "token=abc") == "[REDACTED]");
  BOOST_TEST(redact_header_value("X-Xet-Access-Token", "xyz") == "[REDACTED]");
  BOOST_TEST(redact_header_value("X-Repo-Commit", "abc") == "abc");
}

BOOST_AUTO_TEST_CASE(free_text_loses_token_bearer_and_hub_token_shapes) {
  const std::string text = std::string("sent Authorization: Bearer ") + k_token +
                           " to https://h.co/x?token=" + k_token + " and echoed " + k_token;
  const std::string r = redact_text(text, k_token);
  BOOST_TEST(!leaks(r), r);
  // A token of an unknown shape is only caught when passed explicitly.
  BOOST_TEST(redact_text("odd token q9w8e7 here", "q9w8e7") == "odd token [REDACTED] here");
  // A Hub-shaped token is caught even when not passed.
  BOOST_TEST(!leaks(redact_text(std::string("leak ") + k_token)));
  BOOST_TEST(redact_text("bearer abc.def") == "bearer [REDACTED]");
  BOOST_TEST(redact_text("nothing secret: hf_short") == "nothing secret: hf_short");
}

BOOST_AUTO_TEST_SUITE_END()
