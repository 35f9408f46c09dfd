// The SQLite index of the cache (HFAUDIT_HOME/index.sqlite): which repos,
// refs, commits and files hfaudit pulled, which blobs back them, what the
// scanners and the policy said, and an append-only audit log. The schema and
// its versions are documented in docs/cache.md ("Index schema").
//
// The index never holds credentials: tokens stay in the Hub client and never
// reach this layer.
//
// SQLite settings: WAL journal (readers do not block the writer), a busy
// timeout so parallel processes wait instead of failing, foreign keys on.
// Every SQLiteCpp exception is caught here and returned as an io error
// (corrupt_input for a database that is not an hfaudit index or is newer).
//
// Thread-safety: one Index per thread (one SQLite connection each); any number
// of processes may open the same file.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace hfaudit::cache {

enum class FileState { pending, verified, blocked, quarantined };
enum class BlobState { present, quarantined, deleted };
enum class Storage { regular, lfs };
enum class Severity { none, info, low, medium, high, critical };
enum class Decision { allow, warn, block };
// AuditAction::remove is logged as "delete".
enum class AuditAction { pull, verify, block, quarantine, remove, gc, approve };

// hfaudit audit: what a run covered, and whether a finding is new since the
// previous run of the same scope and target, still present, or resolved.
enum class AuditScope { lock, org, cache };
enum class FindingStatus { new_, present, resolved };

std::string_view to_string(FileState state);
std::string_view to_string(BlobState state);
std::string_view to_string(Severity severity);
std::string_view to_string(Decision decision);
std::string_view to_string(AuditAction action);
std::string_view to_string(AuditScope scope);
std::string_view to_string(FindingStatus status);
std::optional<Severity> parse_severity(std::string_view text);

// Seconds since the Unix epoch; every timestamp in the index uses this.
using UnixTime = int64_t;

struct IndexOptions {
  // How long a writer waits for another process's write transaction.
  std::chrono::milliseconds busy_timeout{30000};
  // Clock for every timestamp the index writes (tests inject their own).
  std::function<UnixTime()> clock;
  // Migrate only up to this schema version (tests of the migrations);
  // default: the latest.
  std::optional<int> target_schema_version;
};

// One file of a commit as listed by the Hub tree, plus what hfaudit made of it.
struct FileRecord {
  std::string path;
  uint64_t size = 0;
  std::string git_oid;  // tree oid (git blob id; of the pointer for LFS)
  Storage storage = Storage::regular;
  std::optional<std::string> sha256;       // lfs.oid for LFS; content sha256 once verified
  std::optional<std::string> blob_sha256;  // the store blob, once verified
  FileState state = FileState::pending;
  // The huggingface_hub etag = blob name in the view: sha256 for LFS, git oid otherwise.
  const std::string& etag() const { return storage == Storage::lfs && sha256 ? *sha256 : git_oid; }
};

struct BlobRecord {
  std::string sha256;
  uint64_t size = 0;
  std::optional<std::string> git_sha1;
  UnixTime created_at = 0;
  std::optional<UnixTime> last_verified_at;
  UnixTime last_accessed_at = 0;
  BlobState state = BlobState::present;
};

struct ScanRecord {
  std::string blob_sha256;
  std::string scanner_version;
  Severity max_severity = Severity::none;
  std::string findings_json = "[]";
  UnixTime scanned_at = 0;  // set by the index on insert
};

struct DecisionRecord {
  std::string repo_id;
  std::string commit;
  std::optional<std::string> path;  // nullopt: a decision about the whole commit
  std::string policy_name;
  std::string policy_sha256;
  Decision decision = Decision::allow;
  std::string reasons_json = "[]";
  UnixTime decided_at = 0;  // set by the index on insert
};

struct AuditEntry {
  int64_t id = 0;     // assigned on insert
  UnixTime at = 0;    // assigned on insert
  std::string actor;  // e.g. "hfaudit pull" or a user name given by the CLI
  int64_t pid = 0;    // 0: the index fills in getpid()
  AuditAction action = AuditAction::pull;
  std::optional<std::string> repo_id;
  std::optional<std::string> commit;
  std::optional<std::string> path;
  std::optional<std::string> blob_sha256;
  std::string detail_json = "{}";
};

