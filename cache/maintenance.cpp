#include "cache/maintenance.hpp"

#include <sys/stat.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cache/blob_store.hpp"
#include "cache/lock.hpp"

namespace hfaudit::cache {

namespace {

using util::ErrorCode;
using util::make_error;
using util::Ok;
using util::Result;
using util::Status;

struct Context {
  BlobStore store;
  std::unique_ptr<Index> index;
  HfView view;
  FileLock gc_lock;
};

Result<Context> open_context(const CacheOptions& options, const MaintenanceOptions& maintenance,
                             LockMode gc_mode) {
  BlobStore store = HFAUDIT_TRY(BlobStore::open(options));
  FileLock lock =
      HFAUDIT_TRY(lock_named(store.layout(), k_gc_lock_name, gc_mode, maintenance.lock_timeout));
  auto index = HFAUDIT_TRY(Index::open(store.layout().index_path(), maintenance.index));
  return Context{std::move(store), std::move(index), HfView(options.hf_hub_cache, maintenance.view),
                 std::move(lock)};
}

AuditEntry audit(const MaintenanceOptions& maintenance, AuditAction action) {
  AuditEntry e;
  e.actor = maintenance.actor;
  e.action = action;
  return e;
}

// Every name the blob may have in the view: the sha256 (LFS files) and the
// git blob id (regular files), plus whatever the file rows say.
std::set<std::string> view_names(const BlobRecord& blob, const std::vector<FileLocation>& files) {
  std::set<std::string> names{blob.sha256};
  if (blob.git_sha1) names.insert(*blob.git_sha1);
  for (const auto& f : files) {
    if (!f.etag.empty()) names.insert(f.etag);
  }
  return names;
}

Result<ViewRemoval> remove_from_view(const HfView& view, const std::set<std::string>& names) {
  ViewRemoval total;
  for (const auto& name : names) {
    const ViewRemoval r = HFAUDIT_TRY(view.remove_blob_everywhere(name));
    total.links_removed += r.links_removed;
    total.blobs_removed += r.blobs_removed;
  }
  return total;
}

Status quarantine_blob(Context& ctx, const MaintenanceOptions& maintenance, const BlobRecord& blob,
                       const util::ContentDigests& actual, CorruptBlob& out) {
  out.sha256 = blob.sha256;
  out.actual_sha256 = actual.sha256;
  out.expected_size = blob.size;
  out.actual_size = actual.size;
  out.affected = HFAUDIT_TRY(ctx.index->files_with_blob(blob.sha256));
  // The view first: the danger is a consumer loading these bytes.
  out.view_removal = HFAUDIT_TRY(remove_from_view(ctx.view, view_names(blob, out.affected)));
  const std::string reason = "verify: content hashes to " + actual.sha256 + " (" +
                             std::to_string(actual.size) + " bytes), expected " + blob.sha256 +
                             " (" + std::to_string(blob.size) + " bytes)";
  out.quarantine_dir = HFAUDIT_TRY(ctx.store.quarantine(blob.sha256, reason));
  return ctx.index->transaction([&]() -> Status {
    if (HFAUDIT_TRY(ctx.index->find_blob(blob.sha256))) {
      HFAUDIT_TRY(ctx.index->set_blob_state(blob.sha256, BlobState::quarantined));
      HFAUDIT_TRY(ctx.index->set_files_state_for_blob(blob.sha256, FileState::quarantined));
    }
    AuditEntry e = audit(maintenance, AuditAction::quarantine);
    e.blob_sha256 = blob.sha256;
    if (out.affected.size() == 1) {
      e.repo_id = out.affected[0].repo_id;
      e.commit = out.affected[0].commit;
      e.path = out.affected[0].path;
    }
    nlohmann::json affected = nlohmann::json::array();
    for (const auto& f : out.affected) {
      affected.push_back({{"repo", f.repo_id}, {"commit", f.commit}, {"path", f.path}});
    }
    e.detail_json = nlohmann::json{
        {"reason", reason},
        {"expected_sha256", blob.sha256},
        {"actual_sha256", actual.sha256},
        {"expected_size", blob.size},
        {"actual_size", actual.size},
        {"quarantine_dir", out.quarantine_dir},
        {"view_links_removed", out.view_removal.links_removed},
        {"view_blobs_removed", out.view_removal.blobs_removed},
        {"files",
         affected}}.dump();
    HFAUDIT_TRY(ctx.index->append_audit(e));
    return Ok{};
  });
}

Status forget_missing(Context& ctx, const BlobRecord& blob) {
  const auto files = HFAUDIT_TRY(ctx.index->files_with_blob(blob.sha256));
  HFAUDIT_TRY(remove_from_view(ctx.view, view_names(blob, files)));
  return ctx.index->transaction([&]() -> Status {
    HFAUDIT_TRY(ctx.index->set_blob_state(blob.sha256, BlobState::deleted));
    HFAUDIT_TRY(ctx.index->set_files_state_for_blob(blob.sha256, FileState::pending));
    return Ok{};
  });
}

// Removes store blobs that no file row references; returns bytes freed.
Result<uint64_t> collect_unreferenced(Context& ctx, const MaintenanceOptions& maintenance,
                                      std::map<std::string, uint64_t>& store_blobs,
                                      GcReport& report) {
  const auto referenced_list = HFAUDIT_TRY(ctx.index->referenced_blobs());
  const std::set<std::string> referenced(referenced_list.begin(), referenced_list.end());
  uint64_t freed = 0;
  for (auto it = store_blobs.begin(); it != store_blobs.end();) {
    if (referenced.count(it->first) != 0) {
      ++it;
      continue;
    }
    HFAUDIT_TRY(ctx.store.remove(it->first));
    if (HFAUDIT_TRY(ctx.index->find_blob(it->first))) {
      HFAUDIT_TRY(ctx.index->set_blob_state(it->first, BlobState::deleted));
    }
    AuditEntry e = audit(maintenance, AuditAction::gc);
    e.blob_sha256 = it->first;
    e.detail_json = nlohmann::json{{"removed", "unreferenced blob"}, {"size", it->second}}.dump();
    HFAUDIT_TRY(ctx.index->append_audit(e));
    report.removed_blobs.push_back(it->first);
    freed += it->second;
    it = store_blobs.erase(it);
  }
  return freed;
}

uint64_t total_size(const std::map<std::string, uint64_t>& blobs) {
  uint64_t total = 0;
  for (const auto& [sha, size] : blobs) total += size;
  return total;
}

}  // namespace

Result<VerifyReport> verify(const CacheOptions& options, const VerifyOptions& verify_options,
                            const MaintenanceOptions& maintenance) {
  Context ctx = HFAUDIT_TRY(open_context(options, maintenance, LockMode::shared));
  VerifyReport report;

  std::vector<BlobRecord> targets;
  if (verify_options.repo_id) {
    std::set<std::string> seen;
    for (const auto& snap : HFAUDIT_TRY(ctx.index->snapshots(*verify_options.repo_id))) {
      for (const auto& file : HFAUDIT_TRY(ctx.index->files(snap.repo_id, snap.commit))) {
        if (!file.blob_sha256 || !seen.insert(*file.blob_sha256).second) continue;
        auto blob = HFAUDIT_TRY(ctx.index->find_blob(*file.blob_sha256));
        if (blob && blob->state == BlobState::present) targets.push_back(*blob);
      }
    }
  } else {
    targets = HFAUDIT_TRY(ctx.index->blobs(BlobState::present));
    std::set<std::string> known;
    for (const auto& b : targets) known.insert(b.sha256);
    // Blobs committed by a run that died before indexing them.
    for (const auto& entry : HFAUDIT_TRY(ctx.store.list())) {
      if (known.count(entry.sha256) != 0) continue;
      BlobRecord orphan;
      orphan.sha256 = entry.sha256;
      orphan.size = entry.size;
      targets.push_back(orphan);
    }
  }

  for (const BlobRecord& blob : targets) {
    if (!ctx.store.has_blob(blob.sha256)) {
      report.missing.push_back(blob.sha256);
      HFAUDIT_TRY(forget_missing(ctx, blob));
      continue;
    }
    const auto git = blob.git_sha1 ? util::GitBlobId::compute : util::GitBlobId::skip;
    const util::ContentDigests actual = HFAUDIT_TRY(ctx.store.rehash(blob.sha256, git));
    ++report.blobs_checked;
    report.bytes_checked += actual.size;
    const bool intact = actual.sha256 == blob.sha256 && actual.size == blob.size &&
                        (!blob.git_sha1 || actual.git_sha1 == *blob.git_sha1);
    if (intact) {
      HFAUDIT_TRY(ctx.index->mark_blob_verified(blob.sha256));
      continue;
    }
    CorruptBlob corrupt;
    HFAUDIT_TRY(quarantine_blob(ctx, maintenance, blob, actual, corrupt));
    report.corrupted.push_back(std::move(corrupt));
  }

  AuditEntry e = audit(maintenance, AuditAction::verify);
  e.repo_id = verify_options.repo_id;
  nlohmann::json corrupted = nlohmann::json::array();
  for (const auto& c : report.corrupted) corrupted.push_back(c.sha256);
  e.detail_json = nlohmann::json{{"blobs_checked", report.blobs_checked},
                                 {"bytes_checked", report.bytes_checked},
                                 {"corrupted", corrupted},
                                 {"missing", report.missing}}
                      .dump();
  HFAUDIT_TRY(ctx.index->append_audit(e));
  return report;
}

Result<GcReport> gc(const CacheOptions& options, const GcOptions& gc_options,
                    const MaintenanceOptions& maintenance) {
  Context ctx = HFAUDIT_TRY(open_context(options, maintenance, LockMode::exclusive));
  GcReport report;
  std::map<std::string, uint64_t> store_blobs;
  for (const auto& entry : HFAUDIT_TRY(ctx.store.list())) store_blobs[entry.sha256] = entry.size;
  report.bytes_before = total_size(store_blobs);
  HFAUDIT_TRY(collect_unreferenced(ctx, maintenance, store_blobs, report));

  if (gc_options.max_bytes) {
    for (const auto& snap : HFAUDIT_TRY(ctx.index->snapshots_by_last_access())) {
      if (total_size(store_blobs) <= *gc_options.max_bytes) break;
      // View first: a snapshot must never link to a blob the store dropped.
      const ViewRemoval removed =
          HFAUDIT_TRY(ctx.view.remove_snapshot(RepoType::model, snap.repo_id, snap.commit));
      HFAUDIT_TRY(ctx.index->delete_snapshot(snap.repo_id, snap.commit));
      AuditEntry e = audit(maintenance, AuditAction::gc);
      e.repo_id = snap.repo_id;
      e.commit = snap.commit;
      e.detail_json = nlohmann::json{{"evicted", "least recently used snapshot"},
                                     {"last_accessed_at", snap.last_accessed_at},
                                     {"max_bytes", *gc_options.max_bytes},
                                     {"view_links_removed", removed.links_removed},
                                     {"view_blobs_removed", removed.blobs_removed},
                                     {"view_refs_removed", removed.refs_removed}}
                          .dump();
      HFAUDIT_TRY(ctx.index->append_audit(e));
      report.evicted.push_back({snap.repo_id, snap.commit, snap.last_accessed_at});
      HFAUDIT_TRY(collect_unreferenced(ctx, maintenance, store_blobs, report));
    }
  }
  report.bytes_after = total_size(store_blobs);
  return report;
}

Result<CacheListing> list(const CacheOptions& options, const MaintenanceOptions& maintenance) {
  CacheListing listing;
  const Layout layout(options);
  struct stat st {};
  if (::stat(layout.index_path().c_str(), &st) != 0) return listing;
  auto index = HFAUDIT_TRY(Index::open(layout.index_path(), maintenance.index));
  for (auto& snap : HFAUDIT_TRY(index->snapshots())) {
    if (listing.repos.empty() || listing.repos.back().repo_id != snap.repo_id) {
      listing.repos.push_back(ListedRepo{snap.repo_id, {}, 0});
    }
    listing.repos.back().total_bytes += snap.total_bytes;
    listing.repos.back().snapshots.push_back(std::move(snap));
  }
  for (const auto& blob : HFAUDIT_TRY(index->blobs(BlobState::present))) {
    listing.store_bytes += blob.size;
    ++listing.blob_count;
  }
  return listing;
}

}  // namespace hfaudit::cache
