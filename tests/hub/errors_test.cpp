#include "hub/errors.hpp"

#include <boost/test/unit_test.hpp>

#include "hub/http.hpp"

using namespace hfaudit::hub;

namespace {

constexpr const char* k_token = "hf_SecretTokenValue0123456789abcdefXYZ";

struct Row {
  int status;
  const char* error_code;     // X-Error-Code or ""
  const char* error_message;  // X-Error-Message or ""
  RequestTarget target;
  HubErrorKind expected;
};

HubError map(const Row& row, TokenSent token_sent = TokenSent::no, std::string body = {}) {
  Headers headers;
  if (*row.error_code) headers.add("X-Error-Code", row.error_code);
  if (*row.error_message) headers.add("X-Error-Message", row.error_message);
  headers.add("x-request-id", "Root=1-abc");
  ErrorContext c;
  c.repo = "org/name";
  c.revision = "main";
  c.path = row.target == RequestTarget::file ? "model.bin" : "";
  c.url = "https://huggingface.co/api/models/org/name";
  c.target = row.target;
  c.token_sent = token_sent;
  c.token = k_token;
  return make_http_error(row.status, headers, body, c);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(errors_test)

// Every row of reference hub-api.md §5.
BOOST_AUTO_TEST_CASE(status_and_error_code_mapping_table) {
  using K = HubErrorKind;
  using T = RequestTarget;
  const Row rows[] = {
      {401, "RepoNotFound", "Repository not found", T::repo_api, K::repo_not_found_or_no_access},
      {401, "", "", T::repo_api, K::repo_not_found_or_no_access},
      {401, "", "", T::file, K::repo_not_found_or_no_access},
      {401, "", "Invalid credentials in Authorization header", T::repo_api, K::invalid_token},
      {401, "GatedRepo",
       "Access to model org/name is restricted. You must have access to it and be authenticated "
       "to access it. Please log in.",
       T::file, K::gated},
      {403, "GatedRepo",
       "Access to model org/name is restricted and you are not in the authorized list. Visit "
       "https://huggingface.co/org/name to ask for access.",
       T::file, K::gated},
      {403, "", "Access to this resource is disabled.", T::repo_api, K::disabled},
      {403, "", "You don't have the rights to access this resource", T::repo_api, K::forbidden},
      {404, "RepoNotFound", "", T::repo_api, K::repo_not_found_or_no_access},
      {404, "RevisionNotFound", "Invalid rev id: nope", T::repo_api, K::revision_not_found},
      {404, "EntryNotFound", "Entry not found", T::file, K::entry_not_found},
      {404, "", "", T::file, K::entry_not_found},
      {400, "", "", T::file, K::bad_request},
      {416, "", "", T::file, K::range_not_satisfiable},
      {429, "", "", T::repo_api, K::rate_limited},
      {408, "", "", T::repo_api, K::server_error},
      {500, "", "", T::repo_api, K::server_error},
      {502, "", "", T::repo_api, K::server_error},
      {503, "", "", T::repo_api, K::server_error},
      {504, "", "", T::repo_api, K::server_error},
      {409, "", "", T::repo_api, K::bad_request},
      {304, "", "", T::repo_api, K::bad_response},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.status << " " << row.error_code << " " << row.error_message) {
      const HubError e = map(row);
      BOOST_TEST(to_string(e.kind) == to_string(row.expected));
      BOOST_TEST(e.status == row.status);
      BOOST_TEST(e.error_code == row.error_code);
      BOOST_TEST(e.request_id == "Root=1-abc");
      BOOST_TEST(!e.message.empty());
      BOOST_TEST(e.message.find('\n') == std::string::npos);
      BOOST_TEST(e.hint.find('\n') == std::string::npos);
      BOOST_TEST(e.describe().find("HTTP " + std::to_string(row.status)) != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(not_found_message_explains_private_and_token) {
  const Row row{401, "RepoNotFound", "", RequestTarget::repo_api,
                HubErrorKind::repo_not_found_or_no_access};
  const HubError anonymous = map(row, TokenSent::no);
  BOOST_TEST(anonymous.hint.find("same for a missing and a private") != std::string::npos);
  BOOST_TEST(anonymous.hint.find("no token was sent") != std::string::npos);
  const HubError with_token = map(row, TokenSent::yes);
  BOOST_TEST(with_token.hint.find("a token was sent") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(gated_hint_points_to_the_repo_page_and_hf_token) {
  const Row row{401, "GatedRepo", "", RequestTarget::file, HubErrorKind::gated};
  const HubError e = map(row);
  BOOST_TEST(e.hint.find("https://huggingface.co/org/name") != std::string::npos);
  BOOST_TEST(e.hint.find("HF_TOKEN") != std::string::npos);
  BOOST_TEST(e.hint.find("ccept the terms") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(json_error_body_is_used_when_no_header) {
  const Row row{403, "", "", RequestTarget::repo_api, HubErrorKind::disabled};
  const HubError e = map(row, TokenSent::no, R"({"error":"Access to this resource is disabled."})");
  BOOST_TEST((e.kind == HubErrorKind::disabled));
  const Row list_row{400, "", "", RequestTarget::repo_api, HubErrorKind::bad_request};
  const HubError l = map(list_row, TokenSent::no, R"({"error":["first","second"]})");
  BOOST_TEST(l.message.find("first; second") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(token_never_in_error_text) {
  // A hostile or buggy server echoing the credential back in every place it can.
  Headers headers;
  headers.add("X-Error-Code", std::string("Code ") + k_token);
  headers.add("X-Error-Message", std::string("bad header Authorization: Bearer ") + k_token);
  headers.add("X-Request-Id", k_token);
  ErrorContext c;
  c.repo = "org/name";
  c.url = std::string("https://huggingface.co/api/models/org/name?token=") + k_token;
  c.token = k_token;
  c.token_sent = TokenSent::yes;
  for (int status : {400, 401, 403, 404, 429, 500}) {
    const HubError e =
        make_http_error(status, headers, std::string("{\"error\":\"") + k_token + "\"}", c);
    const std::string all = e.message + e.hint + e.url + e.error_code + e.request_id +
                            e.describe() + static_cast<hfaudit::util::Error>(e).message;
    BOOST_TEST(all.find("SecretTokenValue") == std::string::npos, all);
  }
}

BOOST_AUTO_TEST_CASE(server_text_is_one_bounded_line) {
  Headers headers;
  headers.add("X-Error-Message", std::string("line1\nline2\r\n") + std::string(2000, 'x'));
  ErrorContext c;
  const HubError e = make_http_error(500, headers, {}, c);
  BOOST_TEST(e.message.find('\n') == std::string::npos);
  BOOST_TEST(e.message.size() < 500u);
}

BOOST_AUTO_TEST_CASE(messages_are_valid_utf8) {
  // A parser error quoting a corrupt body, or a server sending Latin-1: invalid bytes are
  // escaped, valid UTF-8 is kept, truncation never splits a character.
  const HubError e = make_error(HubErrorKind::bad_response,
                                "last read: '\x84' caf\xc3\xa9 \xff\xfe \xed\xa0\x80 \xe2\x82");
  BOOST_TEST(e.message == "last read: '\\x84' caf\xc3\xa9 \\xff\\xfe \\xed\\xa0\\x80 \\xe2\\x82");
  std::string long_text(299, 'a');
  long_text += "\xc3\xa9\xc3\xa9";
  const HubError t = make_error(HubErrorKind::bad_response, long_text);
  BOOST_TEST(t.message == std::string(299, 'a') + "\xc3\xa9...");
}

BOOST_AUTO_TEST_CASE(converts_to_util_error_codes) {
  using hfaudit::util::ErrorCode;
  BOOST_TEST(
      (static_cast<hfaudit::util::Error>(make_error(HubErrorKind::entry_not_found, "x")).code ==
       ErrorCode::not_found));
  BOOST_TEST((static_cast<hfaudit::util::Error>(make_error(HubErrorKind::network, "x")).code ==
              ErrorCode::network));
  BOOST_TEST((static_cast<hfaudit::util::Error>(make_error(HubErrorKind::gated, "x")).code ==
              ErrorCode::http));
}

BOOST_AUTO_TEST_SUITE_END()
