#include "app/info.hpp"

#include <future>

namespace hfaudit::app {

hub::HubResult<RepoState> fetch_repo_state(const hub::HubClient& client, const hub::RepoRef& ref,
                                           int64_t now_unix,
                                           std::optional<hub::AuthorKind> owner_kind) {
  hub::ModelInfoQuery query;
  query.blobs = hub::Blobs::yes;
  query.security_status = hub::SecurityStatus::yes;
  auto info = client.model_info(ref.repo, ref.revision, query);
  if (!info) return info.error();
  if (!hub::is_commit_hash(info->sha))
    return hub::make_error(hub::HubErrorKind::bad_response,
                           "the Hub did not say which commit " + ref.revision + " of " +
                               ref.repo.str() + " is (no sha in the model info)");

  // Pin the tree to the commit the info describes, so both answers agree even
  // if the branch moves between the two calls.
  const std::string commit = info->sha;
  std::future<hub::HubResult<hub::AuthorKind>> asked_kind;
  if (!owner_kind)
    asked_kind = std::async(std::launch::async,
                            [&client, &ref] { return client.author_kind(ref.repo.owner()); });
  hub::TreeQuery tree_query;
  tree_query.recursive = hub::Recursive::yes;
  tree_query.expand = hub::Expand::yes;
  auto tree = client.list_tree(ref.repo, commit, tree_query);
  if (asked_kind.valid()) {
    // The owner's kind is a signal, not a prerequisite: a failure leaves it unknown.
    auto kind = asked_kind.get();
    owner_kind = kind ? *kind : hub::AuthorKind::unknown;
  }
  if (!tree) return tree.error();

  trust::TrustInput input;
  input.requested_revision = ref.revision;
  input.info = *info;
  input.tree = *tree;
  input.author_kind = *owner_kind;
  input.now_unix = now_unix;
  RepoState state;
  state.trust = trust::assess(input);
  state.info = std::move(*info);
  state.tree = std::move(*tree);
  return state;
}

hub::HubResult<trust::TrustReport> gather_info(const hub::HubClient& client,
                                               const hub::RepoRef& ref, int64_t now_unix) {
  auto state = fetch_repo_state(client, ref, now_unix);
  if (!state) return state.error();
  return std::move(state->trust);
}

}  // namespace hfaudit::app
