#include "hub/errors.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "hub/http.hpp"
#include "hub/redact.hpp"
#include "util/text.hpp"

namespace hfaudit::hub {

namespace {

constexpr std::size_t k_max_server_message = 300;

// Length of the well-formed UTF-8 sequence starting at s[i] (1-4), or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = b(i);
  std::size_t n = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    n = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    n = 3;
    if (lead == 0xe0) low = 0xa0;   // no overlong forms
    if (lead == 0xed) high = 0x9f;  // no surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    n = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;  // <= U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < low || b(i + 1) > high) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  return n;
}

// Server-provided text made safe for a one-line message: no token, no control characters,
// valid UTF-8 (other bytes are shown as \xNN, as a parser quoting a corrupt body would print
// them raw), bounded length (a hostile or broken server controls it).
std::string one_line(std::string_view text, std::string_view token) {
  const std::string redacted = redact_text(text, token);
  std::string out;
  bool truncated = false;
  for (std::size_t i = 0; i < redacted.size();) {
    if (out.size() >= k_max_server_message) {
      truncated = true;
      break;
    }
    const auto u = static_cast<unsigned char>(redacted[i]);
    if (u < 0x20 || u == 0x7f) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
      ++i;
    } else if (u < 0x80) {
      out.push_back(redacted[i++]);
    } else if (const std::size_t n = utf8_sequence(redacted, i); n > 0) {
      out.append(redacted, i, n);
      i += n;
    } else {
      static constexpr char k_hex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(k_hex[u >> 4]);
      out.push_back(k_hex[u & 0xf]);
      ++i;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (truncated) out += "...";
  return out;
}

// X-Error-Message, else the body's {"error": "..."} / {"error": ["..."]}, else nothing.
std::string server_message(const Headers& headers, std::string_view body) {
  if (auto message = headers.get("X-Error-Message"); message && !message->empty()) return *message;
  try {
    const auto j = nlohmann::json::parse(body.begin(), body.end());
    if (j.is_object() && j.contains("error")) {
      const auto& error = j["error"];
      if (error.is_string()) return error.get<std::string>();
      if (error.is_array()) {
        std::string joined;
        for (const auto& item : error) {
          if (!item.is_string()) continue;
          if (!joined.empty()) joined += "; ";
          joined += item.get<std::string>();
        }
        return joined;
      }
    }
  } catch (const std::exception&) {
    // A plain-text or HTML error page: not worth quoting.
  }
  return {};
}

std::string subject(const ErrorContext& c) {
  std::string s = c.repo.empty() ? std::string("the Hub") : "repository " + c.repo;
  if (!c.path.empty()) s = c.path + " in " + s;
  if (!c.revision.empty()) s += " at revision " + c.revision;
  return s;
}

}  // namespace

std::string_view to_string(HubErrorKind kind) {
  switch (kind) {
    case HubErrorKind::repo_not_found_or_no_access:
      return "repo_not_found_or_no_access";
    case HubErrorKind::gated:
      return "gated";
    case HubErrorKind::invalid_token:
      return "invalid_token";
    case HubErrorKind::forbidden:
      return "forbidden";
    case HubErrorKind::disabled:
      return "disabled";
    case HubErrorKind::revision_not_found:
      return "revision_not_found";
    case HubErrorKind::entry_not_found:
      return "entry_not_found";
    case HubErrorKind::rate_limited:
      return "rate_limited";
    case HubErrorKind::server_error:
      return "server_error";
    case HubErrorKind::bad_request:
      return "bad_request";
    case HubErrorKind::range_not_satisfiable:
      return "range_not_satisfiable";
    case HubErrorKind::network:
      return "network";
    case HubErrorKind::redirect_loop:
      return "redirect_loop";
    case HubErrorKind::offline:
      return "offline";
    case HubErrorKind::bad_response:
      return "bad_response";
    case HubErrorKind::invalid_argument:
      return "invalid_argument";
    case HubErrorKind::aborted:
      return "aborted";
  }
  return "unknown";
}

std::string HubError::describe() const {
  std::string out = message;
  std::string details;
  const auto add = [&](const std::string& part) {
    details += details.empty() ? "" : ", ";
    details += part;
  };
  if (status != 0) add("HTTP " + std::to_string(status));
  if (!error_code.empty()) add("X-Error-Code: " + error_code);
  if (!request_id.empty()) add("X-Request-Id: " + request_id);
  if (attempts > 1) add(std::to_string(attempts) + " attempts");
  if (!details.empty()) out += " [" + details + "]";
  return out;
}

HubError::operator util::Error() const {
  using util::ErrorCode;
  ErrorCode code = ErrorCode::http;
  switch (kind) {
    case HubErrorKind::repo_not_found_or_no_access:
    case HubErrorKind::revision_not_found:
    case HubErrorKind::entry_not_found:
      code = ErrorCode::not_found;
      break;
    case HubErrorKind::network:
    case HubErrorKind::offline:
      code = ErrorCode::network;
      break;
    case HubErrorKind::bad_response:
      code = ErrorCode::corrupt_input;
      break;
    case HubErrorKind::invalid_argument:
      code = ErrorCode::invalid_argument;
      break;
    case HubErrorKind::aborted:
      code = ErrorCode::io;
      break;
    default:
      code = ErrorCode::http;
      break;
  }
  return util::Error{code, describe()};
}

HubError make_error(HubErrorKind kind, std::string message, std::string hint) {
  HubError error;
  error.kind = kind;
  error.message = one_line(message, {});
  error.hint = one_line(hint, {});
  return error;
}

HubError make_http_error(int status, const Headers& headers, std::string_view body,
                         const ErrorContext& c) {
  HubError e;
  e.status = status;
  e.error_code = one_line(headers.get("X-Error-Code").value_or(""), c.token);
  e.request_id = one_line(headers.get("X-Request-Id").value_or(""), c.token);
  e.url = redact_text(redact_url(c.url), c.token);
  const std::string server = one_line(server_message(headers, body), c.token);
  const bool token_sent = c.token_sent == TokenSent::yes;
  const std::string what = subject(c);
  const std::string code = e.error_code;

  const auto set = [&](HubErrorKind kind, std::string message, std::string hint) {
    e.kind = kind;
    e.message = std::move(message);
    if (!server.empty() && e.message.find(server) == std::string::npos) {
      e.message += ": " + server;
    }
    e.message = one_line(e.message, c.token);
    e.hint = one_line(hint, c.token);
  };
  const auto not_found_or_private = [&] {
    set(HubErrorKind::repo_not_found_or_no_access,
        (c.repo.empty() ? std::string("repository") : "repository " + c.repo) +
            " not found or no access",
        token_sent
            ? "The Hub answers the same for a missing and a private repository; a token was "
              "sent, so check the repository id and that the token's account can read it."
            : "The Hub answers the same for a missing and a private repository; no token was "
              "sent: if it is private, set HF_TOKEN to a token that can read it.");
  };
  const auto gated = [&] {
    const std::string page = c.endpoint + "/" + c.repo;
    set(HubErrorKind::gated, what + " is gated",
        token_sent ? "The token's account has not been granted access yet: accept the terms on " +
                         page + " and wait for approval."
                   : "Accept the terms on " + page +
                         " while logged in, then set HF_TOKEN to a token of that account.");
  };

  if (status == 401) {
    if (code == "GatedRepo") {
      gated();
    } else if (util::contains_icase(server, "invalid credentials") ||
               util::contains_icase(server, "invalid username or password") ||
               util::contains_icase(server, "invalid token")) {
      set(HubErrorKind::invalid_token, "the Hub rejected the token",
          "The token is invalid or expired: create a new one at " + c.endpoint +
              "/settings/tokens and set HF_TOKEN (or remove it to read public repositories).");
    } else {
      not_found_or_private();
    }
  } else if (status == 403) {
    if (code == "GatedRepo") {
      gated();
    } else if (util::contains_icase(server, "access to this resource is disabled")) {
      set(HubErrorKind::disabled, "repository " + c.repo + " is disabled",
          "The Hub has disabled this repository (often for a policy violation); it cannot be "
          "downloaded.");
    } else {
      set(HubErrorKind::forbidden, "access to " + what + " is forbidden",
          token_sent ? "The token lacks the permission for this request (check its scopes)."
                     : "Set HF_TOKEN to a token with access to this repository.");
    }
  } else if (status == 404) {
    if (code == "RepoNotFound") {
      not_found_or_private();
    } else if (code == "RevisionNotFound") {
      set(HubErrorKind::revision_not_found,
          "revision " + (c.revision.empty() ? std::string("?") : c.revision) +
              " not found in repository " + c.repo,
          "Check the branch, tag or commit (hfaudit accepts org/name@rev).");
    } else if (code == "EntryNotFound" || c.target == RequestTarget::file) {
      set(HubErrorKind::entry_not_found, what + " not found",
          "The file does not exist at that revision.");
    } else {
      not_found_or_private();
    }
  } else if (status == 429) {
    set(HubErrorKind::rate_limited, "rate limited by the Hub",
        token_sent ? "Wait a few minutes (quotas reset every 5 minutes) and try again."
                   : "Wait a few minutes and try again; set HF_TOKEN: authenticated requests "
                     "get higher quotas.");
  } else if (status == 408 || status >= 500) {
    set(HubErrorKind::server_error, "the Hub failed to answer for " + what,
        "The Hub or a proxy in between had a problem; try again later.");
  } else if (status == 416) {
    set(HubErrorKind::range_not_satisfiable,
        "the requested byte range of " + what + " is not satisfiable",
        "The partial download is as large as (or larger than) the file: restart it from 0.");
  } else if (status >= 400) {
    set(HubErrorKind::bad_request, "the Hub refused the request for " + what,
        c.target == RequestTarget::file
            ? "Files over 50 GB must be fetched in byte ranges; otherwise report a bug."
            : "This may be a bug in hfaudit or a Hub API change; please report it.");
  } else {
    set(HubErrorKind::bad_response,
        "unexpected HTTP " + std::to_string(status) + " from the Hub for " + what,
        "A proxy or firewall may be altering Hub responses (check HF_ENDPOINT and proxies).");
  }
  return e;
}

}  // namespace hfaudit::hub
