// Token redaction: everything the hub module returns or logs passes through these helpers,
// so a token never reaches an error message, a log line or a returned struct.
#pragma once

#include <string>
#include <string_view>

namespace hfaudit::hub {

inline constexpr std::string_view k_redacted = "[REDACTED]";

// The URL with any user:password@ removed and the values of credential-like query
// parameters (token, access_token, signature, X-Amz-Signature, X-Amz-Credential,
// X-Amz-Security-Token, Key-Pair-Id, Policy, ...) replaced by [REDACTED]. Keys are kept.
std::string redact_url(std::string_view url);

// The header value to show for a header: Authorization, Proxy-Authorization, Cookie,
// Set-Cookie and X-Xet-*-Token values become "[REDACTED]" (keeping the "Bearer " scheme).
std::string redact_header_value(std::string_view name, std::string_view value);

// Free text (an error message, a response body excerpt) with every occurrence of `token`
// (when not empty), every "Bearer <x>" credential and every Hub token shape "hf_<20+ alnum>"
// replaced by [REDACTED]; URLs inside it are passed through redact_url.
std::string redact_text(std::string_view text, std::string_view token = {});

}  // namespace hfaudit::hub
