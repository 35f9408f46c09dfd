// The policy engine: judges one repository at one commit against a policy and
// explains the decision rule by rule and file by file. Rules and their
// evidence are documented in docs/policies.md.
//
// How the pull gate uses it (see docs/policies.md, "Using the engine"):
//   1. before downloading: evaluate with `files` empty (only repository facts
//      and the Hub's per-file statuses are judged; content rules are
//      not_applicable) and stop early if `repository_verdict` is block;
//   2. after downloading and scanning: evaluate again with every scanned file;
//      commit the files `admits()` accepts, keep the others out of the
//      snapshot, and exit 6 when `verdict` is block;
//   3. record `policy_name` and `policy_sha256` with the result.
//
// evaluate() is a pure function: no I/O, no clock (the caller passes `now`),
// thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policies/policy.hpp"
#include "scan/context.hpp"
#include "trust/trust.hpp"

namespace hfaudit::policies {

// The overall answer: allow, allow with warnings, or block.
enum class Verdict { allow, warn, block };
std::string_view to_string(Verdict verdict);

// What one rule concluded.
enum class Outcome {
  pass,            // checked, nothing wrong
  warn,            // fired; the rule's severity is warn
  block,           // fired; the rule's severity is block
  waived,          // would have fired, but a current waiver covers it
  not_applicable,  // nothing to judge (e.g. content rules before download)
};
std::string_view to_string(Outcome outcome);

// Whether repo@commit is in the approved-model registry (kept in the cache
// index; the caller looks it up).
enum class ApprovalStatus {
  approved,
  not_approved,
  invalidated,  // it was approved, but the files changed since
};
std::string_view to_string(ApprovalStatus status);

struct EvaluationInput {
  trust::TrustReport trust;  // repo, commit, author, licence, Hub per-file statuses...
  // One report per file about to enter the cache, `path` relative to the
  // repository root. Empty when evaluating before download: content rules
  // (formats.*, scan.max_severity) are then not_applicable, and file rules
  // judge the files of trust.files by name and Hub status instead.
  std::vector<scan::FileReport> files;
  std::string requested_revision;  // as the user gave it: branch, tag or commit
  int64_t now_unix = 0;            // waiver expiry is judged against this
  ApprovalStatus approval = ApprovalStatus::not_approved;
  // Who approved, when and why, or what changed since (for the evidence text).
  std::string approval_detail;
};

// The waiver that turned a firing rule into `waived`.
struct AppliedWaiver {
  size_t index = 0;  // in Policy::waivers
  int line = 0;
  std::string owner;
  std::string reason;
  std::string expires;
};

struct RuleResult {
  std::string id;
  Scope scope = Scope::repository;
  Action action = Action::block;  // what the rule does when it fires
  Outcome outcome = Outcome::pass;
  std::string evidence;            // the facts behind the outcome, one or more sentences
  std::string remediation;         // what to do (the policy's text or the rule's default)
  std::vector<std::string> files;  // file rules: the files it fired on
  std::optional<AppliedWaiver> waiver;
};

struct FileReason {
  std::string rule;
  Outcome outcome = Outcome::block;  // warn, block or waived
  std::string evidence;
  std::string remediation;
};

struct FileDecision {
  std::string path;
  Verdict verdict = Verdict::allow;  // block: keep this file out of the snapshot
  std::vector<FileReason> reasons;
};

struct Decision {
  Verdict verdict = Verdict::allow;  // worst of all rules: block means exit 6
  // Worst of the repository-scope rules only: block means no file may be admitted.
  Verdict repository_verdict = Verdict::allow;
  std::string policy_name;
  std::string policy_sha256;
  std::string policy_source;
  std::string repo;
  std::string commit;
  std::string requested_revision;
  ApprovalStatus approval = ApprovalStatus::not_approved;  // as the caller looked it up
  std::string approval_detail;
  std::vector<RuleResult> rules;    // the policy's enabled rules, in catalogue order
  std::vector<FileDecision> files;  // every file judged, sorted by path
  std::vector<std::string> notes;   // e.g. waivers that expired or name another commit

  // True when `path` may enter the snapshot: no repository-scope rule blocks
  // and the file itself is not blocked. A path the decision never judged is
  // not admitted (fail closed).
  bool admits(std::string_view path) const;
  std::vector<std::string> blocked_files() const;
  const RuleResult* find(std::string_view rule_id) const;
};

Decision evaluate(const Policy& policy, const EvaluationInput& input);

// The decision as JSON (the "decision" object of docs/json-schemas.md).
nlohmann::json to_json(const Decision& decision);

}  // namespace hfaudit::policies
