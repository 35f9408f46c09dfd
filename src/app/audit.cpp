#include "app/audit.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "app/approvals.hpp"
#include "app/blob_scan.hpp"
#include "app/info.hpp"
#include "app/pull.hpp"
#include "cache/blob_store.hpp"
#include "cache/maintenance.hpp"
#include "policies/engine.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"

namespace hfaudit::app {

namespace {

using nlohmann::json;
using scan::Severity;

std::string short_commit(const std::string& commit) {
  return commit.substr(0, 12);
}

// What a run saw of a repository; the next run compares against it. Stored as
// JSON in audit_repo_states.
struct RepoSnapshot {
  std::string id;  // as the Hub spells it now (a rename shows here)
  std::string revision;
  std::string commit;
  std::string gated = "no";
  std::string first_gated = "no";  // when first pulled or audited: the baseline of drift.gated
  bool gone = false;
  std::vector<trust::RiskFactor> risk;  // id, severity, title: shown for unchanged repositories
  std::string policy_verdict;
  // path -> (git oid, sha256 or "", size)
  std::map<std::string, std::tuple<std::string, std::string, uint64_t>> files;

  json to_json() const {
    json f = json::object();
    for (const auto& [path, v] : files) f[path] = {std::get<0>(v), std::get<1>(v), std::get<2>(v)};
    json factors = json::array();
    for (const auto& r : risk)
      factors.push_back({r.id, std::string(scan::to_string(r.severity)), r.title});
    return {{"id", id},
            {"risk", factors},
            {"policy_verdict", policy_verdict},
            {"revision", revision},
            {"commit", commit},
            {"gated", gated},
            {"first_gated", first_gated},
            {"gone", gone},
            {"files", f}};
  }
  static std::optional<RepoSnapshot> parse(const std::string& text) {
    const json doc = json::parse(text, nullptr, false);
    if (!doc.is_object()) return std::nullopt;
    RepoSnapshot s;
    s.id = doc.value("id", "");
    s.revision = doc.value("revision", "");
    s.commit = doc.value("commit", "");
    s.gated = doc.value("gated", "no");
    s.first_gated = doc.value("first_gated", s.gated);
    s.gone = doc.value("gone", false);
    s.policy_verdict = doc.value("policy_verdict", "");
    const json factors = doc.value("risk", json::array());
    for (const auto& f : factors)
      if (f.is_array() && f.size() == 3) {
        trust::RiskFactor r;
        r.id = f[0].get<std::string>();
        r.severity = scan::parse_severity(f[1].get<std::string>()).value_or(Severity::info);
        r.title = f[2].get<std::string>();
        s.risk.push_back(std::move(r));
      }
    const json files = doc.value("files", json::object());  // items() must not outlive it
    for (const auto& [path, v] : files.items())
      if (v.is_array() && v.size() == 3)
        s.files[path] = {v[0].get<std::string>(), v[1].get<std::string>(), v[2].get<uint64_t>()};
    return s;
  }
};

// `tree` is the listing of `commit` (the revision's head).
RepoSnapshot snapshot_of(const RepoState& state, const std::string& revision,
                         const std::string& commit, const std::vector<hub::TreeEntry>& tree) {
  RepoSnapshot s;
  s.id = state.info.id;
  s.revision = revision;
  s.commit = commit;
  s.gated = state.trust.gated;
  for (const auto& e : tree) {
    if (e.type != hub::EntryType::file) continue;
    s.files[e.path] = {e.oid, e.lfs ? e.lfs->oid : "", e.lfs ? e.lfs->size : e.size.value_or(0)};
  }
  return s;
}

// One repository to check, with what it is compared against.
struct Target {
  std::string repo;
  std::string revision;
  std::string baseline_commit;
  std::optional<RepoSnapshot> baseline_files;  // files at the baseline commit, when known
  std::string baseline_gated;                  // "" when unknown
  std::optional<RepoSnapshot> previous;        // the last run's view of it
  std::optional<hub::ModelListItem> listed;    // org scope: the listing's item
  bool gone_from_listing = false;              // org scope: listed last run, absent now
  std::optional<int> lock_line;
  const lockfile::LockedRepo* locked = nullptr;     // lock scope: its entry
  std::vector<std::string> cache_mismatches;        // lock scope: cached bytes != the pin
  std::map<std::string, std::string> cached_blobs;  // path -> blob sha256 (cache, lock)

