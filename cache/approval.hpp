// Whether an entry of the approved-model registry still holds: the approval
// names an exact file set (paths, sizes, git ids, sha256), and it stops being
// valid as soon as the files of that repo@commit differ from it. See
// docs/policies.md ("The approved-model registry").
//
// Pure functions over index records; thread-safe.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cache/index.hpp"

namespace hfaudit::cache {

struct ApprovalCheck {
  bool valid = true;
  // False when the index holds no file of that commit any more (gc evicted
  // it): nothing contradicts the approval, and the next pull checks it
  // against the Hub's listing.
  bool cached = true;
  // One line per difference, e.g. "modeling_x.py changed (git oid 1a2b... -> 3c4d...)".
  std::vector<std::string> changes;
};

// An approval with how it stands now.
struct CheckedApproval {
  ApprovalRecord record;
  ApprovalCheck check;
};

// Compares `approval` with what is known now:
//  - `cached`: the index rows of that commit (after a pull's upsert, these are
//    what the Hub lists for the pulled files). A row the approval does not
//    cover is "added"; a row whose size, git oid or (LFS) sha256 differs is
//    "changed"; a row quarantined, or backed by a blob in `*quarantined_blobs`,
//    means the cache no longer holds the approved bytes. Pass nullptr when
//    the local copies are about to be verified again against `listed` (a
//    pull restoring quarantined files brings back exactly the approved bytes).
//  - `listed`: when given, the Hub's complete listing of the commit: an
//    approved file missing from it is "removed", one that differs "changed".
ApprovalCheck check_approval(const ApprovalRecord& approval, const std::vector<FileRecord>& cached,
                             const std::set<std::string>* quarantined_blobs,
                             const std::optional<std::vector<FileRecord>>& listed = std::nullopt);

}  // namespace hfaudit::cache
