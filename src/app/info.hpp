// The `info` use case: everything the Hub says about a repository at a
// revision, turned into trust signals and risk factors. Three requests (model
// info, the recursive tree with the Hub's scan statuses, the owner's kind); the
// last two run in parallel. No weights are downloaded.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "hub/client.hpp"
#include "hub/repo_ref.hpp"
#include "trust/trust.hpp"

namespace hfaudit::app {

// What the Hub says about one commit of a repository.
struct RepoState {
  hub::ModelInfo info;               // info.sha is the pinned commit
  std::vector<hub::TreeEntry> tree;  // recursive, with the Hub's per-file scan status
  trust::TrustReport trust;
};

// Success: the state, pinned to the commit the revision resolved to.
// Failure: the Hub error (not found or no access, gated, revision not found,
// rate limited, network, offline...), already explained and redacted.
// A caller that already knows the owner's account kind (an organisation audit)
// passes it and saves the request.
hub::HubResult<RepoState> fetch_repo_state(const hub::HubClient& client, const hub::RepoRef& ref,
                                           int64_t now_unix,
                                           std::optional<hub::AuthorKind> owner_kind = {});

// fetch_repo_state(), keeping only the trust report.
hub::HubResult<trust::TrustReport> gather_info(const hub::HubClient& client,
                                               const hub::RepoRef& ref, int64_t now_unix);

}  // namespace hfaudit::app