  // Lock entries pin only the files their globs selected.
  bool selects(const std::string& path) const {
    return !locked || selected_by_globs(locked->include, locked->exclude, path);
  }
};

// Everything one repository contributes to the run.
struct RepoResult {
  RepoAudit audit;
  std::vector<AuditFinding> findings;
  std::optional<RepoSnapshot> snapshot;  // nullopt: keep the previous one
  bool carry_forward = false;            // previous findings stay (unchanged or error)
};

class FindingSink {
 public:
  explicit FindingSink(RepoResult& result) : m_result(result) {}
  // `key` distinguishes instances of a rule on one path (e.g. the new commit).
  void add(std::string rule, Severity severity, std::string path, const std::string& key,
           std::string title, std::string detail, std::string remediation) {
    AuditFinding f;
    f.rule = std::move(rule);
    f.severity = severity;
    f.repo = m_result.audit.repo;
    f.path = std::move(path);
    f.title = std::move(title);
    f.detail = std::move(detail);
    f.remediation = std::move(remediation);
    f.fingerprint =
        util::sha256_hex(f.rule + '\0' + util::ascii_lower(f.repo) + '\0' + f.path + '\0' + key)
            .substr(0, 32);
    m_result.findings.push_back(std::move(f));
  }

 private:
  RepoResult& m_result;
};

Severity hub_status_severity(hub::ScanStatus status) {
  switch (status) {
    case hub::ScanStatus::unsafe:
      return Severity::critical;
    case hub::ScanStatus::suspicious:
      return Severity::medium;
    default:
      return Severity::low;
  }
}

// Files added, removed or changed between two views of a repository. `rule`
// prefixes the finding ids: "drift.file" for a moved revision,
// "integrity.lock_mismatch" when the pinned commit itself serves other files.
void diff_files(const Target& t, const RepoSnapshot& before, const RepoSnapshot& now,
                FindingSink& sink, RepoAudit& audit) {
  const std::string fix =
      "Review the change on the Hub; if you accept it, re-lock or pull the new commit, "
      "otherwise keep pinning the old one.";
  for (const auto& [path, v] : now.files) {
    if (!t.selects(path)) continue;
    auto old = before.files.find(path);
    const bool risky = trust::classify_by_name(path) == trust::FileKind::pickle_weights ||
                       trust::classify_by_name(path) == trust::FileKind::code;
    if (old == before.files.end()) {
      audit.changes.push_back("added " + path);
      sink.add("drift.file_added", risky ? Severity::medium : Severity::low, path, std::get<0>(v),
               "file added: " + path,
               path + " was added (" + std::to_string(std::get<2>(v)) + " bytes)" +
                   (risky ? "; loading it may run code (pickle or Python)" : ""),
               fix);
    } else if (std::get<0>(old->second) != std::get<0>(v) ||
               std::get<2>(old->second) != std::get<2>(v)) {
      // The git oid changes with the content (for LFS files it is the pointer's,
      // which names the sha256), so oid and size decide; locks need not carry more.
      audit.changes.push_back("changed " + path);
      sink.add("drift.file_changed", risky ? Severity::high : Severity::medium, path,
               std::get<0>(v), "file changed: " + path,
               path + ": git oid " + std::get<0>(old->second) + " -> " + std::get<0>(v), fix);
    }
  }
  for (const auto& [path, v] : before.files)
    if (!now.files.count(path)) {
      audit.changes.push_back("removed " + path);
      sink.add("drift.file_removed", Severity::low, path, std::get<0>(v), "file removed: " + path,
               path + " is no longer in the repository", fix);
    }
}

class Auditor {
 public:
  Auditor(const hub::HubClient& client, const AuditOptions& options)
      : m_client(client), m_options(options) {}

