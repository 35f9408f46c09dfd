// Typed, explained Hub failures. Every call of the Hub client that can fail returns a
// HubResult<T>: the value, or a HubError saying what went wrong (a HubErrorKind), the HTTP
// facts (status, X-Error-Code, X-Request-Id) and a one-line message plus a hint line for
// the user. Messages never contain the token (see hub/redact.hpp): they are redacted when
// built, so a HubError can be printed or logged as is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "util/result.hpp"

namespace hfaudit::hub {

class Headers;

enum class HubErrorKind {
  repo_not_found_or_no_access,  // 401/404 RepoNotFound: missing, private or anonymous
  gated,                        // 401/403 GatedRepo: accept the terms on the repo page
  invalid_token,                // 401 "Invalid credentials in Authorization header"
  forbidden,                    // 403 other than gated/disabled: token scope or permission
  disabled,                     // 403 "Access to this resource is disabled."
  revision_not_found,           // 404 RevisionNotFound
  entry_not_found,              // 404 EntryNotFound (file absent at that commit)
  rate_limited,                 // 429 after the retries allowed by HubOptions
  server_error,                 // 408/5xx after retries
  bad_request,                  // 400 (e.g. a range-less GET of a file > 50 GB) and other 4xx
  range_not_satisfiable,        // 416: the Range start is past the end of the file
  network,                      // connection refused, DNS, timeout, cut connection, TLS
  redirect_loop,                // redirects revisit a URL or exceed HubOptions::max_redirects
  offline,                      // HubOptions::offline is on: no request was made
  bad_response,                 // unparseable JSON, missing X-Repo-Commit, unexpected status
  invalid_argument,             // the caller passed something the Hub cannot accept
  aborted,                      // the caller's sink or page callback asked to stop
};

// Stable snake_case name of a kind, e.g. "repo_not_found_or_no_access" (for JSON reports).
std::string_view to_string(HubErrorKind kind);

struct HubError {
  HubErrorKind kind = HubErrorKind::bad_response;
  int status = 0;          // HTTP status of the failing response; 0 when there was none
  std::string error_code;  // X-Error-Code (e.g. "GatedRepo"), empty when absent
  std::string request_id;  // X-Request-Id, to quote when reporting a Hub problem
  std::string message;     // one line, no token, e.g. "gated repository org/name (HTTP 403)"
  std::string hint;        // one line telling the user what to do; may be empty
  std::string url;         // the request URL, redacted
  int attempts = 0;        // requests made for this call (1 + retries); 0 when offline
  std::uint64_t bytes_delivered = 0;  // download: bytes handed to the sink before failing

  // "message" plus " [HTTP 404, X-Error-Code: EntryNotFound, X-Request-Id: ...]" details.
  std::string describe() const;

  // The util::Error this maps to (not_found, http, network, invalid_argument, ...), with
  // describe() as its message. Implicit so HFAUDIT_TRY can cross from the hub layer into
  // code that returns util::Result.
  operator util::Error() const;  // NOLINT: implicit by design
};

// What the caller was doing when a response came back; used to word the error and to
// choose between entry_not_found and repo_not_found_or_no_access for a bare 404.
enum class RequestTarget { repo_api, file, listing };
enum class TokenSent { no, yes };

struct ErrorContext {
  std::string repo;                                 // "org/name", may be empty (list_models)
  std::string revision;                             // may be empty
  std::string path;                                 // file path for resolve calls, may be empty
  std::string url;                                  // the request URL (redacted by make_http_error)
  std::string endpoint = "https://huggingface.co";  // for links in hints
  RequestTarget target = RequestTarget::repo_api;
  TokenSent token_sent = TokenSent::no;
  std::string_view token;  // only used to redact the message; never copied into the error
};

// Maps an HTTP error response (status >= 400, or an unexpected one) to a HubError following
// the Hub's conventions (reference hub-api.md §5): status + X-Error-Code + X-Error-Message,
// falling back to the JSON body's "error" field for the message.
HubError make_http_error(int status, const Headers& headers, std::string_view body,
                         const ErrorContext& context);

// A HubError of the given kind without an HTTP response (network, offline, bad_response...).
HubError make_error(HubErrorKind kind, std::string message, std::string hint = {});

// Result type of the hub module: a T or a HubError (util::Result's template).
template <typename T>
using HubResult = util::Result<T, HubError>;
using HubStatus = HubResult<util::Ok>;

}  // namespace hfaudit::hub
