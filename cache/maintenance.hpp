// Cache operations behind `hfaudit verify`, `hfaudit gc` and `hfaudit ls`,
// as functions over the blob store, the index and the huggingface_hub view.
// They return plain structs; the CLI prints them. See docs/cache.md.
//
// Concurrency: gc holds the "gc" lock exclusively; verify holds it shared, and
// the pull use case must hold it shared while it downloads and links (a blob
// is briefly unreferenced between commit() and Index::mark_file_verified()).
// The index covers models only for now (RepoType::model in the view).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cache/hf_view.hpp"
#include "cache/index.hpp"
#include "cache/layout.hpp"
#include "util/result.hpp"

namespace hfaudit::cache {

struct MaintenanceOptions {
  std::string actor = "hfaudit";  // recorded in the audit log
  IndexOptions index;             // clock, busy timeout
  ViewOptions view;
  // How long to wait for the gc lock; nullopt waits forever.
  std::optional<std::chrono::milliseconds> lock_timeout;
};

// --- verify ----------------------------------------------------------------

struct VerifyOptions {
  std::optional<std::string> repo_id;  // only blobs of this repo's snapshots
};

struct CorruptBlob {
  std::string sha256;         // its name (what it should hash to)
  std::string actual_sha256;  // what the bytes hash to now
  uint64_t expected_size = 0;
  uint64_t actual_size = 0;
  std::string quarantine_dir;          // where the bytes went (evidence)
  std::vector<FileLocation> affected;  // file rows now marked quarantined
  ViewRemoval view_removal;            // what left the view
};

struct VerifyReport {
  uint64_t blobs_checked = 0;
  uint64_t bytes_checked = 0;
  std::vector<CorruptBlob> corrupted;  // quarantined and removed from the view
  // Present in the index but missing from the store: marked deleted, their
  // files back to pending (re-pull), and their names removed from the view
  // (no longer vouched for).
  std::vector<std::string> missing;
  bool ok() const { return corrupted.empty() && missing.empty(); }
};

// Re-hashes every present blob (or one repo's) and checks it against its name
// (and its git blob id when known). A changed blob is removed from the view,
// moved to quarantine, and recorded (blob and files quarantined, audit log).
// Blobs in the store that the index does not know are checked too.
util::Result<VerifyReport> verify(const CacheOptions& options,
                                  const VerifyOptions& verify_options = {},
                                  const MaintenanceOptions& maintenance = {});

// --- gc ----------------------------------------------------------------------

struct GcOptions {
  // Evict least-recently-used snapshots until the store is at most this big.
  std::optional<uint64_t> max_bytes;
};

struct EvictedSnapshot {
  std::string repo_id;
  std::string commit;
  UnixTime last_accessed_at = 0;
};

struct GcReport {
  uint64_t bytes_before = 0;  // store size (sum of blob sizes)
  uint64_t bytes_after = 0;
  std::vector<std::string> removed_blobs;
  std::vector<EvictedSnapshot> evicted;  // in eviction order (LRU first)
};

// Removes store blobs no file row references; with max_bytes, then evicts
// snapshots in least-recently-used order (view first, then index rows, then
// the store blobs no longer referenced) until the store fits.
util::Result<GcReport> gc(const CacheOptions& options, const GcOptions& gc_options = {},
                          const MaintenanceOptions& maintenance = {});

// --- ls ------------------------------------------------------------------------

struct ListedRepo {
  std::string repo_id;
  std::vector<SnapshotSummary> snapshots;  // refs, counts, sizes, verdicts
  uint64_t total_bytes = 0;                // sum over its snapshots' files
};

struct CacheListing {
  std::vector<ListedRepo> repos;  // sorted by repo id
  uint64_t store_bytes = 0;       // sum of present blob sizes (shared content counted once)
  uint64_t blob_count = 0;
};

// What `hfaudit ls` shows. An empty HFAUDIT_HOME gives an empty listing.
util::Result<CacheListing> list(const CacheOptions& options,
                                const MaintenanceOptions& maintenance = {});

}  // namespace hfaudit::cache