// A file row located by repo/commit/path (e.g. everything backed by one blob).
struct FileLocation {
  std::string repo_id;
  std::string commit;
  std::string path;
  Storage storage = Storage::regular;
  std::string etag;
  FileState state = FileState::pending;
};

struct SnapshotSummary {
  std::string repo_id;
  std::string commit;
  std::vector<std::string> refs;  // named revisions resolving to this commit
  UnixTime fetched_at = 0;
  UnixTime last_accessed_at = 0;
  uint64_t file_count = 0;
  uint64_t verified_count = 0;
  uint64_t blocked_count = 0;
  uint64_t quarantined_count = 0;
  uint64_t total_bytes = 0;              // sum of file sizes as listed
  std::optional<Severity> max_severity;  // worst latest scan over its blobs; nullopt: unscanned
  std::optional<Decision> decision;      // latest commit-level policy decision
};

// One file of an approved commit, as it was when approved (docs/cache.md).
struct ApprovedFile {
  std::string path;
  uint64_t size = 0;
  std::string git_oid;
  Storage storage = Storage::regular;
  std::string sha256;  // content sha256 (the verified blob)
  // The blob's latest scan at approval time; nullopt: never scanned.
  std::optional<std::string> scanner_version;
  std::optional<Severity> max_severity;
};

// An entry of the approved-model registry: who approved repo@commit, when,
// why, under which policy, and exactly which files.
struct ApprovalRecord {
  std::string repo_id;
  std::string commit;
  std::string approved_by;
  UnixTime approved_at = 0;  // set by the index on insert
  std::string reason;
  std::string policy_name;
  std::string policy_sha256;
  std::vector<ApprovedFile> files;  // sorted by path
};

// One audit run (hfaudit audit); see docs/audit.md.
struct AuditRunRecord {
  int64_t id = 0;  // assigned on insert
  AuditScope scope = AuditScope::cache;
  std::string target;  // lockfile path, organisation, or "cache"
  UnixTime started_at = 0;
  UnixTime finished_at = 0;  // set by the index on insert
  bool complete = true;      // false: some repositories could not be checked
  std::string summary_json = "{}";
};

struct AuditFindingRecord {
  std::string fingerprint;  // stable across runs: same problem, same fingerprint
  std::string rule_id;
  std::string repo_id;
  Severity severity = Severity::medium;  // never none
  FindingStatus status = FindingStatus::new_;
  std::string finding_json = "{}";
};

// What a run saw of one repository (commit, files, access), as JSON owned by
// the audit use case.
struct AuditRepoState {
  std::string repo_id;
  std::string state_json;
};

class Index {
 public:
  static constexpr int k_schema_version = 4;

  // Opens or creates the index and migrates it to the latest schema (or
  // options.target_schema_version). Fails with corrupt_input if the file is
  // not a database or has a newer schema than this build knows.
  static util::Result<std::unique_ptr<Index>> open(const std::string& path,
                                                   IndexOptions options = {});
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  util::Result<int> schema_version();

  // --- repos, refs, commits, files (pull) ---
  util::Result<int64_t> upsert_repo(std::string_view repo_id);
  util::Status upsert_ref(std::string_view repo_id, std::string_view name, std::string_view commit);
  util::Result<std::optional<std::string>> resolve_ref(std::string_view repo_id,
                                                       std::string_view name);
  util::Status upsert_commit(std::string_view repo_id, std::string_view commit,
                             std::string_view info_json = "{}");
  // Marks a snapshot as used now (LRU order for gc).
  util::Status touch_commit(std::string_view repo_id, std::string_view commit);
  // Inserts or updates the file rows of a commit, in one transaction. A row
  // whose size/oid/sha256 did not change keeps its state and blob; a changed
  // row goes back to pending.
  util::Status upsert_files(std::string_view repo_id, std::string_view commit,
                            const std::vector<FileRecord>& files);
  util::Result<std::vector<FileRecord>> files(std::string_view repo_id, std::string_view commit);
  // The file now is backed by `blob_sha256` (which must be recorded).
  util::Status mark_file_verified(std::string_view repo_id, std::string_view commit,
                                  std::string_view path, std::string_view blob_sha256);
  util::Status set_file_state(std::string_view repo_id, std::string_view commit,
                              std::string_view path, FileState state);

