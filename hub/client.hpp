// HubClient: read-only calls to the Hugging Face Hub HTTP API (reference hub-api.md), with
// typed results, typed errors (hub/errors.hpp), bounded retries, and redirects followed by
// hand so the token never leaves the endpoint's origin.
//
// Ownership and threads: a HubClient is immutable after create() and cheap to copy (it
// shares its transport). All methods are const and may be called from several threads at
// once, provided the transport and the HubOptions hooks are thread-safe (the curl transport
// is; the default hooks are).
//
// Failures: every method returns HubResult<T>. With HubOptions::offline = Offline::yes every
// method fails with HubErrorKind::offline without making a request (resolve_revision of a
// full commit id excepted: it needs no request). No method throws or prints.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/errors.hpp"
#include "hub/http.hpp"
#include "hub/repo_ref.hpp"
#include "hub/types.hpp"

namespace hfaudit::hub {

enum class Offline { no, yes };

struct HubOptions {
  // Base URL; a trailing '/' is stripped. May carry a path prefix (a mirror under /hf).
  std::string endpoint = "https://huggingface.co";
  // Sent as "Authorization: Bearer ..." only to URLs with the endpoint's scheme, host and port.
  std::optional<std::string> token;
  Offline offline = Offline::no;
  // Connect and per-read timeout of metadata requests: every /api/ call (model info,
  // tree, refs, listings...) and the HEAD of file_metadata; HF_HUB_ETAG_TIMEOUT.
  std::chrono::milliseconds etag_timeout{10'000};
  // Connect and per-read timeout of file downloads (download()); HF_HUB_DOWNLOAD_TIMEOUT.
  std::chrono::milliseconds download_timeout{10'000};
  // Retries after the first attempt, on 408/429/500/502/503/504 and network errors.
  int max_retries = 5;
  // No retry is started if the time spent on a call plus the next wait would exceed this.
  std::chrono::milliseconds max_retry_time{120'000};
  // Full-jitter exponential backoff: wait uniform(0, min(cap, base * 2^retry)).
  std::chrono::milliseconds backoff_base{1'000};
  std::chrono::milliseconds backoff_cap{30'000};
  // Redirects followed per call before failing with redirect_loop.
  int max_redirects = 10;
  // Appended to "hfaudit/<version>" in the User-Agent (the curl transport's is set there;
  // this one is added to requests as a header so any transport sends it).
  std::string user_agent_suffix;

  // Hooks, injectable so tests run instantly and deterministically. Defaults: sleep_for,
  // system_clock::now, a uniform random number in [0, 1], no logging.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<std::chrono::system_clock::time_point()> now;
  std::function<double()> jitter;
  // Debug lines (requests, statuses, retries), already redacted. Must be thread-safe.
  std::function<void(std::string_view)> log;
};

enum class Blobs { no, yes };
enum class AuthorKind { organization, user, unknown };
enum class SecurityStatus { no, yes };

struct ModelInfoQuery {
  Blobs blobs = Blobs::no;                              // blobs=true: sibling sizes, blob ids, lfs
  SecurityStatus security_status = SecurityStatus::no;  // securityStatus=true
  // expand=<prop> (repeated): the response then holds only these properties. Cannot be
  // combined with blobs or security_status (invalid_argument), as in huggingface_hub.
  std::vector<std::string> expand;
};

enum class Recursive { no, yes };
enum class Expand { no, yes };
enum class IncludePrs { no, yes };
enum class Full { no, yes };
enum class PageAction { next, stop };

struct TreeQuery {
  std::string path;  // directory to list; empty for the root
  Recursive recursive = Recursive::no;
  Expand expand = Expand::no;  // adds lastCommit and securityFileStatus (smaller pages)
};

struct ListModelsQuery {
  std::string author;
  std::string search;
  std::string sort;                  // createdAt, downloads, lastModified, likes, trendingScore
  std::optional<std::size_t> limit;  // total cap (also sent as the page size, at most 1000)
  Full full = Full::no;              // full=true: sha, lastModified, siblings
};

// Where the bytes of a download start, told to the caller before the first byte arrives.
struct DownloadStart {
  int status = 0;                           // 200 or 206
  std::uint64_t offset = 0;                 // file offset of the first byte that follows
  std::optional<std::uint64_t> total_size;  // from Content-Range, else Content-Length
};

struct DownloadCallbacks {
  // Called once per attempt before any byte is delivered (again if a retry restarts the
  // response). Return false to stop (the download then fails with aborted). If the caller
  // asked for a range and offset is 0, the server ignored it: truncate what you have.
  std::function<bool(const DownloadStart&)> on_start;
  // Receives the bytes in order; return false to stop (aborted). Required.
  BodySink on_data;
};

enum class RangeOutcome {
  not_requested,  // range_start was 0
  honoured,       // 206: bytes start at range_start
  ignored,        // 200: the server sent the whole file; bytes (if any) start at 0
};

struct DownloadResult {
  int status = 0;
  std::uint64_t offset = 0;           // file offset of the first delivered byte
  std::uint64_t bytes_delivered = 0;  // bytes handed to on_data
  std::optional<std::uint64_t> total_size;
  RangeOutcome range = RangeOutcome::not_requested;
  int redirects = 0;
  std::string final_url;  // redacted (signed query parameters hidden)
};

class HubClient {
 public:
  // Validates the options (endpoint is an http(s) URL, token has no control characters,
  // non-negative limits) and fills unset hooks with defaults. Failure: invalid_argument.
  // The transport is shared, never null (pass make_curl_transport() or a ReplayTransport).
  static HubResult<HubClient> create(HubOptions options, std::shared_ptr<HttpTransport> transport);

  const HubOptions& options() const { return m_options; }

  // GET /api/models/{repo}[/revision/{rev}] (the plain form when revision is empty).
  // Success: the parsed info; `sha` is the commit the revision resolved to.
  // Failure: repo_not_found_or_no_access, revision_not_found, gated (rare: info is usually
  // public), rate_limited, server_error, network, bad_response, invalid_argument.
  HubResult<ModelInfo> model_info(const RepoId& repo, std::string_view revision = {},
                                  const ModelInfoQuery& query = {}) const;

  // GET /api/models/{repo}/tree/{rev}[/{path}]?recursive=..&expand=.., following
  // Link rel="next" verbatim until absent. The callback variant hands over one page at a
  // time (return PageAction::stop to end early, successfully); the other collects them.
  // Failure: as model_info, plus entry_not_found for a missing directory.
  HubResult<std::vector<TreeEntry>> list_tree(const RepoId& repo, std::string_view revision,
                                              const TreeQuery& query = {}) const;
  HubStatus list_tree(const RepoId& repo, std::string_view revision, const TreeQuery& query,
                      const std::function<PageAction(std::vector<TreeEntry>&&)>& on_page) const;

  // POST /api/models/{repo}/paths-info/{rev} with form paths=..&paths=..[&expand=true].
  // Success: entries for the paths that exist (unknown paths are silently omitted).
  // Treated as idempotent (a read) and so retried like a GET.
  HubResult<std::vector<TreeEntry>> paths_info(const RepoId& repo, std::string_view revision,
                                               const std::vector<std::string>& paths,
                                               Expand expand = Expand::no) const;

  // GET /api/models/{repo}/refs[?include_prs=1].
  HubResult<Refs> refs(const RepoId& repo, IncludePrs include_prs = IncludePrs::no) const;

  // GET /api/models?author=..&limit=..&full=.., following Link rel="next" until absent or
  // `limit` items were delivered. on_page gets each page (stop ends early, successfully);
  // success is the number of items delivered. The vector variant collects them.
  HubResult<std::size_t> list_models(
      const ListModelsQuery& query,
      const std::function<PageAction(std::vector<ModelListItem>&&)>& on_page) const;
  HubResult<std::vector<ModelListItem>> list_models(const ListModelsQuery& query) const;

  // Whether a repository owner is an organisation or a user account, from
  // GET /api/organizations/{owner}/overview, then /api/users/{owner}/overview (the calls
  // huggingface_hub's get_organization_overview / get_user_overview make; not in the
  // recorded reference, so an owner neither answers for is `unknown`, not an error).
  // Failure: rate_limited, server_error, network, offline, invalid_token.
  HubResult<AuthorKind> author_kind(std::string_view owner) const;

  // The 40-hex commit a revision (branch, tag, short sha, refs/pr/N) points to, from model
  // info's `sha` (one light request with expand=sha). A full commit id is returned as is
  // without a request. Failure: as model_info; bad_response if `sha` is not a commit.
  HubResult<std::string> resolve_revision(const RepoId& repo, std::string_view revision) const;

  // HEAD {endpoint}/{repo}/resolve/{rev}/{path} with redirects handled as huggingface_hub
  // does: relative Locations are re-issued on the same host, an absolute one ends the walk.
  // Success: commit (X-Repo-Commit), normalised etag, size, the Location to download from.
  // Failure: entry_not_found, revision_not_found, repo_not_found_or_no_access, gated, ...;
  // bad_response when X-Repo-Commit or the ETag is missing (a proxy rewrote the answer);
  // redirect_loop.
  HubResult<FileMetadata> file_metadata(const RepoId& repo, std::string_view revision,
                                        std::string_view path) const;

  // GET {endpoint}/{repo}/resolve/{rev}/{path}, streaming the body to callbacks.on_data
  // (nothing is held in memory). Redirects are followed by hand up to max_redirects;
  // Authorization is sent only while the URL has the endpoint's origin. range_start > 0
  // sends "Range: bytes=N-": 206 continues at N; 200 means the server ignored the range —
  // with on_start set the caller is told offset 0 and gets the whole file, without it
  // nothing is delivered and the result says RangeOutcome::ignored (call again from 0).
  // range_end (inclusive) bounds the request to "bytes=range_start-range_end", for
  // fetching one file in several parallel ranges.
  // Failures: as file_metadata, plus range_not_satisfiable, bad_request (range-less GET of a
  // file > 50 GB), aborted, redirect_loop. A connection cut after some bytes is not retried:
  // the error is network with bytes_delivered set, so the caller can resume at
  // range_start + bytes_delivered.
  HubResult<DownloadResult> download(const RepoId& repo, std::string_view revision,
                                     std::string_view path, const DownloadCallbacks& callbacks,
                                     std::uint64_t range_start = 0,
                                     std::optional<std::uint64_t> range_end = std::nullopt) const;

  // The URLs the calls above use (exposed for logging and tests).
  std::string model_api_url(const RepoId& repo) const;
  std::string resolve_url(const RepoId& repo, std::string_view revision,
                          std::string_view path) const;

 private:
  HubClient(HubOptions options, std::shared_ptr<HttpTransport> transport)
      : m_options(std::move(options)), m_transport(std::move(transport)) {}

  HubOptions m_options;
  std::shared_ptr<HttpTransport> m_transport;
};

}  // namespace hfaudit::hub