  RepoResult check(const Target& t, std::optional<hub::AuthorKind> owner_kind) {
    RepoResult r;
    r.audit.repo = t.repo;
    r.audit.revision = t.revision;
    r.audit.baseline_commit = t.baseline_commit;
    r.audit.lock_line = t.lock_line;
    FindingSink sink(r);
    // Waiver expiry needs no request: judged for every repository, whatever happens next.
    waivers(t.repo, sink);
    if (t.gone_from_listing) return gone(t, r, sink);
    // Organisation audit: the listing says the commit did not move; nothing to fetch.
    // (That full=true items carry `gated` is what the fixture Hub does; the
    // reference only promises sha, lastModified and siblings. Without it the
    // comparison sees "no" both times and a commit change still triggers a fetch.)
    if (t.listed && t.previous && !t.previous->gone && !m_options.refresh_all &&
        t.listed->sha == t.previous->commit &&
        (t.listed->gated ? std::string(hub::to_string(*t.listed->gated)) : "no") ==
            t.previous->gated) {
      r.audit.outcome = RepoOutcome::unchanged;
      r.audit.commit = t.previous->commit;
      r.audit.risk_factors = t.previous->risk;
      r.audit.policy_verdict = t.previous->policy_verdict;
      r.carry_forward = true;
      return r;
    }
    // Lock and cache scopes judge the commit in use (pinned or cached) and
    // only resolve where the revision points now; an organisation audit
    // judges what is published (the head).
    const bool in_use = !t.baseline_commit.empty();
    auto ref = hub::parse_repo_ref(t.repo + "@" + (in_use ? t.baseline_commit : t.revision));
    if (!ref) {
      r.audit.outcome = RepoOutcome::error;
      r.audit.error = ref.error().message;
      r.carry_forward = true;
      return r;
    }
    auto state = fetch_repo_state(m_client, *ref, m_options.now_unix, owner_kind);
    if (!state) return failed(t, r, sink, state.error());
    std::string head = state->info.sha;
    std::vector<hub::TreeEntry> head_tree;
    if (in_use && t.revision != t.baseline_commit) {
      auto resolved = m_client.resolve_revision(ref->repo, t.revision);
      if (!resolved) return failed(t, r, sink, resolved.error());
      if (*resolved != head) {
        hub::TreeQuery query;
        query.recursive = hub::Recursive::yes;
        auto tree = m_client.list_tree(ref->repo, *resolved, query);
        if (!tree) return failed(t, r, sink, tree.error());
        head = std::move(*resolved);
        head_tree = std::move(*tree);
      }
    }
    r.audit.outcome = RepoOutcome::checked;
    r.audit.commit = head;
    RepoSnapshot now =
        snapshot_of(*state, t.revision, head, head == state->info.sha ? state->tree : head_tree);
    now.first_gated = !t.baseline_gated.empty() ? t.baseline_gated
                      : t.previous              ? t.previous->first_gated
                                                : now.gated;
    if (t.locked)
      check_pinned_files(t, snapshot_of(*state, t.revision, state->info.sha, state->tree), sink,
                         r.audit);
    drift(t, now, sink, r.audit);
    risk(*state, sink, r.audit);
    std::vector<scan::FileReport> scanned = local_scans(t, sink, r.audit);
    policy(*state, std::move(scanned), sink, r.audit);
    now.risk = state->trust.risk_factors;
    now.policy_verdict = r.audit.policy_verdict;
    r.snapshot = std::move(now);
    return r;
  }

 private:
  // A Hub error: "not found or no access" is a finding; anything else leaves
  // the repository unchecked (its previous findings carried forward).
  RepoResult& failed(const Target& t, RepoResult& r, FindingSink& sink, const hub::HubError& e) {
    if (e.kind == hub::HubErrorKind::repo_not_found_or_no_access ||
        e.kind == hub::HubErrorKind::revision_not_found)
      return gone(t, r, sink, e.describe());
    r.audit.outcome = RepoOutcome::error;
    r.audit.error = e.describe();
    r.carry_forward = true;
    return r;
  }

  // Lock scope: the pinned commit must still serve exactly the pinned files,
  // and a cached copy must hold the pinned bytes.
  void check_pinned_files(const Target& t, const RepoSnapshot& pinned_now, FindingSink& sink,
                          RepoAudit& audit) {
    RepoAudit scratch;
    RepoResult mismatches;
    FindingSink collect(mismatches);
    diff_files(t, *t.baseline_files, pinned_now, collect, scratch);
    for (const auto& f : mismatches.findings) {
      audit.changes.push_back("pinned commit serves other content: " + f.path);
      sink.add("integrity.lock_mismatch", Severity::high, f.path, f.fingerprint,
               "the pinned commit does not match the lock: " + f.path, f.detail,
               "The lock file or the Hub's history changed: re-lock from a trusted machine and "
               "compare; do not install from this lock until explained.");
    }
    for (const auto& path : t.cache_mismatches)
      sink.add("integrity.lock_mismatch", Severity::high, path, "cache",
               "cached file differs from the lock: " + path,
               "the cached blob of " + path + " at the pinned commit is not the locked sha256",
               "Run hfaudit verify, then hfaudit pull --locked to reinstall the pinned bytes.");
  }

  RepoResult& gone(const Target& t, RepoResult& r, FindingSink& sink, std::string why = {}) {
    r.audit.outcome = RepoOutcome::not_found;
    r.audit.changes.push_back("not found or no access");
    sink.add("drift.not_found", Severity::high, "", "", "repository not found or no access",
             why.empty() ? t.repo + " is no longer listed by its organisation" : why,
             "The repository was deleted, made private, or your token lost access (the Hub "
             "answers the same to all three). Find a replacement or restore access; builds that "
             "pull it will fail.");
    RepoSnapshot s = t.previous.value_or(RepoSnapshot{});
    s.gone = true;
    r.snapshot = std::move(s);
    return r;
  }

