#include "hub/client.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "hub/parse.hpp"
#include "hub/redact.hpp"
#include "hub/url.hpp"
#include "util/text.hpp"

namespace hfaudit::hub {

namespace {

using std::chrono::milliseconds;

enum class Idempotent { no, yes };

constexpr std::size_t k_max_list_page = 1000;
constexpr std::string_view k_offline_hint =
    "Unset HF_HUB_OFFLINE to allow network access, or use files already in the cache.";

bool is_retryable_status(int status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

bool is_redirect(int status) {
  return status >= 300 && status < 400;
}

// One hop (request plus its retries) outcome.
struct Exchange {
  HttpResponse response;
  int attempts = 0;
};

// The options and transport of a client, plus the request machinery shared by all calls.
class Session {
 public:
  Session(const HubOptions& options, HttpTransport& transport)
      : m_options(options), m_transport(transport) {}

  std::string_view token() const {
    return m_options.token ? std::string_view(*m_options.token) : std::string_view();
  }

  void log(const std::string& line) const {
    if (m_options.log) m_options.log(redact_text(line, token()));
  }

  std::string shown(std::string_view url) const { return redact_text(redact_url(url), token()); }

  ErrorContext context(const RepoId* repo, std::string_view revision, std::string_view path,
                       RequestTarget target) const {
    ErrorContext c;
    if (repo) c.repo = repo->str();
    c.revision = std::string(revision);
    c.path = std::string(path);
    c.target = target;
    c.endpoint = m_options.endpoint;
    return c;
  }

  HttpRequest api_request(HttpMethod method, std::string url) const {
    HttpRequest request;
    request.method = method;
    request.url = std::move(url);
    request.headers.emplace_back("Accept", "application/json");
    // Metadata, as huggingface_hub bounds its metadata requests: HF_HUB_ETAG_TIMEOUT.
    request.connect_timeout = m_options.etag_timeout;
    request.read_timeout = m_options.etag_timeout;
    return request;
  }

  milliseconds backoff(int retry) const {
    const auto base = static_cast<double>(m_options.backoff_base.count());
    const auto cap = static_cast<double>(m_options.backoff_cap.count());
    const double ceiling = std::min(cap, base * static_cast<double>(1ull << std::min(retry, 30)));
    const double fraction = std::clamp(m_options.jitter(), 0.0, 1.0);
    return milliseconds(static_cast<std::int64_t>(ceiling * fraction));
  }

  // The wait a 429/503 asks for: RateLimit r=0 -> t+1 s, else Retry-After (seconds or date).
  std::optional<milliseconds> server_wait(const Headers& headers) const {
    if (auto value = headers.get("RateLimit")) {
      if (auto limit = parse_rate_limit(*value);
          limit && limit->remaining == 0u && limit->reset_seconds) {
        return std::chrono::seconds(static_cast<std::int64_t>(*limit->reset_seconds) + 1);
      }
    }
    if (auto value = headers.get("Retry-After")) {
      const auto now = std::chrono::system_clock::to_time_t(m_options.now());
      if (auto wait = parse_retry_after(*value, static_cast<std::int64_t>(now))) return *wait;
    }
    return std::nullopt;
  }

  // Sends one request, retrying idempotent ones on retryable statuses and network errors.
  // Success: any HTTP response that is not retried (including 4xx) — callers map statuses.
  // `delivered` (downloads) counts bytes already handed to the caller: once non-zero, a
  // network error is returned instead of retried, so the caller can resume.
  HubResult<Exchange> execute(HttpRequest request, ErrorContext context, Idempotent idempotent,
                              const std::uint64_t* delivered = nullptr) const {
    request.headers.emplace_back("User-Agent", user_agent(m_options.user_agent_suffix));
    const bool send_token = m_options.token && !m_options.token->empty() &&
                            same_origin(request.url, m_options.endpoint);
    if (send_token) request.headers.emplace_back("Authorization", "Bearer " + *m_options.token);
    context.url = request.url;
    context.token_sent = send_token ? TokenSent::yes : TokenSent::no;
    context.token = token();

    const auto started = m_options.now();
    for (int attempt = 1;; ++attempt) {
      log(std::string(to_string(request.method)) + " " + shown(request.url) +
          (request.range_start ? " (from byte " + std::to_string(*request.range_start) + ")" : ""));
      auto result = m_transport.perform(request);
      HubError failure;
      std::optional<milliseconds> wait;
      if (!result) {
        failure = transport_error(result.error(), context, attempt, delivered);
        const bool retryable = result.error().code == util::ErrorCode::network &&
                               idempotent == Idempotent::yes && (!delivered || *delivered == 0);
        log("  failed: " + failure.message);
        if (!retryable) return failure;
      } else {
        log("  -> HTTP " + std::to_string(result->status));
        if (!is_retryable_status(result->status) || idempotent == Idempotent::no) {
          return Exchange{std::move(result).value(), attempt};
        }
        failure = make_http_error(result->status, result->headers, result->body, context);
        if (result->status == 429 || result->status == 503) wait = server_wait(result->headers);
      }
      failure.attempts = attempt;
      if (!wait) wait = backoff(attempt - 1);
      if (attempt > m_options.max_retries) return failure;
      const auto spent = std::chrono::duration_cast<milliseconds>(m_options.now() - started);
      if (spent + *wait > m_options.max_retry_time) {
        if (failure.kind == HubErrorKind::rate_limited) {
          failure.hint = "The Hub asks to wait " + std::to_string(wait->count() / 1000) +
                         " s, beyond the retry budget; try again later (set HF_TOKEN for "
                         "higher quotas).";
        }
        return failure;
      }
      log("  retrying in " + std::to_string(wait->count()) + " ms");
      m_options.sleep(*wait);
    }
  }

  HubError transport_error(const util::Error& error, const ErrorContext& context, int attempt,
                           const std::uint64_t* delivered) const {
    HubError e;
    e.attempts = attempt;
    e.url = shown(context.url);
    e.bytes_delivered = delivered ? *delivered : 0;
    e.message = redact_text(error.message, token());
    switch (error.code) {
      case util::ErrorCode::io:
        e.kind = HubErrorKind::aborted;
        break;
      case util::ErrorCode::corrupt_input:
        e.kind = HubErrorKind::bad_response;
        e.hint = "The server sent far more than any Hub response; check HF_ENDPOINT.";
        break;
      case util::ErrorCode::invalid_argument:
        e.kind = HubErrorKind::invalid_argument;
        break;
      default:
        e.kind = HubErrorKind::network;
        e.hint = e.bytes_delivered > 0
                     ? "The connection was cut after " + std::to_string(e.bytes_delivered) +
                           " bytes; the download can be resumed from there."
                     : "Check the network, proxy settings and HF_ENDPOINT; HF_HUB_OFFLINE=1 "
                       "uses only the cache.";
        break;
    }
    return e;
  }

  // Which redirects walk() follows by hand.
  enum class Follow {
    same_origin,  // API calls: a Location on another origin is refused (it could collect tokens)
    relative,     // file metadata: an absolute Location ends the walk (it is the download URL)
    any,          // downloads: any http(s) Location (the CDN)
  };

  // The answer a walk ended on: not a redirect it followed.
  struct Walked {
    HttpResponse response;
    std::string url;  // the URL that answered
    int hops = 0;     // redirects followed
    int attempts = 0;
  };

  // Sends `request` and follows redirects by hand, at most max_redirects and never to a URL
  // already visited; execute() decides per hop whether Authorization goes along. `on_answer`
  // sees every answer, redirects included. A redirect without Location ends the walk.
  HubResult<Walked> walk(HttpRequest request, const ErrorContext& context, Follow follow,
                         const std::uint64_t* delivered = nullptr,
                         const std::function<void(const HttpResponse&)>& on_answer = {}) const {
    std::set<std::string> seen{request.url};
    for (int hop = 0;; ++hop) {
      Exchange exchange = HFAUDIT_TRY(execute(request, context, Idempotent::yes, delivered));
      if (on_answer) on_answer(exchange.response);
      const auto location = exchange.response.headers.get("Location");
      const bool follows = is_redirect(exchange.response.status) && location &&
                           (follow != Follow::relative || is_relative_location(*location));
      if (!follows)
        return Walked{std::move(exchange.response), std::move(request.url), hop, exchange.attempts};
      std::string next = resolve_location(request.url, *location);
      if (follow == Follow::same_origin && !same_origin(next, m_options.endpoint)) {
        return bad_response("the Hub redirected an API call to another host (" + shown(next) + ")",
                            exchange.response);
      }
      if (!url_origin(next)) {
        return bad_response("redirect to a non-HTTP URL (" + shown(next) + ")", exchange.response);
      }
      if (!seen.insert(next).second || hop >= m_options.max_redirects) {
        return redirect_loop(next, hop + 1);
      }
      request.url = std::move(next);
    }
  }

  // The typed error of an answer >= 400 from `walked.url`.
  HubError http_error(const Walked& walked, const ErrorContext& context) const {
    ErrorContext c = context;
    c.url = walked.url;
    c.token = token();
    c.token_sent = m_options.token && same_origin(walked.url, m_options.endpoint) ? TokenSent::yes
                                                                                  : TokenSent::no;
    HubError error =
        make_http_error(walked.response.status, walked.response.headers, walked.response.body, c);
    error.attempts = walked.attempts;
    return error;
  }

  // An API call: relative (same-host) redirects are followed, statuses >= 400 become errors.
  HubResult<HttpResponse> api_call(HttpRequest request, const ErrorContext& context) const {
    Walked walked = HFAUDIT_TRY(walk(std::move(request), context, Follow::same_origin));
    HttpResponse& response = walked.response;
    if (is_redirect(response.status)) {
      return bad_response("HTTP " + std::to_string(response.status) +
                              " without a Location header from " + shown(walked.url),
                          response);
    }
    if (response.status >= 400) return http_error(walked, context);
    if (response.status < 200) {
      return bad_response("unexpected HTTP " + std::to_string(response.status), response);
    }
    return std::move(response);
  }

  HubError bad_response(std::string message, const HttpResponse& response) const {
    HubError e = make_error(HubErrorKind::bad_response, redact_text(message, token()),
                            "A proxy or firewall may be altering Hub responses (check "
                            "HF_ENDPOINT and proxy settings).");
    e.status = response.status;
    e.request_id = redact_text(response.headers.get("X-Request-Id").value_or(""), token());
    return e;
  }

  HubError redirect_loop(std::string_view url, int hops) const {
    HubError e = make_error(
        HubErrorKind::redirect_loop,
        "redirect loop after " + std::to_string(hops) + " redirects (at " + shown(url) + ")",
        "A proxy or mirror is misconfigured; check HF_ENDPOINT.");
    return e;
  }

  // GETs `url` and each Link rel="next" after it, handing every response to on_page.
  HubStatus paginate(
      std::string url, const ErrorContext& context,
      const std::function<HubResult<PageAction>(const HttpResponse&)>& on_page) const {
    std::set<std::string> seen;
    while (true) {
      if (!seen.insert(url).second) {
        return make_error(HubErrorKind::bad_response, "pagination loops back to " + shown(url),
                          "The Hub's Link header repeats a page; please report it.");
      }
      HttpResponse response = HFAUDIT_TRY(api_call(api_request(HttpMethod::get, url), context));
      const PageAction action = HFAUDIT_TRY(on_page(response));
      if (action == PageAction::stop) return util::Ok{};
      auto next = find_link(response.headers.get_all("Link"), "next");
      if (!next) return util::Ok{};
      url = is_relative_location(*next) ? resolve_location(url, *next) : std::move(*next);
    }
  }

  const HubOptions& m_options;
  HttpTransport& m_transport;
};

HubError offline_error(std::string_view what) {
  HubError e = make_error(HubErrorKind::offline,
                          "offline mode is on: no request made for " + std::string(what),
                          std::string(k_offline_hint));
  return e;
}

HubError invalid(const util::Error& error) {
  return make_error(HubErrorKind::invalid_argument, error.message);
}

// A repository-relative file path as the Hub accepts it.
HubStatus check_path(std::string_view path) {
  if (path.empty()) return make_error(HubErrorKind::invalid_argument, "empty file path");
  if (path.front() == '/' || path.back() == '/') {
    return make_error(HubErrorKind::invalid_argument,
                      "file path must be relative and name a file: " + std::string(path));
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto part = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..") {
      return make_error(HubErrorKind::invalid_argument,
                        "file path has an empty, '.' or '..' component: " + std::string(path));
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  for (const char c : path) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return make_error(HubErrorKind::invalid_argument, "file path contains control characters");
    }
  }
  return util::Ok{};
}

HubStatus check_revision(std::string_view revision) {
  if (revision.empty()) return util::Ok{};
  if (auto valid = validate_revision(revision); !valid) return invalid(valid.error());
  return util::Ok{};
}

std::string revision_or_default(std::string_view revision) {
  return revision.empty() ? std::string(k_default_revision) : std::string(revision);
}

}  // namespace

HubResult<HubClient> HubClient::create(HubOptions options,
                                       std::shared_ptr<HttpTransport> transport) {
  if (!transport) return make_error(HubErrorKind::invalid_argument, "no HTTP transport given");
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  if (!url_origin(options.endpoint) || options.endpoint.find_first_of("?#") != std::string::npos) {
    return make_error(HubErrorKind::invalid_argument,
                      "invalid Hub endpoint \"" + redact_url(options.endpoint) +
                          "\": expected an http(s) URL such as https://huggingface.co",
                      "Check HF_ENDPOINT.");
  }
  if (options.token) {
    for (const char c : *options.token) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        // Never quote the token, not even a part of it.
        return make_error(HubErrorKind::invalid_argument, "the token contains control characters",
                          "Tokens are a single line; check HF_TOKEN or the token file.");
      }
    }
    if (options.token->empty()) options.token.reset();
  }
  if (options.max_retries < 0 || options.max_redirects < 0 || options.backoff_base.count() < 0 ||
      options.backoff_cap.count() < 0 || options.max_retry_time.count() < 0) {
    return make_error(HubErrorKind::invalid_argument, "negative retry or redirect limits");
  }
  if (!options.sleep) options.sleep = [](milliseconds d) { std::this_thread::sleep_for(d); };
  if (!options.now) options.now = [] { return std::chrono::system_clock::now(); };
  if (!options.jitter) {
    options.jitter = [] {
      thread_local std::mt19937_64 engine{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
  return HubClient(std::move(options), std::move(transport));
}

std::string HubClient::model_api_url(const RepoId& repo) const {
  return m_options.endpoint + "/api/models/" + repo.str();
}

std::string HubClient::resolve_url(const RepoId& repo, std::string_view revision,
                                   std::string_view path) const {
  return m_options.endpoint + "/" + repo.str() + "/resolve/" +
         encode_revision(revision_or_default(revision)) + "/" + encode_path(path);
}

HubResult<ModelInfo> HubClient::model_info(const RepoId& repo, std::string_view revision,
                                           const ModelInfoQuery& query) const {
  if (m_options.offline == Offline::yes) return offline_error("model info of " + repo.str());
  HFAUDIT_TRY(check_revision(revision));
  if (!query.expand.empty() &&
      (query.blobs == Blobs::yes || query.security_status == SecurityStatus::yes)) {
    return make_error(HubErrorKind::invalid_argument,
                      "expand cannot be combined with blobs or securityStatus");
  }
  std::string url = model_api_url(repo);
  if (!revision.empty()) url += "/revision/" + encode_revision(revision);
  std::vector<std::string> params;
  if (query.blobs == Blobs::yes) params.emplace_back("blobs=true");
  if (query.security_status == SecurityStatus::yes) params.emplace_back("securityStatus=true");
  for (const auto& property : query.expand)
    params.push_back("expand=" + encode_component(property));
  for (std::size_t i = 0; i < params.size(); ++i) url += (i == 0 ? "?" : "&") + params[i];

  const Session session(m_options, *m_transport);
  const auto context = session.context(&repo, revision, {}, RequestTarget::repo_api);
  HttpResponse response =
      HFAUDIT_TRY(session.api_call(session.api_request(HttpMethod::get, url), context));
  return parse_model_info(response.body);
}

HubStatus HubClient::list_tree(
    const RepoId& repo, std::string_view revision, const TreeQuery& query,
    const std::function<PageAction(std::vector<TreeEntry>&&)>& on_page) const {
  if (m_options.offline == Offline::yes) return offline_error("tree of " + repo.str());
  HFAUDIT_TRY(check_revision(revision));
  if (!query.path.empty()) HFAUDIT_TRY(check_path(query.path));
  std::string url = model_api_url(repo) + "/tree/" + encode_revision(revision_or_default(revision));
  if (!query.path.empty()) url += "/" + encode_path(query.path);
  std::vector<std::string> params;
  if (query.recursive == Recursive::yes) params.emplace_back("recursive=true");
  if (query.expand == Expand::yes) params.emplace_back("expand=true");
  for (std::size_t i = 0; i < params.size(); ++i) url += (i == 0 ? "?" : "&") + params[i];

  const Session session(m_options, *m_transport);
  const auto context = session.context(&repo, revision, query.path, RequestTarget::listing);
  return session.paginate(url, context, [&](const HttpResponse& response) -> HubResult<PageAction> {
    auto entries = parse_tree(response.body);
    if (!entries) return entries.error();
    return on_page(std::move(entries).value());
  });
}

HubResult<std::vector<TreeEntry>> HubClient::list_tree(const RepoId& repo,
                                                       std::string_view revision,
                                                       const TreeQuery& query) const {
  std::vector<TreeEntry> all;
  HFAUDIT_TRY(list_tree(repo, revision, query, [&](std::vector<TreeEntry>&& page) {
    std::move(page.begin(), page.end(), std::back_inserter(all));
    return PageAction::next;
  }));
  return all;
}

HubResult<std::vector<TreeEntry>> HubClient::paths_info(const RepoId& repo,
                                                        std::string_view revision,
                                                        const std::vector<std::string>& paths,
                                                        Expand expand) const {
  if (m_options.offline == Offline::yes) return offline_error("paths info of " + repo.str());
  HFAUDIT_TRY(check_revision(revision));
  std::string form;
  for (const auto& path : paths) {
    HFAUDIT_TRY(check_path(path));
    form += (form.empty() ? "" : "&") + std::string("paths=") + encode_component(path);
  }
  if (expand == Expand::yes) form += (form.empty() ? "" : "&") + std::string("expand=true");
  const Session session(m_options, *m_transport);
  HttpRequest request =
      session.api_request(HttpMethod::post, model_api_url(repo) + "/paths-info/" +
                                                encode_revision(revision_or_default(revision)));
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.body = std::move(form);
  const auto context = session.context(&repo, revision, {}, RequestTarget::listing);
  HttpResponse response = HFAUDIT_TRY(session.api_call(std::move(request), context));
  return parse_tree(response.body);
}

HubResult<Refs> HubClient::refs(const RepoId& repo, IncludePrs include_prs) const {
  if (m_options.offline == Offline::yes) return offline_error("refs of " + repo.str());
  std::string url = model_api_url(repo) + "/refs";
  if (include_prs == IncludePrs::yes) url += "?include_prs=1";
  const Session session(m_options, *m_transport);
  const auto context = session.context(&repo, {}, {}, RequestTarget::repo_api);
  HttpResponse response =
      HFAUDIT_TRY(session.api_call(session.api_request(HttpMethod::get, url), context));
  return parse_refs(response.body);
}

HubResult<AuthorKind> HubClient::author_kind(std::string_view owner) const {
  if (m_options.offline == Offline::yes) return offline_error("the owner of " + std::string(owner));
  const Session session(m_options, *m_transport);
  const auto context = session.context(nullptr, {}, {}, RequestTarget::listing);
  for (const auto& [kind, collection] : {std::pair{AuthorKind::organization, "organizations"},
                                         std::pair{AuthorKind::user, "users"}}) {
    const std::string url =
        m_options.endpoint + "/api/" + collection + "/" + encode_component(owner) + "/overview";
    auto response = session.api_call(session.api_request(HttpMethod::get, url), context);
    if (response) return kind;
    const HubError& error = response.error();
    // 404 (or a 401 RepoNotFound-style answer) only says "not this kind of owner".
    if (error.status != 404 && error.kind != HubErrorKind::repo_not_found_or_no_access)
      return error;
  }
  return AuthorKind::unknown;
}

HubResult<std::size_t> HubClient::list_models(
    const ListModelsQuery& query,
    const std::function<PageAction(std::vector<ModelListItem>&&)>& on_page) const {
  if (m_options.offline == Offline::yes) return offline_error("the model list");
  if (query.limit && *query.limit == 0) return std::size_t{0};
  std::string url = m_options.endpoint + "/api/models";
  std::vector<std::string> params;
  if (!query.author.empty()) params.push_back("author=" + encode_component(query.author));
  if (!query.search.empty()) params.push_back("search=" + encode_component(query.search));
  if (!query.sort.empty()) params.push_back("sort=" + encode_component(query.sort));
  params.push_back(
      "limit=" + std::to_string(std::min(query.limit.value_or(k_max_list_page), k_max_list_page)));
  if (query.full == Full::yes) params.emplace_back("full=true");
  for (std::size_t i = 0; i < params.size(); ++i) url += (i == 0 ? "?" : "&") + params[i];

  const Session session(m_options, *m_transport);
  ErrorContext context = session.context(nullptr, {}, {}, RequestTarget::listing);
  std::size_t delivered = 0;
  const HubStatus status =
      session.paginate(url, context, [&](const HttpResponse& response) -> HubResult<PageAction> {
        auto items = HFAUDIT_TRY(parse_model_list(response.body));
        bool capped = false;
        if (query.limit && delivered + items.size() >= *query.limit) {
          items.resize(*query.limit - delivered);
          capped = true;
        }
        delivered += items.size();
        const PageAction action = on_page(std::move(items));
        return capped ? PageAction::stop : action;
      });
  if (!status) return status.error();
  return delivered;
}

HubResult<std::vector<ModelListItem>> HubClient::list_models(const ListModelsQuery& query) const {
  std::vector<ModelListItem> all;
  HFAUDIT_TRY(list_models(query, [&](std::vector<ModelListItem>&& page) {
    std::move(page.begin(), page.end(), std::back_inserter(all));
    return PageAction::next;
  }));
  return all;
}

HubResult<std::string> HubClient::resolve_revision(const RepoId& repo,
                                                   std::string_view revision) const {
  if (is_commit_hash(revision)) return std::string(revision);
  const std::string rev = revision_or_default(revision);
  ModelInfoQuery query;
  query.expand = {"sha"};
  ModelInfo info = HFAUDIT_TRY(model_info(repo, rev, query));
  if (!is_commit_hash(info.sha)) {
    return make_error(HubErrorKind::bad_response,
                      "the Hub did not return a commit id for " + repo.str() + "@" + rev,
                      "A proxy or mirror may be altering Hub responses (check HF_ENDPOINT).");
  }
  return std::move(info.sha);
}

HubResult<FileMetadata> HubClient::file_metadata(const RepoId& repo, std::string_view revision,
                                                 std::string_view path) const {
  if (m_options.offline == Offline::yes) {
    return offline_error("metadata of " + std::string(path) + " in " + repo.str());
  }
  HFAUDIT_TRY(check_revision(revision));
  HFAUDIT_TRY(check_path(path));
  const Session session(m_options, *m_transport);
  const auto context =
      session.context(&repo, revision_or_default(revision), path, RequestTarget::file);
  HttpRequest request;
  request.method = HttpMethod::head;
  request.url = resolve_url(repo, revision, path);
  request.headers.emplace_back("Accept-Encoding", "identity");
  request.connect_timeout = m_options.etag_timeout;
  request.read_timeout = m_options.etag_timeout;
  // Only relative redirects (resolve-cache, renamed repos) are followed: an absolute
  // Location is the CDN/bridge URL the download should use.
  std::string commit_seen;
  Session::Walked walked =
      HFAUDIT_TRY(session.walk(std::move(request), context, Session::Follow::relative, nullptr,
                               [&](const HttpResponse& answer) {
                                 if (auto commit = answer.headers.get("X-Repo-Commit"))
                                   commit_seen = *commit;
                               }));
  const HttpResponse& response = walked.response;
  const std::string& url = walked.url;
  if (response.status >= 400) return session.http_error(walked, context);
  if (is_redirect(response.status) && !response.headers.contains("Location")) {
    return session.bad_response("HTTP " + std::to_string(response.status) + " without Location",
                                response);
  }
  FileMetadata meta;
  // huggingface_hub reads the final response; an earlier hop's value is an acceptable fallback.
  meta.commit = response.headers.get("X-Repo-Commit").value_or(commit_seen);
  if (!is_commit_hash(meta.commit)) {
    return session.bad_response("the resolve answer for " + std::string(path) + " in " +
                                    repo.str() +
                                    (meta.commit.empty() ? " has no X-Repo-Commit header"
                                                         : " has a malformed X-Repo-Commit"),
                                response);
  }
  const auto linked_etag = response.headers.get("X-Linked-Etag");
  const auto etag = linked_etag ? linked_etag : response.headers.get("ETag");
  if (!etag || normalize_etag(*etag).empty()) {
    return session.bad_response("the resolve answer for " + std::string(path) + " has no ETag",
                                response);
  }
  meta.etag = normalize_etag(*etag);
  meta.is_lfs = linked_etag.has_value();
  if (auto linked_size = response.headers.get("X-Linked-Size")) {
    meta.size = parse_uint(*linked_size);
  } else if (!is_redirect(response.status)) {
    if (auto length = response.headers.get("Content-Length")) meta.size = parse_uint(*length);
  }
  meta.location = response.headers.get("Location").value_or(url);
  if (is_relative_location(meta.location)) meta.location = resolve_location(url, meta.location);
  if (auto xet = response.headers.get("X-Xet-Hash"); xet && !xet->empty()) meta.xet_hash = *xet;
  const auto links = response.headers.get_all("Link");
  meta.xet_auth_url = find_link(links, "xet-auth");
  if (!meta.xet_auth_url) {
    if (auto route = response.headers.get("X-Xet-Refresh-Route")) {
      meta.xet_auth_url = is_relative_location(*route) ? m_options.endpoint + *route : *route;
    }
  }
  meta.xet_reconstruction_url = find_link(links, "xet-reconstruction-info");
  meta.request_id = response.headers.get("X-Request-Id").value_or("");
  return meta;
}

HubResult<DownloadResult> HubClient::download(const RepoId& repo, std::string_view revision,
                                              std::string_view path,
                                              const DownloadCallbacks& callbacks,
                                              std::uint64_t range_start,
                                              std::optional<std::uint64_t> range_end) const {
  if (m_options.offline == Offline::yes) {
    return offline_error("download of " + std::string(path) + " from " + repo.str());
  }
  if (!callbacks.on_data) return make_error(HubErrorKind::invalid_argument, "no download sink");
  HFAUDIT_TRY(check_revision(revision));
  HFAUDIT_TRY(check_path(path));
  const Session session(m_options, *m_transport);
  const auto context =
      session.context(&repo, revision_or_default(revision), path, RequestTarget::file);

  std::uint64_t delivered = 0;
  DownloadResult result;
  bool range_ignored_unhandled = false;
  std::optional<HubError> protocol_error;

  HttpRequest request;
  request.method = HttpMethod::get;
  request.url = resolve_url(repo, revision, path);
  request.headers.emplace_back("Accept-Encoding", "identity");
  request.connect_timeout = m_options.download_timeout;
  request.read_timeout = m_options.download_timeout;
  const bool ranged = range_start > 0 || range_end.has_value();
  if (ranged) {
    request.range_start = range_start;
    request.range_end = range_end;
  }
  request.sink = [&](std::string_view chunk) {
    if (!callbacks.on_data(chunk)) return false;
    delivered += chunk.size();
    return true;
  };
  request.on_headers = [&](int status, const Headers& headers) {
    if (status != 200 && status != 206) return BodyDisposition::buffer;
    DownloadStart start;
    start.status = status;
    const auto content_range = headers.get("Content-Range");
    if (status == 206) {
      const auto first = content_range ? parse_content_range_start(*content_range) : std::nullopt;
      if (!first || *first != range_start) {
        protocol_error =
            make_error(HubErrorKind::bad_response,
                       "206 answer does not start at byte " + std::to_string(range_start),
                       "A proxy may be altering ranged requests.");
        return BodyDisposition::abort;
      }
      start.offset = range_start;
      start.total_size = parse_content_range_total(*content_range);
    } else {
      start.offset = 0;
      const auto encoding = headers.get("Content-Encoding");
      if (!encoding || util::iequals(*encoding, "identity")) {
        if (auto length = headers.get("Content-Length")) start.total_size = parse_uint(*length);
      }
    }
    result.status = status;
    result.offset = start.offset;
    result.total_size = start.total_size;
    result.range = !ranged         ? RangeOutcome::not_requested
                   : status == 206 ? RangeOutcome::honoured
                                   : RangeOutcome::ignored;
    if (result.range == RangeOutcome::ignored && !callbacks.on_start) {
      range_ignored_unhandled = true;
      return BodyDisposition::abort;
    }
    if (callbacks.on_start && !callbacks.on_start(start)) return BodyDisposition::abort;
    return BodyDisposition::sink;
  };
  int redirects = 0;  // answers seen before a failed hop are the redirects it followed
  auto walked = session.walk(std::move(request), context, Session::Follow::any, &delivered,
                             [&](const HttpResponse&) { ++redirects; });
  if (!walked) {
    if (range_ignored_unhandled) {
      result.bytes_delivered = 0;
      result.redirects = redirects;
      result.final_url = walked.error().url;  // already shown (redacted)
      return result;
    }
    if (protocol_error) return *protocol_error;
    HubError error = walked.error();
    error.bytes_delivered = delivered;
    return error;
  }
  const HttpResponse& response = walked->response;
  if (is_redirect(response.status)) {
    return session.bad_response("HTTP " + std::to_string(response.status) + " without Location",
                                response);
  }
  if (response.status >= 400 || response.status < 200) return session.http_error(*walked, context);
  if (response.status != 200 && response.status != 206) {
    return session.bad_response(
        "unexpected HTTP " + std::to_string(response.status) + " for a file download", response);
  }
  result.bytes_delivered = delivered;
  result.redirects = walked->hops;
  result.final_url = session.shown(walked->url);
  return result;
}

}  // namespace hfaudit::hub
