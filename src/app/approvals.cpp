#include "app/approvals.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "hub/repo_ref.hpp"
#include "util/time_format.hpp"

namespace hfaudit::app {

namespace {

using Kind = ApprovalFailure::Kind;

ApprovalFailure failure(Kind kind, std::string message, std::string hint = {}) {
  return ApprovalFailure{kind, std::move(message), std::move(hint)};
}

std::string spec(const std::string& repo, const std::string& commit) {
  return repo + "@" + commit;
}

bool index_exists(const cache::CacheOptions& options) {
  std::error_code ec;
  return std::filesystem::exists(cache::Layout(options).index_path(), ec);
}

// The index of an existing cache (approving never creates one).
ApprovalResult<std::unique_ptr<cache::Index>> open_index(const cache::CacheOptions& options) {
  if (!index_exists(options))
    return failure(Kind::not_cached, "nothing is cached under " + options.hfaudit_home,
                   "pull the repository first (HFAUDIT_HOME must be the cache it was pulled into)");
  auto index = cache::Index::open(cache::Layout(options).index_path());
  if (!index) return failure(Kind::cache, index.error().message);
  return std::move(*index);
}

// Approvals are per commit: a branch or tag can move to unreviewed files.
std::optional<ApprovalFailure> require_commit(cache::Index& index, const ApprovalRequest& r,
                                              std::string_view verb) {
  if (hub::is_commit_hash(r.revision)) return std::nullopt;
  std::string hint = "name the full 40-character commit, e.g. hfaudit " + std::string(verb) + " " +
                     r.repo + "@COMMIT --reason '...' (hfaudit ls shows cached commits)";
  if (auto cached = index.resolve_ref(r.repo, r.revision); cached && *cached)
    hint = "'" + r.revision + "' was pulled as commit " + **cached + ": hfaudit " +
           std::string(verb) + " " + spec(r.repo, **cached) + " --reason '...'";
  return failure(Kind::usage,
                 "'" + r.revision +
                     "' is not a full commit id; approvals are per commit, since a branch or tag "
                     "can move to files nobody reviewed",
                 hint);
}

std::optional<ApprovalFailure> require_approver(const ApprovalRequest& r) {
  if (r.by.find_first_not_of(" \t") != std::string::npos) return std::nullopt;
  return failure(Kind::usage,
                 "nobody to record as the approver: no --by NAME, and neither USER "
                 "nor LOGNAME is set",
                 "pass --by NAME");
}

nlohmann::json summary_json(const cache::ApprovalRecord& a) {
  return {{"approved_by", a.approved_by},
          {"approved_at", a.approved_at},
          {"reason", a.reason},
          {"policy", {{"name", a.policy_name}, {"sha256", a.policy_sha256}}}};
}

util::Status append_audit(cache::Index& index, const ApprovalRequest& r, nlohmann::json detail) {
  cache::AuditEntry entry;
  entry.actor = r.by;
  entry.action = cache::AuditAction::approve;
  entry.repo_id = r.repo;
  entry.commit = r.revision;
  entry.detail_json = detail.dump();
  auto appended = index.append_audit(entry);
  if (!appended) return appended.error();
  return util::Ok{};
}

// The approved file set: every row verified and backed by a present blob.
ApprovalResult<std::vector<cache::ApprovedFile>> approvable_files(cache::Index& index,
                                                                  const ApprovalRequest& r) {
  const std::string what = spec(r.repo, r.revision);
  const std::string pull_hint =
      "pull it first: hfaudit pull " + what +
      " --review (downloads, verifies and scans every file even when the policy blocks it, "
      "without admitting anything the policy refuses)";
  auto rows = index.files(r.repo, r.revision);
  if (!rows) return failure(Kind::cache, rows.error().message);
  if (rows->empty()) return failure(Kind::not_cached, what + " is not in the cache", pull_hint);
  std::vector<std::string> unverified;
  std::vector<cache::ApprovedFile> files;
  for (const auto& row : *rows) {
    const bool bytes_verified = row.blob_sha256 && (row.state == cache::FileState::verified ||
                                                    row.state == cache::FileState::blocked);
    std::optional<cache::BlobRecord> blob;
    if (bytes_verified) {
      auto found = index.find_blob(*row.blob_sha256);
      if (!found) return failure(Kind::cache, found.error().message);
      blob = *found;
    }
    if (!blob || blob->state != cache::BlobState::present) {
      std::string why = "not downloaded";
      if (row.state == cache::FileState::quarantined)
        why = "quarantined";
      else if (blob)
        why = "blob " + std::string(to_string(blob->state));
      unverified.push_back(row.path + " (" + why + ")");
      continue;
    }
    cache::ApprovedFile f;
    f.path = row.path;
    f.size = row.size;
    f.git_oid = row.git_oid;
    f.storage = row.storage;
    f.sha256 = *row.blob_sha256;
    auto scan = index.latest_scan(f.sha256);
    if (!scan) return failure(Kind::cache, scan.error().message);
    if (*scan) {
      f.scanner_version = (*scan)->scanner_version;
      f.max_severity = (*scan)->max_severity;
    }
    files.push_back(std::move(f));
  }
  if (!unverified.empty()) {
    std::string list;
    for (size_t i = 0; i < unverified.size() && i < 5; ++i) list += (i ? ", " : "") + unverified[i];
    if (unverified.size() > 5) list += ", ...";
    return failure(Kind::not_cached,
                   std::to_string(unverified.size()) + " of " + std::to_string(rows->size()) +
                       " files of " + what + " are not verified in the cache: " + list,
                   pull_hint);
  }
  return files;
}

}  // namespace

cache::FileRecord file_record(const hub::TreeEntry& e) {
  cache::FileRecord record;
  record.path = e.path;
  record.size = e.lfs ? e.lfs->size : e.size.value_or(0);
  record.git_oid = e.oid;
  record.storage = e.lfs ? cache::Storage::lfs : cache::Storage::regular;
  if (e.lfs) record.sha256 = e.lfs->oid;
  return record;
}

ApprovalResult<cache::ApprovalRecord> approve(const ApprovalRequest& r) {
  auto index = HFAUDIT_TRY(open_index(r.cache));
  if (auto bad = require_commit(*index, r, "approve")) return *bad;
  if (r.reason.find_first_not_of(" \t\r\n") == std::string::npos)
    return failure(Kind::usage, "an approval needs a reason", "--reason 'what was reviewed'");
  if (auto nobody = require_approver(r)) return *nobody;
  cache::ApprovalRecord record;
  record.repo_id = r.repo;
  record.commit = r.revision;
  record.approved_by = r.by;
  record.reason = r.reason;
  record.policy_name = r.policy_name;
  record.policy_sha256 = r.policy_sha256;
  record.files = HFAUDIT_TRY(approvable_files(*index, r));

  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : record.files)
    files.push_back({{"path", f.path},
                     {"sha256", f.sha256},
                     {"git_oid", f.git_oid},
                     {"max_severity", f.max_severity ? nlohmann::json(to_string(*f.max_severity))
                                                     : nlohmann::json(nullptr)}});
  nlohmann::json detail = summary_json(record);
  detail["operation"] = "approve";
  detail.erase("approved_at");  // the entry's own time
  detail["files"] = files;
  auto stored = index->transaction([&]() -> util::Status {
    auto previous = HFAUDIT_TRY(index->find_approval(r.repo, r.revision));
    if (previous) detail["replaces"] = summary_json(*previous);
    HFAUDIT_TRY(index->record_approval(record));
    return append_audit(*index, r, detail);
  });
  if (!stored) return failure(Kind::cache, stored.error().message);
  auto saved = index->find_approval(r.repo, r.revision);
  if (!saved || !*saved)
    return failure(Kind::cache, saved ? "the approval was not stored" : saved.error().message);
  return std::move(**saved);
}

