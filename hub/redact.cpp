#include "hub/redact.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "util/text.hpp"

namespace hfaudit::hub {

namespace {

// Query keys whose values are credentials. Signed CDN URLs (S3, CloudFront, Xet bridge) carry
// their capability in the query, so those count as secrets too: a signed URL is as good as
// the token for an hour.
bool is_secret_query_key(std::string_view key) {
  const std::string k = util::ascii_lower(key);
  static constexpr std::array<std::string_view, 8> k_fragments = {
      "token", "signature", "credential", "secret", "password", "passwd", "key", "policy"};
  for (auto fragment : k_fragments) {
    if (k.find(fragment) != std::string::npos) return true;
  }
  return k == "sig" || k == "code" || k == "auth" || k == "authorization";
}

bool is_url_end(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '"' || c == '\'' || c == '<' ||
         c == '>' || c == '`';
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.' ||
         c == '~' || c == '+' || c == '/' || c == '=';
}

// Replaces every occurrence of `needle` in `text`.
void replace_all(std::string& text, std::string_view needle, std::string_view with) {
  if (needle.empty()) return;
  for (std::size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + with.size())) {
    text.replace(pos, needle.size(), with);
  }
}

// "Bearer <credential>" (any case) -> "Bearer [REDACTED]".
void redact_bearer(std::string& text) {
  const std::string lowered = util::ascii_lower(text);
  std::string out;
  std::size_t copied = 0;
  for (std::size_t pos = lowered.find("bearer "); pos != std::string::npos;
       pos = lowered.find("bearer ", pos + 1)) {
    std::size_t start = pos + 7;
    while (start < text.size() && text[start] == ' ') ++start;
    std::size_t end = start;
    while (end < text.size() && is_token_char(text[end])) ++end;
    if (end == start) continue;
    out.append(text, copied, start - copied);
    out.append(k_redacted);
    copied = end;
  }
  out.append(text, copied, std::string::npos);
  text = std::move(out);
}

// Hub user access tokens look like "hf_" followed by ~34 letters and digits.
void redact_hub_token_shapes(std::string& text) {
  std::string out;
  std::size_t copied = 0;
  for (std::size_t pos = text.find("hf_"); pos != std::string::npos; pos = text.find("hf_", pos)) {
    std::size_t end = pos + 3;
    while (end < text.size() && std::isalnum(static_cast<unsigned char>(text[end])) != 0) ++end;
    const bool starts_word =
        pos == 0 || std::isalnum(static_cast<unsigned char>(text[pos - 1])) == 0;
    if (starts_word && end - pos - 3 >= 20) {
      out.append(text, copied, pos - copied);
      out.append(k_redacted);
      copied = end;
    }
    pos = end;
  }
  out.append(text, copied, std::string::npos);
  text = std::move(out);
}

}  // namespace

std::string redact_url(std::string_view url) {
  std::string_view fragment;
  if (auto hash = url.find('#'); hash != std::string_view::npos) {
    fragment = url.substr(hash);
    url = url.substr(0, hash);
  }
  std::string out;
  std::string_view rest = url;
  if (auto scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
    out.append(rest.substr(0, scheme_end + 3));
    rest = rest.substr(scheme_end + 3);
    const std::size_t authority_end = std::min(rest.find_first_of("/?"), rest.size());
    const std::string_view authority = rest.substr(0, authority_end);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      rest = rest.substr(at + 1);  // drop user:password@
    }
  }
  const std::size_t query_start = rest.find('?');
  out.append(rest.substr(0, query_start));
  if (query_start != std::string_view::npos) {
    std::string_view query = rest.substr(query_start + 1);
    out.push_back('?');
    bool first = true;
    while (true) {
      const std::size_t amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      if (!first) out.push_back('&');
      first = false;
      const std::size_t eq = pair.find('=');
      const std::string_view key = pair.substr(0, eq);
      if (eq != std::string_view::npos && is_secret_query_key(key)) {
        out.append(key);
        out.push_back('=');
        out.append(k_redacted);
      } else {
        out.append(pair);
      }
      if (amp == std::string_view::npos) break;
      query = query.substr(amp + 1);
    }
  }
  out.append(fragment);
  return out;
}

std::string redact_header_value(std::string_view name, std::string_view value) {
  const std::string n = util::ascii_lower(name);
  if (n == "authorization" || n == "proxy-authorization") {
    const std::size_t space = value.find(' ');
    if (space != std::string_view::npos) {
      return std::string(value.substr(0, space + 1)) + std::string(k_redacted);
    }
    return std::string(k_redacted);
  }
  if (n == "cookie" || n == "set-cookie" ||
      (n.rfind("x-xet-", 0) == 0 && n.find("token") != std::string::npos)) {
    return std::string(k_redacted);
  }
  if (n == "location" || n == "content-location") return redact_url(value);
  return std::string(value);
}

std::string redact_text(std::string_view text, std::string_view token) {
  std::string out(text);
  // The exact token first: it may not look like a Hub token (mirrors, OAuth, fixtures).
  replace_all(out, token, k_redacted);
  redact_bearer(out);
  redact_hub_token_shapes(out);
  // URLs last, so query-string credentials are hidden even when they have no known shape.
  std::string result;
  std::size_t copied = 0;
  std::size_t pos = 0;
  while ((pos = out.find("://", pos)) != std::string::npos) {
    std::size_t start = pos;
    while (start > 0 && std::isalpha(static_cast<unsigned char>(out[start - 1])) != 0) --start;
    std::size_t end = pos + 3;
    while (end < out.size() && !is_url_end(out[end])) ++end;
    if (start < copied) {
      pos = end;
      continue;
    }
    result.append(out, copied, start - copied);
    result.append(redact_url(std::string_view(out).substr(start, end - start)));
    copied = end;
    pos = end;
  }
  result.append(out, copied, std::string::npos);
  return result;
}

}  // namespace hfaudit::hub
