// The approved-model registry's use cases: `hfaudit approve` (record that a
// person reviewed repo@commit, with the exact files and their scan verdicts),
// revoking an approval, listing approvals with whether each still holds, and
// the lookup the policy gate makes (pull, policy explain). Every change is
// written to the audit log in the same transaction as the registry row.
// docs/policies.md ("The approved-model registry").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cache/approval.hpp"
#include "cache/index.hpp"
#include "cache/layout.hpp"
#include "hub/types.hpp"
#include "policies/engine.hpp"
#include "util/result.hpp"

namespace hfaudit::app {

// Why approve/revoke/list could not run.
struct ApprovalFailure {
  enum class Kind {
    usage,       // not a full commit, nothing to revoke: exit 2
    not_cached,  // the commit is not (completely, verifiably) in the cache: exit 3
    cache,       // the index could not be read or written: exit 3
  } kind = Kind::usage;
  std::string message;
  std::string hint;
};
template <typename T>
using ApprovalResult = util::Result<T, ApprovalFailure>;

struct ApprovalRequest {
  cache::CacheOptions cache;
  std::string repo;
  std::string revision;  // must be a full 40-hex commit
  std::string by;        // who (the CLI passes --by or the login name)
  std::string reason;    // why (required, non-empty)
  // The policy in force, recorded with an approval (ignored when revoking).
  std::string policy_name;
  std::string policy_sha256;
};

// Records repo@commit in the registry. Requires every file row of the commit
// in the index to be verified (bytes matched their hash; files the gate kept
// out of the snapshot count, their bytes are in the store) and backed by a
// present blob. Replaces an earlier approval of the same commit (the audit
// entry keeps the old one). Success: the record as stored.
ApprovalResult<cache::ApprovalRecord> approve(const ApprovalRequest& request);

// Removes the approval of repo@commit. Success: the approval removed.
ApprovalResult<cache::ApprovalRecord> revoke(const ApprovalRequest& request);

// Every approval (or one repo's), each checked against the index as it is
// now (no Hub request). An absent index gives an empty list.
ApprovalResult<std::vector<cache::CheckedApproval>> list_approvals(
    const cache::CacheOptions& options, const std::optional<std::string>& repo);

// What the gate passes to the policy engine.
struct ApprovalLookup {
  policies::ApprovalStatus status = policies::ApprovalStatus::not_approved;
  std::string detail;  // who/when/why, or what changed; empty when never approved
};

// What a quarantined local copy of an approved file means: before a pull
// (which re-verifies every byte against the Hub's listing) it is repaired, not
// a change; in place (audit: nothing will be re-fetched) it voids the approval.
enum class QuarantinedCopies { repaired_by_pull, void_approval };

// The approval status of repo@commit, checked against the index rows and,
// when given, the Hub's listing of the commit (`tree`).
ApprovalLookup lookup_approval(cache::Index& index, const std::string& repo,
                               const std::string& commit,
                               const std::vector<hub::TreeEntry>* tree = nullptr,
                               QuarantinedCopies quarantined = QuarantinedCopies::repaired_by_pull);
// The same, opening the index only if it exists (policy explain never
// creates a cache): not_approved when there is no index.
ApprovalLookup lookup_approval(const cache::CacheOptions& options, const std::string& repo,
                               const std::string& commit,
                               const std::vector<hub::TreeEntry>* tree = nullptr,
                               QuarantinedCopies quarantined = QuarantinedCopies::repaired_by_pull);

// The index row a Hub tree entry becomes (pending, no blob yet).
cache::FileRecord file_record(const hub::TreeEntry& entry);

}  // namespace hfaudit::app