ApprovalResult<cache::ApprovalRecord> revoke(const ApprovalRequest& r) {
  auto index = HFAUDIT_TRY(open_index(r.cache));
  if (auto bad = require_commit(*index, r, "approve --revoke")) return *bad;
  if (r.reason.find_first_not_of(" \t\r\n") == std::string::npos)
    return failure(Kind::usage, "revoking an approval needs a reason",
                   "--reason 'why it is withdrawn'");
  if (auto nobody = require_approver(r)) return *nobody;
  std::optional<cache::ApprovalRecord> removed;
  auto done = index->transaction([&]() -> util::Status {
    removed = HFAUDIT_TRY(index->find_approval(r.repo, r.revision));
    if (!removed) return util::Ok{};
    HFAUDIT_TRY(index->remove_approval(r.repo, r.revision));
    return append_audit(
        *index, r,
        {{"operation", "revoke"}, {"reason", r.reason}, {"revoked", summary_json(*removed)}});
  });
  if (!done) return failure(Kind::cache, done.error().message);
  if (!removed)
    return failure(Kind::usage, spec(r.repo, r.revision) + " is not approved; nothing to revoke",
                   "hfaudit approvals lists the approved commits");
  return std::move(*removed);
}

ApprovalResult<std::vector<cache::CheckedApproval>> list_approvals(
    const cache::CacheOptions& options, const std::optional<std::string>& repo) {
  if (!index_exists(options)) return std::vector<cache::CheckedApproval>{};
  auto index = HFAUDIT_TRY(open_index(options));
  auto records = index->approvals(repo ? std::optional<std::string_view>(*repo) : std::nullopt);
  if (!records) return failure(Kind::cache, records.error().message);
  auto quarantined = index->blobs(cache::BlobState::quarantined);
  if (!quarantined) return failure(Kind::cache, quarantined.error().message);
  std::set<std::string> bad;
  for (const auto& b : *quarantined) bad.insert(b.sha256);
  std::vector<cache::CheckedApproval> out;
  for (auto& record : *records) {
    auto rows = index->files(record.repo_id, record.commit);
    if (!rows) return failure(Kind::cache, rows.error().message);
    cache::ApprovalCheck check = cache::check_approval(record, *rows, &bad);
    out.push_back(cache::CheckedApproval{std::move(record), std::move(check)});
  }
  return out;
}

