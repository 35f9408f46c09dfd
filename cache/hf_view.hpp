// The huggingface_hub-compatible view under HF_HUB_CACHE, written exactly as
// huggingface_hub writes it (the rules: /work/shared/reference/hf-cache-layout.md
// §3 and the writer checklist §7; summary in docs/cache.md):
//
//   <HF_HUB_CACHE>/models--org--name/blobs/<etag>            hard link to the store blob (or a
//   copy) <HF_HUB_CACHE>/models--org--name/snapshots/<commit>/<path> -> ../../blobs/<etag>
//   (relative) <HF_HUB_CACHE>/models--org--name/refs/<revision>         40 hex, no newline
//
// etag = sha256 for LFS/Xet files, git blob sha1 for regular files.
// Only verified, policy-allowed blobs may be placed here: online
// huggingface_hub reuses any blob it finds by name without re-hashing.
//
// Safety: every repo path is checked with util::is_safe_relative_path, and
// directories are opened one component at a time with O_NOFOLLOW, so a
// symlink planted anywhere inside the view cannot redirect a write outside it.
// Every entry is created under a temporary name and renamed into place, so a
// crash never leaves a half-written ref or link. No trees/<commit>.json is
// written (§3.5: a partial or stale one breaks offline snapshot_download), and
// nothing of hfaudit's own is ever written here.
//
// Thread-safety: HfView is immutable; concurrent writers of the same entry
// are safe (last rename wins, every candidate is correct).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace hfaudit::cache {

enum class RepoType { model, dataset, space };

// How put_blob materialises a store blob in the view.
enum class BlobLinking {
  hard_link_or_copy,  // hard link; copy when the file systems differ or links are refused
  copy,               // always copy (e.g. a view that must survive store deletion)
};

enum class BlobPlacement { hard_link, copy, already_present };

struct ViewOptions {
  BlobLinking linking = BlobLinking::hard_link_or_copy;
};

// What a removal touched (for reports and the audit log).
struct ViewRemoval {
  uint64_t links_removed = 0;
  uint64_t blobs_removed = 0;
  uint64_t refs_removed = 0;
};

class HfView {
 public:
  explicit HfView(std::string hf_hub_cache, ViewOptions options = {});

  const std::string& root() const { return m_root; }

  // "models--org--name". invalid_argument for ids that are not [ns/]name with
  // [A-Za-z0-9._-] characters, or that contain "--".
  static util::Result<std::string> repo_folder_name(RepoType type, std::string_view repo_id);
  // <root>/<folder>/snapshots/<commit>: the folder transformers reads.
  util::Result<std::string> snapshot_dir(RepoType type, std::string_view repo_id,
                                         std::string_view commit) const;

  // Makes blobs/<etag> the store file at `source_path` (which must already be
  // verified). A hard link when possible (falls back to a copy on EXDEV,
  // EPERM, EMLINK, ENOTSUP), created under a temp name and renamed. An
  // existing entry that is the same inode is kept; anything else under that
  // name is replaced (it was not verified by us).
  util::Result<BlobPlacement> put_blob(RepoType type, std::string_view repo_id,
                                       std::string_view etag, const std::string& source_path) const;

  // Creates snapshots/<commit>/<path> -> ../ x (2 + depth) + blobs/<etag>,
  // atomically replacing an existing link (one that already points there is
  // kept as is, so re-linking an intact snapshot writes nothing). Fails with not_found when
  // blobs/<etag> is not in the view (never a dangling link: put_blob first),
  // invalid_argument for an unsafe path or a symlink/non-directory on the way.
  // Removes a stale .no_exist/<commit>/<path> marker (readers check it first).
  util::Status link_file(RepoType type, std::string_view repo_id, std::string_view commit,
                         std::string_view path, std::string_view etag) const;

  // Writes refs/<revision> = commit (40 hex, no newline) via temp + rename;
  // nested names such as refs/pr/1 get parent directories. A revision that is
  // itself a full commit sha writes nothing (huggingface_hub does the same).
  // Call it last, after every link of the snapshot.
  util::Status write_ref(RepoType type, std::string_view repo_id, std::string_view revision,
                         std::string_view commit) const;

  // Quarantine support: removes blobs/<etag> from every repo folder, and first
  // every snapshot link pointing at it, so the blob is gone from the view and
  // no link dangles.
  util::Result<ViewRemoval> remove_blob_everywhere(std::string_view etag) const;

  // gc support: removes the refs resolving to `commit`, then
  // snapshots/<commit>, .no_exist/<commit> and trees/<commit>.json, then the
  // blobs that only that snapshot linked; the whole repo folder when no
  // snapshot is left. Absent repo or snapshot is not an error.
  util::Result<ViewRemoval> remove_snapshot(RepoType type, std::string_view repo_id,
                                            std::string_view commit) const;

 private:
  std::string m_root;
  ViewOptions m_options;
};

}  // namespace hfaudit::cache