  // --- blobs ---
  // Inserts a blob as present, or revives a deleted/quarantined row.
  util::Status record_blob(std::string_view sha256, uint64_t size,
                           std::optional<std::string_view> git_sha1 = {});
  util::Result<std::optional<BlobRecord>> find_blob(std::string_view sha256);
  // A present blob whose git blob id is `git_sha1` (regular files are known
  // to the Hub by that id only).
  util::Result<std::optional<BlobRecord>> find_blob_by_git_sha1(std::string_view git_sha1);
  util::Result<std::vector<BlobRecord>> blobs(std::optional<BlobState> state = {});
  util::Status set_blob_state(std::string_view sha256, BlobState state);
  util::Status mark_blob_verified(std::string_view sha256);
  util::Status touch_blob(std::string_view sha256);
  // Present blobs referenced by any file row (of any snapshot, any state).
  util::Result<std::vector<std::string>> referenced_blobs();
  // Every file row backed by `sha256`.
  util::Result<std::vector<FileLocation>> files_with_blob(std::string_view sha256);
  // Sets the state of every file row backed by `sha256`.
  util::Status set_files_state_for_blob(std::string_view sha256, FileState state);

  // --- scans, trust, policy ---
  // Replaces the result of the same scanner version for that blob.
  util::Status record_scan(const ScanRecord& scan);
  util::Result<std::optional<ScanRecord>> latest_scan(std::string_view blob_sha256);
  util::Result<int64_t> record_trust_snapshot(std::string_view repo_id, std::string_view commit,
                                              std::string_view json);
  util::Result<std::optional<std::string>> latest_trust_snapshot(std::string_view repo_id,
                                                                 std::string_view commit);
  util::Result<int64_t> record_decision(const DecisionRecord& decision);
  util::Result<std::vector<DecisionRecord>> decisions(std::string_view repo_id,
                                                      std::string_view commit);

  // --- approved-model registry ---
  // Records `approval` (the repo must be recorded), replacing an earlier
  // approval of the same commit, in one transaction.
  util::Status record_approval(const ApprovalRecord& approval);
  util::Result<std::optional<ApprovalRecord>> find_approval(std::string_view repo_id,
                                                            std::string_view commit);
  // Every approval (or one repo's), by repo then approval time.
  util::Result<std::vector<ApprovalRecord>> approvals(std::optional<std::string_view> repo_id = {});
  // False when there was none to remove.
  util::Result<bool> remove_approval(std::string_view repo_id, std::string_view commit);

  // --- audit log (append-only; UPDATE and DELETE are refused by triggers) ---
  util::Result<int64_t> append_audit(const AuditEntry& entry);
  util::Result<std::vector<AuditEntry>> audit_entries(int64_t after_id = 0);

  // --- snapshots (ls, gc) ---
  util::Result<std::vector<SnapshotSummary>> snapshots(
      std::optional<std::string_view> repo_id = {});
  // Least recently used first (gc eviction order).
  util::Result<std::vector<SnapshotSummary>> snapshots_by_last_access();
  // Deletes the commit, its file rows and the refs resolving to it. The repo
  // row, blob rows, scan results, trust snapshots and policy decisions stay
  // (history; gc marks blobs deleted).
  util::Status delete_snapshot(std::string_view repo_id, std::string_view commit);

  // --- audit runs (hfaudit audit) ---
  // Records a finished run with its findings and repository states in one
  // transaction; returns the run id.
  util::Result<int64_t> record_audit_run(const AuditRunRecord& run,
                                         const std::vector<AuditFindingRecord>& findings,
                                         const std::vector<AuditRepoState>& states);
  // The latest run of this scope and target, if any.
  util::Result<std::optional<AuditRunRecord>> last_audit_run(AuditScope scope,
                                                             std::string_view target);
  util::Result<std::vector<AuditFindingRecord>> audit_findings(int64_t run_id);
  util::Result<std::vector<AuditRepoState>> audit_repo_states(int64_t run_id);

  // Runs `body` in one write transaction (BEGIN IMMEDIATE), committing if it
  // returns ok and rolling back otherwise.
  util::Status transaction(const std::function<util::Status()>& body);

 private:
  struct Impl;
  explicit Index(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace hfaudit::cache