  void drift(const Target& t, const RepoSnapshot& now, FindingSink& sink, RepoAudit& audit) {
    // The baseline is the pin (lock), the cached snapshot (cache) or last run (org).
    const std::string base = !t.baseline_commit.empty()
                                 ? t.baseline_commit
                                 : (t.previous && !t.previous->gone ? t.previous->commit : "");
    if (audit.baseline_commit.empty()) audit.baseline_commit = base;
    if (!base.empty() && base != now.commit) {
      audit.changes.push_back("commit " + short_commit(base) + " -> " + short_commit(now.commit));
      sink.add("drift.commit_moved", Severity::medium, "", now.commit,
               t.revision + " moved past " + short_commit(base),
               t.revision + " now points to " + now.commit + " (was " + base + ")",
               "Review the new commit (hfaudit info " + t.repo + "@" + now.commit +
                   "); re-lock or pull it once accepted.");
      const RepoSnapshot* before = t.baseline_files                             ? &*t.baseline_files
                                   : (t.previous && t.previous->commit == base) ? &*t.previous
                                                                                : nullptr;
      if (before) diff_files(t, *before, now, sink, audit);
    }
    // The Hub answers a renamed repository's old id with a redirect: info.id is the new name.
    if (!now.id.empty() && util::ascii_lower(now.id) != util::ascii_lower(t.repo)) {
      audit.changes.push_back("renamed to " + now.id);
      sink.add("drift.renamed", Severity::medium, "", util::ascii_lower(now.id),
               "repository renamed",
               t.repo + " is now " + now.id + " (the Hub redirects the old name)",
               "Update your references to " + now.id +
                   "; a redirect can later be taken over by someone else's repository.");
    }
    if (now.gated != "no" && now.first_gated == "no") {
      audit.changes.push_back("now gated (" + now.gated + ")");
      sink.add("drift.gated", Severity::medium, "", now.gated, "repository is now gated",
               t.repo + " became gated (" + now.gated + "): downloads need an accepted licence",
               "Accept the terms on the repository page with the account whose token CI uses, "
               "or mirror the pinned files.");
    }
  }

  void risk(const RepoState& state, FindingSink& sink, RepoAudit& audit) {
    audit.risk_factors = state.trust.risk_factors;
    audit.overall_risk = state.trust.overall;
    for (const auto& factor : state.trust.risk_factors) {
      // Files the Hub flagged are reported one by one below.
      if (factor.id == "hub.flagged") continue;
      sink.add("risk." + factor.id, factor.severity, "", std::string(to_string(factor.severity)),
               factor.title, factor.evidence, factor.remediation);
    }
    for (const auto& file : state.trust.files) {
      const auto status = file.hub_status;
      if (status != hub::ScanStatus::unsafe && status != hub::ScanStatus::suspicious &&
          status != hub::ScanStatus::caution)
        continue;
      std::string detail = "the Hub's scanners say " + std::string(hub::to_string(status));
      for (const auto& [scanner, s] : file.hub_scanners)
        if (s != hub::ScanStatus::safe)
          detail += "; " + scanner + ": " + std::string(hub::to_string(s));
      for (const auto& imp : file.hub_pickle_imports)
        detail += "; import " + imp.module + "." + imp.name;
      sink.add("risk.hub_scan", hub_status_severity(status), file.path,
               std::string(hub::to_string(status)),
               "Hub security scan: " + std::string(hub::to_string(status)) + " " + file.path,
               detail,
               "Do not load this file. Check the Hub's scan report and hfaudit scan of the "
               "file; remove it from your lock and caches (hfaudit gc) until cleared.");
    }
  }

  // Cache scope: the verdicts of hfaudit's own scanner on the cached blobs of
  // this commit, re-scanned when recorded by an older scanner version.
  std::vector<scan::FileReport> local_scans(const Target& t, FindingSink& sink, RepoAudit& audit) {
    std::vector<scan::FileReport> reports;
    if (t.cached_blobs.empty()) return reports;
    auto index = cache::Index::open(cache::Layout(m_options.cache).index_path());
    auto store = cache::BlobStore::open(m_options.cache);
    if (!index || !store) return reports;
    for (const auto& [path, sha256] : t.cached_blobs) {
      auto scanned = scan_stored_blob(**index, *store, sha256, path);
      if (!scanned) continue;  // a missing blob is an integrity finding (--rehash)
      if (scanned->rescanned && scanned->previous_version) ++audit.rescanned;
      reports.push_back(scanned->report);  // blobs of the commit being judged
      if (!scanned->max_severity || *scanned->max_severity < Severity::low) continue;
      std::string rules;
      for (const auto& f : scanned->findings)
        if (rules.find(f.rule) == std::string::npos) rules += (rules.empty() ? "" : ", ") + f.rule;
      sink.add("risk.local_scan", *scanned->max_severity, path,
               sha256 + std::string(to_string(*scanned->max_severity)),
               "hfaudit scan: " + std::string(to_string(*scanned->max_severity)) + " in " + path,
               "cached blob " + sha256.substr(0, 12) + ": " + rules +
                   (scanned->rescanned ? " (re-scanned with " + std::string(scanner_version()) + ")"
                                       : ""),
               "Run hfaudit scan on the snapshot for details; remove the file (hfaudit gc) or "
               "replace it with a safetensors version.");
    }
    return reports;
  }

