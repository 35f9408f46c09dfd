#include "cache/approval.hpp"

#include <map>

namespace hfaudit::cache {

namespace {

std::string short_hash(const std::string& h) {
  return h.size() > 12 ? h.substr(0, 12) : h;
}

// Why `now` is not the approved file, or empty when it is the same content.
// Regular files are identified by their git blob id, LFS files by sha256
// (their git id is the pointer's, which depends on the size too).
std::string difference(const ApprovedFile& approved, const FileRecord& now) {
  if (now.size != approved.size)
    return "size " + std::to_string(approved.size) + " -> " + std::to_string(now.size);
  if (now.git_oid != approved.git_oid)
    return "git oid " + short_hash(approved.git_oid) + " -> " + short_hash(now.git_oid);
  if ((now.storage == Storage::lfs || approved.storage == Storage::lfs) && now.sha256 &&
      *now.sha256 != approved.sha256)
    return "sha256 " + short_hash(approved.sha256) + " -> " + short_hash(*now.sha256);
  return {};
}

}  // namespace

ApprovalCheck check_approval(const ApprovalRecord& approval, const std::vector<FileRecord>& cached,
                             const std::set<std::string>* quarantined_blobs,
                             const std::optional<std::vector<FileRecord>>& listed) {
  ApprovalCheck check;
  const auto change = [&check](std::string line) {
    check.valid = false;
    check.changes.push_back(std::move(line));
  };
  std::map<std::string, const ApprovedFile*> approved;
  for (const auto& f : approval.files) approved[f.path] = &f;

  if (listed) {
    std::map<std::string, const FileRecord*> on_hub;
    for (const auto& f : *listed) on_hub[f.path] = &f;
    for (const auto& [path, a] : approved) {
      const auto it = on_hub.find(path);
      if (it == on_hub.end()) {
        change(path + " removed (the Hub no longer lists it at this commit)");
      } else if (auto why = difference(*a, *it->second); !why.empty()) {
        change(path + " changed on the Hub (" + why + ")");
      }
    }
  }

  check.cached = !cached.empty();
  std::set<std::string> cached_paths;
  for (const auto& row : cached) {
    cached_paths.insert(row.path);
    const auto it = approved.find(row.path);
    if (it == approved.end()) {
      change(row.path + " added (not covered by the approval)");
      continue;
    }
    if (auto why = difference(*it->second, row); !why.empty()) {
      if (!listed) change(row.path + " changed (" + why + ")");  // else reported above
      continue;
    }
    if (!quarantined_blobs) continue;
    const bool blob_quarantined = row.blob_sha256 && quarantined_blobs->count(*row.blob_sha256);
    if (row.state == FileState::quarantined || blob_quarantined)
      change(row.path + " quarantined (the cached copy no longer matched its hash)");
  }
  if (!listed && check.cached)
    for (const auto& [path, a] : approved)
      if (!cached_paths.count(path)) change(path + " missing from the cache at this commit");
  return check;
}

}  // namespace hfaudit::cache
