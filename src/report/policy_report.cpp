#include "report/policy_report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "util/time_format.hpp"

namespace hfaudit::report {

namespace {

std::string_view outcome_mark(policies::Outcome o) {
  switch (o) {
    case policies::Outcome::pass:
      return "pass ";
    case policies::Outcome::warn:
      return "WARN ";
    case policies::Outcome::block:
      return "BLOCK";
    case policies::Outcome::waived:
      return "waive";
    case policies::Outcome::not_applicable:
      return "n/a  ";
  }
  return "?";
}

bool fired(policies::Outcome o) {
  return o == policies::Outcome::block || o == policies::Outcome::warn;
}

std::string approval_line(const policies::Decision& d) {
  if (d.approval == policies::ApprovalStatus::not_approved)
    return "approval: none for this commit\n";
  return fmt::format("approval: {}{}\n", policies::to_string(d.approval),
                     d.approval_detail.empty() ? "" : " - " + d.approval_detail);
}

// The worst scan verdict over the approved files ("none" when all clean,
// "unscanned" when a file never was).
std::string worst_scan(const cache::ApprovalRecord& a) {
  bool unscanned = false;
  cache::Severity worst = cache::Severity::none;
  for (const auto& f : a.files) {
    if (!f.max_severity)
      unscanned = true;
    else
      worst = std::max(worst, *f.max_severity);
  }
  std::string out(cache::to_string(worst));
  return unscanned ? out + ", some unscanned" : out;
}

}  // namespace

std::string render_decision_text(const policies::Decision& d, const std::string& policy_origin) {
  std::string out = fmt::format(
      "{}@{} (requested {}): {} under policy '{}' ({}, sha256 {})\n", d.repo, d.commit,
      d.requested_revision.empty() ? "main" : d.requested_revision, policies::to_string(d.verdict),
      d.policy_name, policy_origin, d.policy_sha256.substr(0, 12));
  for (const auto& r : d.rules) {
    out += fmt::format("  {}  {}: {}\n", outcome_mark(r.outcome), r.id, r.evidence);
    if (fired(r.outcome)) out += fmt::format("         fix: {}\n", r.remediation);
  }
  for (const auto& n : d.notes) out += fmt::format("  note: {}\n", n);
  out += approval_line(d);
  out += "Content rules (formats, scan findings) are judged when hfaudit pull scans the files.\n";
  return out;
}

std::string render_decision_summary(const policies::Decision& d) {
  std::string out = fmt::format("policy {}: {}\n", d.policy_name, policies::to_string(d.verdict));
  for (const auto& rule : d.rules)
    if (fired(rule.outcome) || rule.outcome == policies::Outcome::waived) {
      out += fmt::format("  {:<7} {:<32} {}\n", policies::to_string(rule.outcome), rule.id,
                         rule.evidence);
      if (fired(rule.outcome)) out += fmt::format("          fix: {}\n", rule.remediation);
    }
  if (d.approval != policies::ApprovalStatus::not_approved) out += "  " + approval_line(d);
  return out;
}

nlohmann::json approval_json(const cache::ApprovalRecord& a, const cache::ApprovalCheck* check) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : a.files)
    files.push_back(
        {{"path", f.path},
         {"size", f.size},
         {"lfs", f.storage == cache::Storage::lfs},
         {"git_oid", f.git_oid},
         {"sha256", f.sha256},
         {"scan", f.max_severity ? nlohmann::json{{"scanner_version", *f.scanner_version},
                                                  {"max_severity", to_string(*f.max_severity)}}
                                 : nlohmann::json(nullptr)}});
  nlohmann::json out = {{"repo", a.repo_id},
                        {"commit", a.commit},
                        {"approved_by", a.approved_by},
                        {"approved_at", a.approved_at},
                        {"reason", a.reason},
                        {"policy", {{"name", a.policy_name}, {"sha256", a.policy_sha256}}},
                        {"files", files}};
  if (check) {
    out["valid"] = check->valid;
    out["cached"] = check->cached;
    out["changes"] = check->changes;
  }
  return out;
}

std::string render_approvals_json(const std::vector<cache::CheckedApproval>& approvals) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& a : approvals) items.push_back(approval_json(a.record, &a.check));
  nlohmann::json doc = {{"schema", "hfaudit.approvals/1"},
                        {"hfaudit_version", HFAUDIT_VERSION},
                        {"approvals", items}};
  return doc.dump(2) + "\n";
}

std::string render_approvals_text(const std::vector<cache::CheckedApproval>& approvals,
                                  bool verbose) {
  if (approvals.empty()) return "no approvals\n";
  std::string out;
  size_t invalid = 0;
  for (const auto& [a, check] : approvals) {
    if (!check.valid) ++invalid;
    out += fmt::format("{}@{}  {}\n", a.repo_id, a.commit,
                       !check.valid   ? "NO LONGER VALID"
                       : check.cached ? "valid"
                                      : "valid (not in the cache: checked against the Hub at the "
                                        "next pull)");
    out += fmt::format("  approved by {} on {} under policy {} (sha256 {}): {}\n", a.approved_by,
                       util::format_utc_minutes(a.approved_at), a.policy_name,
                       a.policy_sha256.substr(0, 12), a.reason);
    out += fmt::format("  {} {}, worst scan verdict {}\n", a.files.size(),
                       a.files.size() == 1 ? "file" : "files", worst_scan(a));
    if (verbose)
      for (const auto& f : a.files)
        out += fmt::format("    {}  {}  {}\n", f.sha256.substr(0, 12), f.path,
                           f.max_severity ? to_string(*f.max_severity) : "unscanned");
    for (const auto& change : check.changes) out += fmt::format("  - {}\n", change);
  }
  out += fmt::format("{} {}, {} no longer valid\n", approvals.size(),
                     approvals.size() == 1 ? "approval" : "approvals", invalid);
  return out;
}

}  // namespace hfaudit::report