  void policy(const RepoState& state, std::vector<scan::FileReport> files, FindingSink& sink,
              RepoAudit& audit) {
    if (!m_options.policy) return;
    policies::EvaluationInput input;
    input.trust = state.trust;
    input.files = std::move(files);
    input.requested_revision = audit.revision;
    input.now_unix = m_options.now_unix;
    // The approval of the commit being judged, checked against the index and
    // the Hub's listing of that commit: files changed since the review void it,
    // and so does a quarantined cached copy (an audit re-fetches nothing).
    const ApprovalLookup approval = lookup_approval(m_options.cache, audit.repo, state.info.sha,
                                                    &state.tree, QuarantinedCopies::void_approval);
    input.approval = approval.status;
    input.approval_detail = approval.detail;
    if (approval.status == policies::ApprovalStatus::invalidated)
      sink.add("policy.approval_invalidated", Severity::medium, "", state.info.sha,
               "approval no longer valid", approval.detail,
               "Review what changed at this commit, then run hfaudit approve again (or revoke "
               "the approval).");
    const policies::Decision decision = policies::evaluate(*m_options.policy, input);
    audit.policy_verdict = std::string(policies::to_string(decision.verdict));
    for (const auto& rule : decision.rules) {
      if (rule.outcome != policies::Outcome::block && rule.outcome != policies::Outcome::warn)
        continue;
      const bool block = rule.outcome == policies::Outcome::block;
      std::string detail = rule.evidence;
      if (!rule.files.empty()) {
        detail += " (";
        for (size_t i = 0; i < rule.files.size(); ++i) detail += (i ? ", " : "") + rule.files[i];
        detail += ")";
      }
      sink.add("policy." + rule.id, block ? Severity::high : Severity::low, "",
               std::string(policies::to_string(rule.outcome)),
               std::string(block ? "policy blocks: " : "policy warns: ") + rule.id, detail,
               rule.remediation);
    }
  }

  // Waivers for this repository that expired: the rules they covered apply again.
  void waivers(const std::string& repo, FindingSink& sink) {
    if (!m_options.policy) return;
    for (const auto& w : m_options.policy->waivers) {
      if (!policies::glob_match(w.repo, util::ascii_lower(repo))) continue;
      if (m_options.now_unix < w.expires_end_unix) continue;
      std::string rules;
      for (const auto& rule : w.rules) rules += (rules.empty() ? "" : ", ") + rule;
      sink.add("policy.waiver_expired", Severity::low, "", std::to_string(w.line) + w.expires,
               "waiver expired on " + w.expires,
               "the waiver at line " + std::to_string(w.line) + " of policy " +
                   m_options.policy->name + " (owner " + w.owner + ", reason: " + w.reason +
                   ") for " + (rules.empty() ? "all rules" : rules) + " expired",
               "Renew the waiver with a new expiry date if the exception still holds, or fix "
               "what it covered; remove it from the policy otherwise.");
    }
  }

