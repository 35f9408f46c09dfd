// The `audit` use case: re-check a set of repositories (a lockfile's, an
// organisation's, or everything cached) against the Hub and the local cache,
// and report what drifted, what lost integrity, what became risky and what the
// current policy says, each finding with a stable fingerprint so the run can
// say what is new since the previous run of the same scope and target (runs
// are stored in the index). Finding catalogue: docs/audit.md.
//
// Requests: a repository is read with model info + tree (as `info` does). In
// an organisation audit the paginated listing already gives each repository's
// commit, gated and private flags and file names, so a repository whose commit
// did not change since the last run is not fetched again: its previous
// findings are carried forward. Calls run `jobs` at a time; pacing within the
// Hub's rate limits is the transport's business (hub/paced_transport.hpp).
//
// Nothing is downloaded; with `rehash` cached blobs are re-read and hashed
// (cache::verify, which quarantines a blob whose bytes changed).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cache/index.hpp"
#include "cache/layout.hpp"
#include "hub/client.hpp"
#include "lockfile/lockfile.hpp"
#include "policies/policy.hpp"
#include "scan/finding.hpp"
#include "trust/trust.hpp"

namespace hfaudit::app {

using cache::AuditScope;
using cache::FindingStatus;

struct AuditFinding {
  std::string rule;  // e.g. "drift.commit_moved"; the category is the part before the first '.'
  scan::Severity severity = scan::Severity::medium;
  std::string repo;
  std::string path;  // the file concerned; empty for the repository as a whole
  std::string title;
  std::string detail;       // the evidence
  std::string remediation;  // what to do
  std::string fingerprint;  // same problem, same fingerprint, run after run
  FindingStatus status = FindingStatus::new_;
  std::string category() const { return rule.substr(0, rule.find('.')); }
};

enum class RepoOutcome {
  checked,    // read from the Hub in this run
  unchanged,  // organisation audit: same commit as last run, previous findings carried forward
  not_found,  // not found or no access (deleted and made-private look the same)
  error,      // could not be checked (rate limited, network, server): the run is incomplete
};
std::string_view to_string(RepoOutcome outcome);

struct RepoAudit {
  std::string repo;
  std::string revision;
  std::string baseline_commit;  // pinned (lock), cached (cache) or last audited (org); may be empty
  std::string commit;           // where the revision points now; empty when unknown
  RepoOutcome outcome = RepoOutcome::checked;
  std::string error;                            // why it could not be checked
  std::vector<std::string> changes;             // what changed since the baseline, one line each
  std::vector<trust::RiskFactor> risk_factors;  // checked repositories only
  std::optional<scan::Severity> overall_risk;
  std::string policy_verdict;    // "allow", "warn", "block"; empty when not evaluated
  std::optional<int> lock_line;  // lock scope: the entry's line, for SARIF locations
  size_t rescanned = 0;          // cached blobs scanned again (older scanner verdicts)
};

struct AuditOptions {
  AuditScope scope = AuditScope::cache;
  std::string target;  // lock: the lockfile path; org: the organisation; cache: "cache"
  const lockfile::Lockfile* lock = nullptr;  // lock scope
  std::map<std::string, int> lock_lines;     // lock scope: repo -> line of its entry (SARIF)
  cache::CacheOptions cache;
  const policies::Policy* policy = nullptr;  // nullptr: no policy findings
  bool rehash = false;                       // re-hash cached blobs (I/O heavy)
  bool refresh_all = false;                  // org: fetch every repository, even unchanged ones
  size_t jobs = 8;                           // repositories checked at once
  int64_t now_unix = 0;
  std::function<void(size_t done, size_t total)> on_progress;  // from worker threads
};

struct AuditFailure {
  enum class Kind { hub, cache, usage } kind = Kind::hub;
  std::string message;
  std::string hint;
};

struct AuditStats {
  size_t repos = 0;
  size_t fetched = 0;
  size_t unchanged = 0;
  size_t not_found = 0;
  size_t errors = 0;
  size_t rescanned = 0;
  uint64_t blobs_rehashed = 0;
  size_t new_findings = 0;
  size_t present_findings = 0;
  size_t resolved_findings = 0;
};

struct AuditReport {
  AuditScope scope = AuditScope::cache;
  std::string target;
  int64_t run_id = 0;
  std::optional<int64_t> previous_run_id;
  int64_t previous_run_at = 0;
  int64_t started_at = 0;
  bool complete = true;  // false: some repositories could not be checked
  std::string policy_name;
  std::string policy_sha256;
  std::vector<RepoAudit> repos;        // sorted by repo id
  std::vector<AuditFinding> findings;  // new and still present; most severe first
  std::vector<AuditFinding> resolved;  // reported last run, gone now
  AuditStats stats;
  std::optional<AuditFailure> failure;  // set when the run could not happen at all
};

// Runs the audit and records it in the index. `client` is used for every Hub
// call (it may be offline: repositories then fail as errors).
AuditReport run_audit(const hub::HubClient& client, const AuditOptions& options);

// Findings as stored in the index and shown in --json.
nlohmann::ordered_json to_json(const AuditFinding& finding);

}  // namespace hfaudit::app
