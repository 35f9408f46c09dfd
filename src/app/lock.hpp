// The lock use cases (docs/lockfile.md):
//  - lock: pull each requested repository through the real pull (verified,
//    scanned, gated, into the cache) and pin what was admitted, so the lock
//    records sha256 for every file (the Hub publishes only a git oid for
//    regular files) and the verdict of the real gate, and the cache is warm;
//  - pull --locked: pull every entry of a lock file restricted to its pinned
//    files at its pinned commit (PullOptions::pinned).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/pull.hpp"
#include "hub/client.hpp"
#include "hub/repo_ref.hpp"
#include "lockfile/lockfile.hpp"

namespace hfaudit::app {

// What one repository asks to be locked as.
struct LockRequest {
  hub::RepoRef ref;
  std::vector<std::string> include;  // empty: every file
  std::vector<std::string> exclude;
};

// Builds the request for `ref`: what the command line does not say is taken
// from the repository's entry in `existing`, so that re-locking "org/name"
// keeps the revision and globs it was locked with. A revision given
// (RevisionGiven::yes) replaces the entry's; globs given (`include` or
// `exclude` non-empty) replace both of the entry's lists.
LockRequest lock_request(const hub::RepoRef& ref, const std::vector<std::string>& include,
                         const std::vector<std::string>& exclude,
                         const lockfile::Lockfile& existing);

// The entry of every repository in `lock`, as a request (for "re-lock all").
// Failure: an entry whose id or revision is invalid (invalid_argument naming it).
util::Result<std::vector<LockRequest>> lock_requests(const lockfile::Lockfile& lock);

enum class LockOutcome {
  added,      // a new entry
  updated,    // the entry changed (commit, files, globs or verdict)
  unchanged,  // byte-identical entry
  blocked,    // the policy refused it: no entry written, an existing one kept as it was
  failed,     // Hub, integrity, cache or selection error: likewise
};
std::string_view to_string(LockOutcome outcome);

struct RepoLockResult {
  explicit RepoLockResult(LockRequest r) : request(std::move(r)) {}
  LockRequest request;
  LockOutcome outcome = LockOutcome::failed;
  std::optional<std::string> previous_commit;  // of the entry before, if there was one
  std::string reason;                          // why blocked or failed
  PullResult pull;
};

// Pulls `request` with `options` (its include/exclude replaced by the
// request's; CacheFirst::no so the verdict is fresh) and, when the pull
// admitted every selected file (at least one) under a policy that did not
// block, upserts the pinned entry into `lock`. Otherwise `lock` is untouched.
RepoLockResult lock_repo(const hub::HubClient& client, const LockRequest& request,
                         PullOptions options, lockfile::Lockfile& lock);

// The entry a pull pins, or the reason it cannot be pinned (a file blocked,
// failed or none selected, no policy decision, a block verdict).
util::Result<lockfile::LockedRepo> pinned_entry(const PullResult& pull, const LockRequest& request);

// pull --locked: every entry of `lock`, in order, each with
// `options.pinned` set to it. An entry whose id or revision is invalid gives a
// result with a usage failure (no request is made for it).
std::vector<PullResult> pull_locked(const hub::HubClient& client, const lockfile::Lockfile& lock,
                                    const PullOptions& options);

}  // namespace hfaudit::app
