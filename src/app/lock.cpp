#include "app/lock.hpp"

#include <algorithm>

namespace hfaudit::app {

namespace {

lockfile::Verdict lock_verdict(policies::Verdict verdict) {
  return verdict == policies::Verdict::warn ? lockfile::Verdict::warn : lockfile::Verdict::allow;
}

// "org/name@rev" as hub::parse_repo_ref reads it, for entries read from a file.
util::Result<hub::RepoRef> entry_ref(const lockfile::LockedRepo& entry) {
  auto ref = hub::parse_repo_ref(entry.repo + "@" + entry.revision);
  if (!ref)
    return util::make_error(
        util::ErrorCode::invalid_argument,
        "entry \"" + entry.repo + "@" + entry.revision + "\": " + ref.error().message);
  return ref;
}

}  // namespace

std::string_view to_string(LockOutcome outcome) {
  switch (outcome) {
    case LockOutcome::added:
      return "added";
    case LockOutcome::updated:
      return "updated";
    case LockOutcome::unchanged:
      return "unchanged";
    case LockOutcome::blocked:
      return "blocked";
    case LockOutcome::failed:
      return "failed";
  }
  return "failed";
}

LockRequest lock_request(const hub::RepoRef& ref, const std::vector<std::string>& include,
                         const std::vector<std::string>& exclude,
                         const lockfile::Lockfile& existing) {
  LockRequest request{ref, include, exclude};
  const lockfile::LockedRepo* entry = existing.find(ref.repo.str());
  if (!entry) return request;
  if (ref.revision_given == hub::RevisionGiven::no) request.ref.revision = entry->revision;
  if (include.empty() && exclude.empty()) {
    request.include = entry->include;
    request.exclude = entry->exclude;
  }
  return request;
}

util::Result<std::vector<LockRequest>> lock_requests(const lockfile::Lockfile& lock) {
  std::vector<LockRequest> requests;
  for (const auto& entry : lock.repos) {
    hub::RepoRef ref = HFAUDIT_TRY(entry_ref(entry));
    requests.push_back(LockRequest{std::move(ref), entry.include, entry.exclude});
  }
  return requests;
}

util::Result<lockfile::LockedRepo> pinned_entry(const PullResult& pull,
                                                const LockRequest& request) {
  const auto refuse = [](std::string why) {
    return util::make_error(util::ErrorCode::invalid_argument, std::move(why));
  };
  if (pull.failure) return refuse(pull.failure->message);
  if (!pull.decision)
    return refuse("no policy decision was made, so there is no verdict to record");
  if (pull.decision->verdict == policies::Verdict::block) {
    std::string rules;
    for (const auto& rule : pull.decision->rules)
      if (rule.outcome == policies::Outcome::block) rules += (rules.empty() ? "" : ", ") + rule.id;
    return util::make_error(util::ErrorCode::policy_denied,
                            "blocked by policy " + pull.decision->policy_name + " (" + rules + ")");
  }

  lockfile::LockedRepo entry;
  entry.repo = request.ref.repo.str();
  entry.revision = request.ref.revision;
  entry.commit = pull.commit;
  entry.include = request.include;
  entry.exclude = request.exclude;
  entry.policy.name = pull.decision->policy_name;
  entry.policy.sha256 = pull.decision->policy_sha256;
  entry.policy.verdict = lock_verdict(pull.decision->verdict);
  for (const auto& rule : pull.decision->rules)
    if (rule.outcome == policies::Outcome::warn) entry.policy.warnings.push_back(rule.id);

  for (const auto& f : pull.files) {
    switch (f.outcome) {
      case FileOutcome::excluded:
        continue;
      case FileOutcome::blocked:
        return util::make_error(util::ErrorCode::policy_denied,
                                f.path + " was blocked: " + f.reason);
      case FileOutcome::failed:
        return refuse(f.path + " was not verified: " + f.reason);
      case FileOutcome::linked:
        entry.files.push_back(lockfile::LockedFile{f.path, f.size, f.sha256, f.git_oid, f.lfs});
        break;
    }
  }
  if (entry.files.empty())
    return refuse("no file of commit " + pull.commit + " matches the include/exclude globs");
  lockfile::canonicalize(entry);
  return entry;
}

RepoLockResult lock_repo(const hub::HubClient& client, const LockRequest& request,
                         PullOptions options, lockfile::Lockfile& lock) {
  RepoLockResult result(request);
  const lockfile::LockedRepo* previous = lock.find(request.ref.repo.str());
  if (previous) result.previous_commit = previous->commit;

  options.include = request.include;
  options.exclude = request.exclude;
  options.pinned = nullptr;
  options.cache_first = CacheFirst::no;
  options.pinned_by = PinnedBy::lock;  // the lock pins what this pull resolves
  result.pull = pull(client, request.ref, options);

  auto entry = pinned_entry(result.pull, request);
  if (!entry) {
    result.outcome = entry.error().code == util::ErrorCode::policy_denied ? LockOutcome::blocked
                                                                          : LockOutcome::failed;
    result.reason = entry.error().message;
    return result;
  }
  if (!previous)
    result.outcome = LockOutcome::added;
  else
    result.outcome = *previous == *entry ? LockOutcome::unchanged : LockOutcome::updated;
  lock.upsert(std::move(*entry));
  return result;
}

std::vector<PullResult> pull_locked(const hub::HubClient& client, const lockfile::Lockfile& lock,
                                    const PullOptions& options) {
  std::vector<PullResult> results;
  for (const auto& entry : lock.repos) {
    auto ref = entry_ref(entry);
    if (!ref) {
      PullResult failed;
      failed.repo = entry.repo;
      failed.revision = entry.revision;
      failed.commit = entry.commit;
      failed.failure = PullFailure{PullFailure::Kind::usage, ref.error().message, ""};
      results.push_back(std::move(failed));
      continue;
    }
    PullOptions pinned = options;
    pinned.pinned = &entry;
    results.push_back(pull(client, *ref, pinned));
  }
  return results;
}

}  // namespace hfaudit::app
