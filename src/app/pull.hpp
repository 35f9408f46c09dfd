// The `pull` use case: resolve a revision to a commit, read the tree with its
// hashes, download every selected file into the content-addressed store while
// hashing it (resuming partial downloads, several files in parallel, big files
// in ranges), scan every file, gate the result, and only then make the allowed
// files visible in the huggingface_hub view and write the ref.
//
// Invariants (tested in tests/cli/test_pull_cli.py):
//  - nothing appears in a snapshot before its bytes matched the Hub's hash and
//    the gate allowed it; blocked files stay in the store, never in the view;
//  - repo paths that could escape the snapshot are refused before any write;
//  - a crash or kill at any point leaves the cache consistent, and the next
//    pull resumes partial downloads and fetches nothing twice;
//  - a pull of a cached, pinned commit makes no request at all.
//
// Visibility: links are created after every selected file was downloaded,
// verified, scanned and judged, then the ref is written last. A snapshot can
// be partial (huggingface_hub snapshots are too, e.g. with --include), but
// never holds an unverified or blocked file.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cache/blob_store.hpp"
#include "cache/layout.hpp"
#include "hub/client.hpp"
#include "hub/repo_ref.hpp"
#include "lockfile/lockfile.hpp"
#include "policies/engine.hpp"
#include "policies/policy.hpp"
#include "scan/context.hpp"
#include "scan/finding.hpp"
#include "trust/trust.hpp"

namespace hfaudit::app {

enum class FileOutcome {
  linked,    // verified, allowed, visible in the snapshot
  blocked,   // verified but refused by the gate: kept out of the view
  failed,    // not verified (hash mismatch, download error, unsafe path)
  excluded,  // not selected by --include/--exclude
};
std::string_view to_string(FileOutcome outcome);

enum class FileSource { downloaded, resumed, cache };
std::string_view to_string(FileSource source);

// Why a file failed, for exit codes: integrity (5), hub (4), unsafe path (6), io (3).
enum class FailureKind { none, integrity, hub, unsafe_path, io };

struct PulledFile {
  std::string path;
  uint64_t size = 0;
  bool lfs = false;
  std::string etag;     // blob name in the huggingface_hub view
  std::string git_oid;  // the Hub's git blob id (of the pointer for LFS files)
  std::string sha256;   // once verified
  FileOutcome outcome = FileOutcome::failed;
  FileSource source = FileSource::cache;
  FailureKind failure = FailureKind::none;
  uint64_t bytes_fetched = 0;
  std::optional<scan::Severity> max_severity;  // nullopt: no finding
  std::vector<scan::Finding> findings;         // low and above
  scan::FileReport report;                     // format and objects, for the policy
  std::string reason;                          // why blocked or failed
};

struct PullProgress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  size_t files_done = 0;
  size_t files_total = 0;
};

// Whether a commit the cache holds completely may be served without asking the Hub.
enum class CacheFirst { yes, no };
enum class PinnedBy { request, lock };

struct PullOptions {
  cache::CacheOptions cache;
  std::vector<std::string> include;  // fnmatch globs on repo paths; empty: everything
  std::vector<std::string> exclude;
  // The gate. With a policy, it is evaluated twice: on the Hub's metadata
  // before any download (a repository-level block stops there), and on the
  // scan reports after (files it does not admit stay out of the snapshot).
  // Without one, a built-in gate blocks files whose scan reaches `block_at`
  // or that the Hub flagged unsafe.
  // The approval status the policy sees is looked up in the approved-model
  // registry (app/approvals.hpp) once the revision resolved to a commit.
  const policies::Policy* policy = nullptr;
  // Fetch, verify and scan every selected file even when the policy blocks
  // the repository before download, so a person can review the commit and
  // approve it; blocked files still never enter the snapshot.
  bool review = false;
  scan::Severity block_at = scan::Severity::medium;
  bool offline = false;  // serve from the cache only
  // yes: a pinned commit (a commit hash, or `pinned`) the cache holds
  // completely under this policy is served with no request. no: ask the Hub
  // anyway (hfaudit lock, which records a fresh verdict).
  CacheFirst cache_first = CacheFirst::yes;
  // pull --locked: install exactly this entry's files at its commit
  // (include/exclude are ignored; the RepoRef's revision only names the ref
  // written for it). A pinned file the Hub lists with another size, git oid or
  // sha256, or no longer lists, fails as an integrity error before any
  // download; a download whose sha256 differs from the pin is never linked;
  // the Hub resolving the commit to another one fails the pull (integrity).
  // Served from the cache, with no request, when every pinned file is
  // verified there with the pinned hashes.
  const lockfile::LockedRepo* pinned = nullptr;
  // What the policy takes as the requested revision (provenance.pinned_commit):
  // the revision as requested, or the resolved commit when a lock file pins the
  // result (hfaudit lock; pull --locked always installs a commit).
  PinnedBy pinned_by = PinnedBy::request;
  size_t parallel_downloads = 8;  // files in flight at once
  // Files at least range_threshold big are fetched in parallel ranges: up to
  // max_ranges parts at once, each at least range_part_size (fewer, bigger
  // parts mean fewer requests; each finished part is checkpointed for resume).
  uint64_t range_threshold = 512ull << 20;
  uint64_t range_part_size = 64ull << 20;
  size_t max_ranges = 4;
  int max_attempts = 5;  // per file (or range): resumes after cut connections
  std::function<void(const PullProgress&)> on_progress;  // called from worker threads
  int64_t now_unix = 0;
  std::string actor = "hfaudit pull";
};

// A pull that could not run at all (the Hub refused, the cache is unusable).
struct PullFailure {
  enum class Kind { hub, cache, usage, integrity } kind = Kind::hub;
  std::string message;
  std::string hint;
};

struct PullResult {
  std::string repo;
  std::string revision;
  std::string commit;
  std::string snapshot_dir;
  bool network_used = false;  // false: served entirely from the cache
  std::vector<PulledFile> files;
  std::optional<trust::TrustReport> trust;     // absent when no Hub request was made
  std::optional<policies::Decision> decision;  // the policy's, when one was applied
  uint64_t bytes_fetched = 0;
  size_t files_fetched = 0;
  std::optional<PullFailure> failure;  // set when nothing else is meaningful
};

// How a ranged download cuts the `missing` gaps of a file into parts: pieces
// of equal size, at least `min_part_size`, so that a file with a single gap
// gets at most `max_parallel` parts. Exposed for tests.
std::vector<cache::ByteRange> plan_parts(const std::vector<cache::ByteRange>& missing,
                                         size_t max_parallel, uint64_t min_part_size);
// Whether `path` is selected by --include (empty: everything) and --exclude
// globs: fnmatch without FNM_PATHNAME, like huggingface_hub's allow/ignore
// patterns, so "*.bin" matches "sub/model.bin" too.
bool selected_by_globs(const std::vector<std::string>& include,
                       const std::vector<std::string>& exclude, const std::string& path);

// `client` is used only when the cache cannot answer (never with offline).
PullResult pull(const hub::HubClient& client, const hub::RepoRef& ref, const PullOptions& options);

}  // namespace hfaudit::app
