// Just enough URL handling for redirects and the same-origin rule that decides whether the
// token may be sent (reference hub-api.md §8). Not a general URL parser: it expects the
// absolute http(s) URLs the Hub and its CDNs use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hfaudit::hub {

struct UrlOrigin {
  std::string scheme;      // lowercase "http" or "https"
  std::string host;        // lowercase, without brackets for IPv6 literals
  std::uint16_t port = 0;  // explicit or the scheme's default

  friend bool operator==(const UrlOrigin&, const UrlOrigin&) = default;
};

// The origin of an absolute http(s) URL; nullopt for anything else (relative, other schemes,
// bad port, userinfo-only authority).
std::optional<UrlOrigin> url_origin(std::string_view url);

// True when both are absolute http(s) URLs with equal scheme, host and port.
bool same_origin(std::string_view a, std::string_view b);

// True when a Location header value names no host ("/path", "path", "?q"), i.e. it must be
// resolved against the URL that returned it. "//host/x" counts as absolute.
bool is_relative_location(std::string_view location);

// Resolves a Location header value against the URL of the response that carried it.
std::string resolve_location(std::string_view base_url, std::string_view location);

}  // namespace hfaudit::hub