  const hub::HubClient& m_client;
  const AuditOptions& m_options;
};

// The previous run of the same scope and target.
struct Previous {
  std::optional<cache::AuditRunRecord> run;
  std::map<std::string, RepoSnapshot> states;                 // by repo id
  std::map<std::string, std::vector<AuditFinding>> findings;  // by repo id, new and present
};

AuditFinding finding_from_record(const cache::AuditFindingRecord& record) {
  AuditFinding f;
  const json doc = json::parse(record.finding_json, nullptr, false);
  f.rule = record.rule_id;
  f.repo = record.repo_id;
  f.fingerprint = record.fingerprint;
  f.severity = scan::parse_severity(doc.is_object() ? doc.value("severity", "medium") : "medium")
                   .value_or(Severity::medium);
  if (doc.is_object()) {
    f.path = doc.value("path", "");
    f.title = doc.value("title", "");
    f.detail = doc.value("detail", "");
    f.remediation = doc.value("remediation", "");
  }
  f.status = record.status;
  return f;
}

util::Result<Previous> load_previous(cache::Index& index, const AuditOptions& options) {
  Previous p;
  p.run = HFAUDIT_TRY(index.last_audit_run(options.scope, options.target));
  if (!p.run) return p;
  for (const auto& s : HFAUDIT_TRY(index.audit_repo_states(p.run->id)))
    if (auto parsed = RepoSnapshot::parse(s.state_json)) p.states[s.repo_id] = std::move(*parsed);
  for (const auto& record : HFAUDIT_TRY(index.audit_findings(p.run->id)))
    if (record.status != FindingStatus::resolved)
      p.findings[record.repo_id].push_back(finding_from_record(record));
  return p;
}

// Organisation scope: one listing walk gives every repository's commit, gated
// flag and files (full=true; reference hub-api.md §3; private repositories
// only for a token that can see them), plus the repositories listed last run
// and gone now (deleted, made private or moved elsewhere). The owner's kind is
// asked once for all of them.
hub::HubResult<std::vector<Target>> org_targets(const hub::HubClient& client,
                                                const AuditOptions& options,
                                                const Previous& previous,
                                                std::optional<hub::AuthorKind>& owner_kind) {
  hub::ListModelsQuery query;
  query.author = options.target;
  query.full = hub::Full::yes;
  auto listed = HFAUDIT_TRY(client.list_models(query));
  auto kind = client.author_kind(options.target);
  owner_kind = kind ? *kind : hub::AuthorKind::unknown;
  std::vector<Target> targets;
  std::set<std::string> seen;
  for (auto& item : listed) {
    Target t;
    t.repo = item.id;
    t.revision = "main";
    seen.insert(item.id);
    t.listed = std::move(item);
    targets.push_back(std::move(t));
  }
  for (const auto& [repo, state] : previous.states)
    if (!seen.count(repo)) {
      Target t;
      t.repo = repo;
      t.revision = state.revision.empty() ? "main" : state.revision;
      t.gone_from_listing = true;
      targets.push_back(std::move(t));
    }
  return targets;
}

// Cache scope: every cached snapshot, per named revision (a snapshot with no
// ref is checked at its own commit).
util::Result<std::vector<Target>> cache_targets(cache::Index& index) {
  std::vector<Target> targets;
  for (const auto& snap : HFAUDIT_TRY(index.snapshots())) {
    Target t;
    t.repo = snap.repo_id;
    t.baseline_commit = snap.commit;
    RepoSnapshot files;
    files.commit = snap.commit;
    for (const auto& f : HFAUDIT_TRY(index.files(snap.repo_id, snap.commit))) {
      files.files[f.path] = {f.git_oid,
                             f.storage == cache::Storage::lfs ? f.sha256.value_or("") : "", f.size};
      if (f.state == cache::FileState::verified && f.blob_sha256)
        t.cached_blobs[f.path] = *f.blob_sha256;
    }
    t.baseline_files = std::move(files);
    if (auto trust = index.latest_trust_snapshot(snap.repo_id, snap.commit); trust && *trust) {
      const json doc = json::parse(**trust, nullptr, false);
      if (doc.is_object()) t.baseline_gated = doc.value("gated", "");
    }
    if (snap.refs.empty()) {
      t.revision = snap.commit;
      targets.push_back(t);
    }
    for (const auto& ref : snap.refs) {
      t.revision = ref;
      targets.push_back(t);
    }
  }
  return targets;
}

// Lock scope: every entry, compared with its pin; the pinned commit's cached
// blobs (if pulled) are checked against the lock's sha256 and scanned.
util::Result<std::vector<Target>> lock_targets(cache::Index& index, const AuditOptions& options) {
  std::vector<Target> targets;
  for (const auto& locked : options.lock->repos) {
    Target t;
    t.repo = locked.repo;
    t.revision = locked.revision.empty() ? locked.commit : locked.revision;
    t.baseline_commit = locked.commit;
    t.locked = &locked;
    if (auto line = options.lock_lines.find(locked.repo); line != options.lock_lines.end())
      t.lock_line = line->second;
    RepoSnapshot files;
    files.commit = locked.commit;
    for (const auto& f : locked.files) files.files[f.path] = {f.git_oid, f.sha256, f.size};
    t.baseline_files = std::move(files);
    std::map<std::string, std::string> pinned;
    for (const auto& f : locked.files) pinned[f.path] = f.sha256;
    for (const auto& f : HFAUDIT_TRY(index.files(locked.repo, locked.commit))) {
      auto want = pinned.find(f.path);
      if (want == pinned.end() || f.state != cache::FileState::verified || !f.blob_sha256) continue;
      if (*f.blob_sha256 == want->second)
        t.cached_blobs[f.path] = *f.blob_sha256;
      else
        t.cache_mismatches.push_back(f.path);
    }
    targets.push_back(std::move(t));
  }
  return targets;
}

// Integrity: re-hashes the cached blobs of the audited repositories (all of
// them in cache scope) and adds a finding per file backed by a changed or
// missing blob.
util::Status rehash(const AuditOptions& options, cache::Index& index,
                    std::vector<RepoResult>& results, AuditStats& stats) {
  std::map<std::string, size_t> by_repo;
  for (size_t i = 0; i < results.size(); ++i) by_repo.emplace(results[i].audit.repo, i);
  const auto sink_for = [&](const std::string& repo) -> RepoResult* {
    auto it = by_repo.find(repo);
    return it == by_repo.end() ? nullptr : &results[it->second];
  };
  const auto verify_one = [&](std::optional<std::string> repo) -> util::Status {
    cache::VerifyOptions verify_options;
    verify_options.repo_id = std::move(repo);
    cache::MaintenanceOptions maintenance;
    maintenance.actor = "hfaudit audit";
    auto verified = HFAUDIT_TRY(cache::verify(options.cache, verify_options, maintenance));
    stats.blobs_rehashed += verified.blobs_checked;
    for (const auto& bad : verified.corrupted)
      for (const auto& where : bad.affected)
        if (RepoResult* r = sink_for(where.repo_id)) {
          r->audit.changes.push_back("cached bytes changed: " + where.path);
          FindingSink(*r).add(
              "integrity.blob_changed", Severity::critical, where.path, bad.sha256,
              "cached file changed on disk: " + where.path,
              "blob " + bad.sha256 + " now hashes to " + bad.actual_sha256 + "; quarantined in " +
                  bad.quarantine_dir,
              "The cached bytes no longer match their hash: the blob was quarantined. Pull the "
              "repository again (hfaudit pull) and investigate who changed the cache.");
        }
    for (const auto& missing : verified.missing)
      for (const auto& where : HFAUDIT_TRY(index.files_with_blob(missing)))
        if (RepoResult* r = sink_for(where.repo_id))
          FindingSink(*r).add("integrity.blob_missing", Severity::high, where.path, missing,
                              "cached file missing: " + where.path,
                              "blob " + missing +
                                  " is recorded in the index but absent from the "
                                  "store",
                              "Pull the repository again (hfaudit pull); check what deletes files "
                              "under HFAUDIT_HOME.");
    return util::Ok{};
  };
  if (options.scope == AuditScope::cache) return verify_one(std::nullopt);
  std::set<std::string> repos;
  for (const auto& r : results) repos.insert(r.audit.repo);
  for (const auto& repo : repos) HFAUDIT_TRY(verify_one(repo));
  return util::Ok{};
}

void sort_findings(std::vector<AuditFinding>& findings) {
  std::sort(findings.begin(), findings.end(), [](const AuditFinding& a, const AuditFinding& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.repo != b.repo) return a.repo < b.repo;
    if (a.rule != b.rule) return a.rule < b.rule;
    return a.path < b.path;
  });
}

}  // namespace