ApprovalLookup lookup_approval(cache::Index& index, const std::string& repo,
                               const std::string& commit, const std::vector<hub::TreeEntry>* tree,
                               QuarantinedCopies quarantined_copies) {
  ApprovalLookup out;
  auto record = index.find_approval(repo, commit);
  if (!record || !*record) return out;  // unreadable counts as not approved (fail closed)
  const cache::ApprovalRecord& a = **record;
  auto rows = index.files(repo, commit);
  auto quarantined = index.blobs(cache::BlobState::quarantined);
  if (!rows || !quarantined) {
    out.status = policies::ApprovalStatus::invalidated;
    out.detail = "the cache index could not be read to check the approval";
    return out;
  }
  std::set<std::string> bad;
  for (const auto& b : *quarantined) bad.insert(b.sha256);
  std::optional<std::vector<cache::FileRecord>> listed;
  if (tree) {
    listed.emplace();
    for (const auto& e : *tree)
      if (e.type == hub::EntryType::file) listed->push_back(file_record(e));
  }
  // With the Hub's listing at hand, a pull is about to (re)verify the bytes
  // against it: a quarantined local copy is repaired by it, not a changed file.
  const bool repaired = tree && quarantined_copies == QuarantinedCopies::repaired_by_pull;
  const cache::ApprovalCheck check =
      cache::check_approval(a, *rows, repaired ? nullptr : &bad, listed);
  if (check.valid) {
    out.status = policies::ApprovalStatus::approved;
    out.detail = "approved by " + a.approved_by + " on " + util::format_utc_minutes(a.approved_at) +
                 ": " + a.reason;
  } else {
    out.status = policies::ApprovalStatus::invalidated;
    std::string changes;
    for (size_t i = 0; i < check.changes.size() && i < 5; ++i)
      changes += (i ? "; " : "") + check.changes[i];
    if (check.changes.size() > 5) changes += "; ...";
    out.detail = "approved by " + a.approved_by + " on " + util::format_utc_minutes(a.approved_at) +
                 ", but the files differ from the approved set: " + changes;
  }
  return out;
}

ApprovalLookup lookup_approval(const cache::CacheOptions& options, const std::string& repo,
                               const std::string& commit, const std::vector<hub::TreeEntry>* tree,
                               QuarantinedCopies quarantined_copies) {
  if (!index_exists(options)) return {};
  auto index = cache::Index::open(cache::Layout(options).index_path());
  if (!index) return {};
  return lookup_approval(**index, repo, commit, tree, quarantined_copies);
}

}  // namespace hfaudit::app
