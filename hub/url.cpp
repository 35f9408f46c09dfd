#include "hub/url.hpp"

#include <algorithm>
#include <cctype>

#include "util/text.hpp"

namespace hfaudit::hub {

namespace {

// Index of the end of scheme://authority in an absolute URL, or npos.
std::size_t authority_end(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::string_view::npos;
  const auto end = url.find_first_of("/?#", sep + 3);
  return end == std::string_view::npos ? url.size() : end;
}

}  // namespace

std::optional<UrlOrigin> url_origin(std::string_view url) {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  UrlOrigin origin;
  origin.scheme = util::ascii_lower(url.substr(0, sep));
  if (origin.scheme != "http" && origin.scheme != "https") return std::nullopt;
  std::string_view authority = url.substr(sep + 3, authority_end(url) - sep - 3);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  origin.host = util::ascii_lower(host);
  if (port.empty()) {
    origin.port = origin.scheme == "https" ? 443 : 80;
  } else {
    unsigned value = 0;
    for (const char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<unsigned>(c - '0');
      if (value > 65535) return std::nullopt;
    }
    origin.port = static_cast<std::uint16_t>(value);
  }
  return origin;
}

bool same_origin(std::string_view a, std::string_view b) {
  const auto x = url_origin(a);
  const auto y = url_origin(b);
  return x && y && *x == *y;
}

bool is_relative_location(std::string_view location) {
  if (location.rfind("//", 0) == 0) return false;
  const auto colon = location.find(':');
  const auto first_delim = location.find_first_of("/?#");
  // A scheme is letters before the first ':' that comes before any '/', '?' or '#'.
  return colon == std::string_view::npos ||
         (first_delim != std::string_view::npos && first_delim < colon);
}

std::string resolve_location(std::string_view base_url, std::string_view location) {
  if (location.rfind("//", 0) == 0) {
    const auto sep = base_url.find("://");
    return std::string(base_url.substr(0, sep == std::string_view::npos ? 0 : sep + 1)) +
           std::string(location);
  }
  if (!is_relative_location(location)) return std::string(location);
  const std::size_t end = authority_end(base_url);
  if (end == std::string_view::npos) return std::string(location);
  const std::string origin(base_url.substr(0, end));
  if (!location.empty() && location.front() == '/') return origin + std::string(location);
  // Path- or query-relative: against the base path without its query.
  std::string_view path = base_url.substr(end);
  path = path.substr(0, path.find_first_of("?#"));
  if (!location.empty() && location.front() == '?')
    return origin + std::string(path) + std::string(location);
  const auto last_slash = path.rfind('/');
  const std::string directory =
      last_slash == std::string_view::npos ? "/" : std::string(path.substr(0, last_slash + 1));
  return origin + directory + std::string(location);
}

}  // namespace hfaudit::hub