std::string_view to_string(RepoOutcome outcome) {
  switch (outcome) {
    case RepoOutcome::checked:
      return "checked";
    case RepoOutcome::unchanged:
      return "unchanged";
    case RepoOutcome::not_found:
      return "not_found";
    case RepoOutcome::error:
      return "error";
  }
  return "error";
}

nlohmann::ordered_json to_json(const AuditFinding& f) {
  nlohmann::ordered_json out;
  out["fingerprint"] = f.fingerprint;
  out["status"] = std::string(cache::to_string(f.status));
  out["rule"] = f.rule;
  out["category"] = f.category();
  out["severity"] = std::string(scan::to_string(f.severity));
  out["repo"] = f.repo;
  out["path"] = f.path;
  out["title"] = f.title;
  out["detail"] = f.detail;
  out["remediation"] = f.remediation;
  return out;
}

AuditReport run_audit(const hub::HubClient& client, const AuditOptions& options) {
  AuditReport report;
  report.scope = options.scope;
  report.target = options.target;
  report.started_at = options.now_unix;
  if (options.policy) {
    report.policy_name = options.policy->name;
    report.policy_sha256 = options.policy->sha256;
  }
  auto fail = [&](AuditFailure::Kind kind, std::string message, std::string hint = {}) {
    report.failure = AuditFailure{kind, std::move(message), std::move(hint)};
    return report;
  };

  const cache::Layout layout(options.cache);
  if (auto made = layout.create_directories(); !made)
    return fail(AuditFailure::Kind::cache, made.error().message);
  auto index = cache::Index::open(layout.index_path());
  if (!index) return fail(AuditFailure::Kind::cache, index.error().message);
  auto previous = load_previous(**index, options);
  if (!previous) return fail(AuditFailure::Kind::cache, previous.error().message);
  if (previous->run) {
    report.previous_run_id = previous->run->id;
    report.previous_run_at = previous->run->finished_at;
  }

  // What to check.
  std::vector<Target> targets;
  std::optional<hub::AuthorKind> owner_kind;
  if (options.scope == AuditScope::cache) {
    auto found = cache_targets(**index);
    if (!found) return fail(AuditFailure::Kind::cache, found.error().message);
    targets = std::move(*found);
  } else if (options.scope == AuditScope::lock) {
    if (!options.lock) return fail(AuditFailure::Kind::usage, "no lock file given");
    auto found = lock_targets(**index, options);
    if (!found) return fail(AuditFailure::Kind::cache, found.error().message);
    targets = std::move(*found);
  } else {
    auto found = org_targets(client, options, *previous, owner_kind);
    if (!found)
      return fail(AuditFailure::Kind::hub,
                  "cannot list the models of " + options.target + ": " + found.error().describe(),
                  found.error().hint);
    targets = std::move(*found);
  }
  for (auto& t : targets)
    if (auto p = previous->states.find(t.repo); p != previous->states.end()) t.previous = p->second;

  // Check them, `jobs` at a time.
  std::vector<RepoResult> results(targets.size());
  Auditor auditor(client, options);
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  const size_t workers = std::max<size_t>(1, std::min(options.jobs, targets.size()));
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w)
    threads.emplace_back([&] {
      for (size_t i = next++; i < targets.size(); i = next++) {
        results[i] = auditor.check(targets[i], owner_kind);
        const size_t n = ++done;
        if (options.on_progress) options.on_progress(n, targets.size());
      }
    });
  for (auto& t : threads) t.join();

  if (options.rehash)
    if (auto status = rehash(options, **index, results, report.stats); !status)
      return fail(AuditFailure::Kind::cache, status.error().message);

  // New, still present, resolved: compare fingerprints with the previous run.
  std::set<std::string> before;
  for (const auto& [repo, list] : previous->findings)
    for (const auto& f : list) before.insert(f.fingerprint);
  std::set<std::string> now;
  std::vector<cache::AuditFindingRecord> records;
  std::vector<cache::AuditRepoState> states;
  for (auto& r : results) {
    if (r.carry_forward) {
      for (const auto& f : previous->findings[r.audit.repo])
        if (f.rule != "policy.waiver_expired") r.findings.push_back(f);  // recomputed above
      if (auto p = previous->states.find(r.audit.repo); p != previous->states.end())
        r.snapshot = p->second;
    }
    for (auto& f : r.findings) {
      if (!now.insert(f.fingerprint).second) continue;  // one repo under several refs
      f.status = before.count(f.fingerprint) ? FindingStatus::present : FindingStatus::new_;
      report.findings.push_back(f);
    }
    // Several refs of one repository (cache scope): the first view is kept.
    if (r.snapshot && (states.empty() || states.back().repo_id != r.audit.repo))
      states.push_back({r.audit.repo, r.snapshot->to_json().dump()});
    switch (r.audit.outcome) {
      case RepoOutcome::checked:
        ++report.stats.fetched;
        break;
      case RepoOutcome::unchanged:
        ++report.stats.unchanged;
        break;
      case RepoOutcome::not_found:
        ++report.stats.not_found;
        break;
      case RepoOutcome::error:
        ++report.stats.errors;
        report.complete = false;
        break;
    }
    report.stats.rescanned += r.audit.rescanned;
    report.repos.push_back(std::move(r.audit));
  }
  for (const auto& [repo, list] : previous->findings)
    for (const auto& f : list)
      if (!now.count(f.fingerprint)) {
        AuditFinding gone = f;
        gone.status = FindingStatus::resolved;
        report.resolved.push_back(std::move(gone));
      }
  sort_findings(report.findings);
  sort_findings(report.resolved);
  std::sort(report.repos.begin(), report.repos.end(), [](const RepoAudit& a, const RepoAudit& b) {
    return std::tie(a.repo, a.revision) < std::tie(b.repo, b.revision);
  });
  report.stats.repos = report.repos.size();
  for (const auto& f : report.findings)
    ++(f.status == FindingStatus::new_ ? report.stats.new_findings : report.stats.present_findings);
  report.stats.resolved_findings = report.resolved.size();

  // Record the run.
  auto record_of = [](const AuditFinding& f) {
    cache::AuditFindingRecord r;
    r.fingerprint = f.fingerprint;
    r.rule_id = f.rule;
    r.repo_id = f.repo;
    r.severity = static_cast<cache::Severity>(static_cast<int>(f.severity) + 1);
    r.status = f.status;
    r.finding_json = nlohmann::json(to_json(f)).dump();
    return r;
  };
  for (const auto& f : report.findings) records.push_back(record_of(f));
  for (const auto& f : report.resolved) records.push_back(record_of(f));
  cache::AuditRunRecord run;
  run.scope = options.scope;
  run.target = options.target;
  run.started_at = options.now_unix;
  run.complete = report.complete;
  run.summary_json = json{{"repos", report.stats.repos},
                          {"new", report.stats.new_findings},
                          {"present", report.stats.present_findings},
                          {"resolved", report.stats.resolved_findings}}
                         .dump();
  auto id = (*index)->record_audit_run(run, records, states);
  if (!id) return fail(AuditFailure::Kind::cache, id.error().message);
  report.run_id = *id;
  return report;
}

}  // namespace hfaudit::app
