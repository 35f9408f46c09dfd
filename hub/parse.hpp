// JSON bodies and headers of Hub responses -> hub/types.hpp structs.
//
// Tolerant by design: unknown keys are ignored, missing keys and nulls leave the field empty,
// a value of the wrong type is treated as missing. Only a body that is not JSON at all, or
// whose top level has the wrong type (an object where a list is expected), is an error.
// Nothing here throws: nlohmann exceptions are caught at this edge.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/errors.hpp"
#include "hub/types.hpp"

namespace hfaudit::hub {

// Body parsers. Failure: HubErrorKind::bad_response ("... is not valid JSON: ...").
HubResult<ModelInfo> parse_model_info(std::string_view body);
HubResult<std::vector<TreeEntry>> parse_tree(std::string_view body);  // tree and paths-info
HubResult<Refs> parse_refs(std::string_view body);
HubResult<std::vector<ModelListItem>> parse_model_list(std::string_view body);

// The same from already-parsed JSON (never fail; wrong shapes give empty structs).
ModelInfo model_info_from_json(const nlohmann::json& j);
TreeEntry tree_entry_from_json(const nlohmann::json& j);
ModelListItem model_list_item_from_json(const nlohmann::json& j);
// Accepts `securityFileStatus` (current) or `security` (legacy) objects.
std::optional<SecurityFileStatus> security_from_json(const nlohmann::json& value,
                                                     SecurityShape shape);

// ISO-8601 "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)" -> UNIX seconds; nullopt when malformed.
std::optional<std::int64_t> parse_iso8601(std::string_view text);
Timestamp make_timestamp(std::string text);

// RFC 9110 IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT") -> UNIX seconds (also accepts the
// obsolete RFC 850 and asctime forms' common subset: day-month-year with a 4-digit year).
std::optional<std::int64_t> parse_http_date(std::string_view text);

// The target of `Link: <url>; rel="next"` (or any other rel) among possibly several
// comma-separated links and several Link headers; nullopt when absent.
std::optional<std::string> find_link(const std::vector<std::string>& link_headers,
                                     std::string_view rel);

// ETag normalisation as huggingface_hub does it: drop a leading W/ then surrounding quotes.
std::string normalize_etag(std::string_view etag);

// "bytes a-b/TOTAL" -> TOTAL; nullopt for "*" or a malformed value.
std::optional<std::uint64_t> parse_content_range_total(std::string_view value);
// "bytes a-b/TOTAL" -> a.
std::optional<std::uint64_t> parse_content_range_start(std::string_view value);

std::optional<std::uint64_t> parse_uint(std::string_view text);

// The IETF RateLimit header ('"api";r=0;t=55'): remaining requests and seconds to reset.
struct RateLimit {
  std::string policy;  // "api", "resolvers", "pages"
  std::optional<std::uint64_t> remaining;
  std::optional<std::uint64_t> reset_seconds;
};
std::optional<RateLimit> parse_rate_limit(std::string_view value);

// Retry-After as delay-seconds or an HTTP date (relative to `now_unix`); nullopt if neither.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::int64_t now_unix);

}  // namespace hfaudit::hub
