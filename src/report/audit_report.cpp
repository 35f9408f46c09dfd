#include "report/audit_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "report/sarif.hpp"
#include "report/text_style.hpp"

namespace hfaudit::report {

namespace {

using app::AuditFinding;
using app::AuditReport;
using app::FindingStatus;
using app::RepoAudit;
using app::RepoOutcome;
using scan::Severity;

std::string utc(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// Hub text on a terminal: no control characters (escape sequences could
// rewrite what the user sees).
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

std::string scope_words(const AuditReport& r) {
  switch (r.scope) {
    case app::AuditScope::lock:
      return "--lock " + r.target;
    case app::AuditScope::org:
      return "--org " + r.target;
    case app::AuditScope::cache:
      return "--cache";
  }
  return r.target;
}

// The findings of one repository, in report order.
std::vector<const AuditFinding*> findings_of(const AuditReport& r, const std::string& repo) {
  std::vector<const AuditFinding*> out;
  for (const auto& f : r.findings)
    if (f.repo == repo) out.push_back(&f);
  return out;
}

// One word for a repository's row: what a reader should look at first.
std::string repo_status(const AuditReport& r, const RepoAudit& repo) {
  if (repo.outcome == RepoOutcome::error) return "error";
  if (repo.outcome == RepoOutcome::not_found) return "gone";
  const auto found = findings_of(r, repo.repo);
  for (const auto* f : found)
    if (f->status == FindingStatus::new_) return "new";
  return found.empty() ? "clean" : "findings";
}

std::string file_url(const AuditRenderOptions& o, const std::string& repo,
                     const std::string& commit, const std::string& path) {
  if (path.empty() || commit.empty()) return o.hub_endpoint + "/" + repo;
  return o.hub_endpoint + "/" + repo + "/blob/" + commit + "/" + path;
}

const RepoAudit* repo_of(const AuditReport& r, const std::string& repo) {
  for (const auto& x : r.repos)
    if (x.repo == repo) return &x;
  return nullptr;
}

std::string plural(size_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') ? '?' : c;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// Terminal

std::string render_audit_text(const AuditReport& r, const AuditRenderOptions& o) {
  const TextStyle style{o.color};
  const auto& s = r.stats;
  std::string out = fmt::format(
      "hfaudit audit {}: {} ({} checked, {} unchanged, {} not found, {} could not be checked)\n",
      printable(scope_words(r)), plural(s.repos, "repository", "repositories"), s.fetched,
      s.unchanged, s.not_found, s.errors);
  if (r.previous_run_id)
    out += fmt::format("compared with run #{} of {}\n", *r.previous_run_id, utc(r.previous_run_at));
  else
    out += "first audit of this target: every finding is new\n";
  if (!r.policy_name.empty()) out += "policy: " + printable(r.policy_name) + "\n";
  if (s.rescanned) out += fmt::format("re-scanned {} cached blobs (older scanner)\n", s.rescanned);
  if (s.blobs_rehashed) out += fmt::format("re-hashed {} cached blobs\n", s.blobs_rehashed);

  const auto line = [&](const AuditFinding& f) {
    std::string where = printable(f.repo) + (f.path.empty() ? "" : ":" + printable(f.path));
    return fmt::format("  {:<8} {:<28} {}\n  {:<8} {}\n  {:<8} fix: {}\n",
                       style.severity(f.severity, scan::to_string(f.severity)), f.rule, where, "",
                       printable(f.title) + (f.detail.empty() ? "" : ": " + printable(f.detail)),
                       "", printable(f.remediation));
  };
  std::vector<const AuditFinding*> fresh, present;
  for (const auto& f : r.findings)
    (f.status == FindingStatus::new_ ? fresh : present).push_back(&f);
  if (!fresh.empty()) {
    out += "\n" + style.paint("1", fmt::format("NEW since the last run ({})", fresh.size())) + "\n";
    for (const auto* f : fresh) out += line(*f);
  }
  if (!present.empty()) {
    out +=
        fmt::format("\nSTILL PRESENT ({}){}\n", present.size(), o.verbose ? "" : ": -v lists them");
    if (o.verbose)
      for (const auto* f : present) out += line(*f);
  }
  if (!r.resolved.empty()) {
    out += fmt::format("\nRESOLVED since the last run ({})\n", r.resolved.size());
    for (const auto& f : r.resolved)
      out += fmt::format("  {:<8} {:<28} {}{}\n", scan::to_string(f.severity), f.rule,
                         printable(f.repo), f.path.empty() ? "" : ":" + printable(f.path));
  }
  bool errors = false;
  for (const auto& repo : r.repos)
    if (repo.outcome == RepoOutcome::error) {
      if (!errors) out += "\nCOULD NOT BE CHECKED\n";
      errors = true;
      out += "  " + printable(repo.repo) + ": " + printable(repo.error) + "\n";
    }
  out += fmt::format("\n{} new, {} still present, {} resolved{}\n", s.new_findings,
                     s.present_findings, s.resolved_findings,
                     r.complete ? "" : "; INCOMPLETE: some repositories could not be checked");
  if (o.requests || o.seconds > 0)
    out += fmt::format("{} Hub requests in {:.1f} s\n", o.requests.value_or(0), o.seconds);
  return out;
}

// ---------------------------------------------------------------------------
// JSON

std::string render_audit_json(const AuditReport& r, const AuditRenderOptions& o) {
  using ojson = nlohmann::ordered_json;
  ojson doc;
  doc["schema"] = "hfaudit.audit/1";
  doc["hfaudit_version"] = HFAUDIT_VERSION;
  doc["scope"] = std::string(cache::to_string(r.scope));
  doc["target"] = r.target;
  doc["run_id"] = r.run_id;
  doc["previous_run"] = r.previous_run_id
                            ? ojson{{"id", *r.previous_run_id}, {"finished_at", r.previous_run_at}}
                            : ojson(nullptr);
  doc["started_at"] = r.started_at;
  doc["complete"] = r.complete;
  doc["policy"] = r.policy_name.empty()
                      ? ojson(nullptr)
                      : ojson{{"name", r.policy_name}, {"sha256", r.policy_sha256}};
  const auto& s = r.stats;
  doc["stats"] = {{"repos", s.repos},
                  {"checked", s.fetched},
                  {"unchanged", s.unchanged},
                  {"not_found", s.not_found},
                  {"errors", s.errors},
                  {"rescanned_blobs", s.rescanned},
                  {"rehashed_blobs", s.blobs_rehashed},
                  {"new", s.new_findings},
                  {"present", s.present_findings},
                  {"resolved", s.resolved_findings},
                  {"requests", o.requests ? ojson(*o.requests) : ojson(nullptr)}};
  ojson repos = ojson::array();
  for (const auto& repo : r.repos) {
    ojson factors = ojson::array();
    for (const auto& f : repo.risk_factors)
      factors.push_back({{"id", f.id}, {"severity", scan::to_string(f.severity)}});
    ojson fingerprints = ojson::array();
    for (const auto* f : findings_of(r, repo.repo)) fingerprints.push_back(f->fingerprint);
    repos.push_back({{"repo", repo.repo},
                     {"revision", repo.revision},
                     {"outcome", std::string(app::to_string(repo.outcome))},
                     {"status", repo_status(r, repo)},
                     {"baseline_commit",
                      repo.baseline_commit.empty() ? ojson(nullptr) : ojson(repo.baseline_commit)},
                     {"commit", repo.commit.empty() ? ojson(nullptr) : ojson(repo.commit)},
                     {"changes", repo.changes},
                     {"overall_risk", repo.overall_risk ? ojson(scan::to_string(*repo.overall_risk))
                                                        : ojson(nullptr)},
                     {"risk_factors", factors},
                     {"policy_verdict",
                      repo.policy_verdict.empty() ? ojson(nullptr) : ojson(repo.policy_verdict)},
                     {"error", repo.error.empty() ? ojson(nullptr) : ojson(repo.error)},
                     {"findings", fingerprints}});
  }
  doc["repos"] = repos;
  ojson findings = ojson::array();
  for (const auto& f : r.findings) findings.push_back(app::to_json(f));
  doc["findings"] = findings;
  ojson resolved = ojson::array();
  for (const auto& f : r.resolved) resolved.push_back(app::to_json(f));
  doc["resolved"] = resolved;
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// ---------------------------------------------------------------------------
// SARIF

std::string render_audit_sarif(const AuditReport& r, const AuditRenderOptions& o) {
  using nlohmann::json;
  std::map<std::string, size_t> rule_index;
  json rules = json::array();
  json results = json::array();
  for (const auto& f : r.findings) {
    auto [it, inserted] = rule_index.emplace(f.rule, rules.size());
    if (inserted)
      rules.push_back({{"id", f.rule},
                       {"name", f.rule},
                       {"shortDescription", {{"text", f.title}}},
                       {"help", {{"text", f.remediation}}},
                       {"helpUri", std::string(k_information_uri) + "/blob/main/docs/audit.md"},
                       {"defaultConfiguration", {{"level", sarif_level(f.severity)}}},
                       {"properties",
                        {{"security-severity", sarif_security_severity(f.severity)},
                         {"tags", {"security", "supply-chain", f.category()}}}}});
    const RepoAudit* repo = repo_of(r, f.repo);
    json location;
    if (r.scope == app::AuditScope::lock) {
      // The lockfile entry is what the user edits to act on the finding.
      location = {{"physicalLocation",
                   {{"artifactLocation", {{"uri", r.target}}},
                    {"region", {{"startLine", repo && repo->lock_line ? *repo->lock_line : 1}}}}}};
    } else {
      const std::string commit =
          repo ? (repo->commit.empty() ? repo->baseline_commit : repo->commit) : std::string();
      location = {{"physicalLocation",
                   {{"artifactLocation", {{"uri", file_url(o, f.repo, commit, f.path)}}}}}};
    }
    location["logicalLocations"] = {
        {{"fullyQualifiedName", f.repo + (f.path.empty() ? "" : "/" + f.path)},
         {"kind", f.path.empty() ? "module" : "resource"}}};
    results.push_back(
        {{"ruleId", f.rule},
         {"ruleIndex", it->second},
         {"level", sarif_level(f.severity)},
         {"message",
          {{"text", f.repo + ": " + f.title + (f.detail.empty() ? "" : ". " + f.detail)}}},
         {"locations", {location}},
         {"partialFingerprints", {{"hfauditFinding/v1", f.fingerprint}}},
         {"baselineState", f.status == FindingStatus::new_ ? "new" : "unchanged"},
         {"properties", {{"severity", scan::to_string(f.severity)}, {"repo", f.repo}}}});
  }
  json notifications = json::array();
  for (const auto& repo : r.repos)
    if (repo.outcome == RepoOutcome::error)
      notifications.push_back(
          {{"level", "error"}, {"message", {{"text", repo.repo + ": " + repo.error}}}});
  return render_sarif_log(std::move(rules), std::move(results), r.complete,
                          std::move(notifications), "hfaudit-audit/" + scope_words(r) + "/");
}

// ---------------------------------------------------------------------------
// HTML

namespace {

constexpr const char* k_css = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#0d1117;color:#f0f6fc;padding:20px 32px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:2px 0;color:#9198a1}
main{padding:20px 32px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:20px}
.card{background:#fff;border:1px solid #d1d9e0;border-radius:8px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:24px}
.card.new b{color:#cf222e}.card.resolved b{color:#1a7f37}.card.incomplete b{color:#9a6700}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d1d9e0;border-radius:8px;overflow:hidden;margin-bottom:24px}
th{background:#eef1f4;text-align:left;font-weight:600;padding:8px 10px;border-bottom:1px solid #d1d9e0}
td{padding:8px 10px;border-bottom:1px solid #eaeef2;vertical-align:top}
td:first-child{min-width:230px;word-break:break-all}
tr.clean td:first-child{border-left:5px solid #1a7f37}
tr.findings td:first-child{border-left:5px solid #9a6700}
tr.new td:first-child{border-left:5px solid #cf222e}
tr.gone td:first-child,tr.error td:first-child{border-left:5px solid #6e7781}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.b-clean{background:#1a7f37}.b-findings{background:#9a6700}.b-new{background:#cf222e}.b-gone,.b-error{background:#6e7781}
.sev{display:inline-block;min-width:58px;text-align:center;border-radius:4px;padding:0 4px;font-size:12px;font-weight:600}
.s-critical{background:#82071e;color:#fff}.s-high{background:#cf222e;color:#fff}.s-medium{background:#fb8f44;color:#1f2328}
.s-low{background:#ddf4ff;color:#0969da}.s-info{background:#eaeef2;color:#57606a}
.tag-new{color:#cf222e;font-weight:700;font-size:11px;margin-left:4px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#eef1f4;padding:1px 4px;border-radius:4px}
ul{margin:0;padding-left:18px}.muted{color:#656d76}.fix{color:#0550ae}
a{color:#0969da;text-decoration:none}
.finding{margin-bottom:6px}
)css";

std::string sev_span(Severity s) {
  return fmt::format("<span class=\"sev s-{0}\">{0}</span>", scan::to_string(s));
}

std::string status_label(const std::string& status) {
  if (status == "gone") return "not found / no access";
  if (status == "new") return "new findings";
  return status;
}

}  // namespace

std::string render_audit_html(const AuditReport& r, const AuditRenderOptions& o) {
  const auto& s = r.stats;
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  // No scripts, no external resources: the report is safe to open from an artifact store.
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       "style-src 'unsafe-inline'; img-src data:\">\n";
  h += "<title>hfaudit audit " + html_escape(scope_words(r)) + "</title>\n<style>" +
       std::string(k_css) + "</style></head><body>\n";
  h += "<header><h1>hfaudit audit " + html_escape(scope_words(r)) + "</h1>";
  h += "<p>run #" + std::to_string(r.run_id) + " started " + utc(r.started_at) +
       (r.previous_run_id ? " &middot; compared with run #" + std::to_string(*r.previous_run_id) +
                                " of " + utc(r.previous_run_at)
                          : " &middot; first audit of this target") +
       "</p>";
  if (!r.policy_name.empty()) h += "<p>policy " + html_escape(r.policy_name) + "</p>";
  h += "</header><main>\n<div class=\"cards\">";
  const auto card = [&](const char* cls, size_t n, const char* label) {
    h += fmt::format("<div class=\"card {}\"><b>{}</b>{}</div>", cls, n, label);
  };
  card("", s.repos, "repositories");
  card("new", s.new_findings, "new findings");
  card("", s.present_findings, "still present");
  card("resolved", s.resolved_findings, "resolved");
  card("", s.not_found, "not found / no access");
  if (!r.complete) card("incomplete", s.errors, "could not be checked");
  h += "</div>\n";

  h += "<table><thead><tr><th>Repository</th><th>Status</th><th>Commit</th><th>What changed</th>"
       "<th>Risk factors</th><th>Findings and fixes</th></tr></thead><tbody>\n";
  // What needs attention first: new findings, gone, unchecked, old findings, clean.
  std::vector<const RepoAudit*> rows;
  for (const auto& repo : r.repos) rows.push_back(&repo);
  const auto rank = [&](const RepoAudit* repo) {
    const std::string status = repo_status(r, *repo);
    return status == "new"        ? 0
           : status == "gone"     ? 1
           : status == "error"    ? 2
           : status == "findings" ? 3
                                  : 4;
  };
  std::stable_sort(rows.begin(), rows.end(),
                   [&](const RepoAudit* a, const RepoAudit* b) { return rank(a) < rank(b); });
  for (const RepoAudit* row : rows) {
    const RepoAudit& repo = *row;
    const std::string status = repo_status(r, repo);
    h += "<tr class=\"" + status + "\"><td><a href=\"" +
         html_escape(o.hub_endpoint + "/" + repo.repo) + "\">" + html_escape(repo.repo) +
         "</a><div class=\"muted\">" + html_escape(repo.revision) + "</div></td>";
    h += "<td><span class=\"badge b-" + status + "\">" + status_label(status) + "</span>";
    if (!repo.policy_verdict.empty())
      h += "<div class=\"muted\">policy: " + html_escape(repo.policy_verdict) + "</div>";
    h += "</td><td>";
    if (!repo.baseline_commit.empty() && repo.baseline_commit != repo.commit)
      h += "<code>" + html_escape(repo.baseline_commit.substr(0, 12)) + "</code> &rarr; ";
    h += repo.commit.empty() ? "<span class=\"muted\">-</span>"
                             : "<code>" + html_escape(repo.commit.substr(0, 12)) + "</code>";
    h += "</td><td>";
    if (repo.changes.empty()) {
      h += repo.outcome == RepoOutcome::unchanged ? "<span class=\"muted\">unchanged</span>"
                                                  : "<span class=\"muted\">nothing</span>";
    } else {
      h += "<ul>";
      for (const auto& c : repo.changes) h += "<li>" + html_escape(c) + "</li>";
      h += "</ul>";
    }
    if (!repo.error.empty()) h += "<div class=\"muted\">" + html_escape(repo.error) + "</div>";
    h += "</td><td>";
    if (repo.risk_factors.empty()) {
      h += "<span class=\"muted\">none</span>";
    } else {
      h += "<ul>";
      for (const auto& f : repo.risk_factors)
        h += "<li>" + sev_span(f.severity) + " " + html_escape(f.title) + "</li>";
      h += "</ul>";
    }
    h += "</td><td>";
    const auto found = findings_of(r, repo.repo);
    if (found.empty()) h += "<span class=\"muted\">none</span>";
    for (const auto* f : found) {
      h += "<div class=\"finding\">" + sev_span(f->severity) + " <b>" + html_escape(f->title) +
           "</b>";
      if (f->status == FindingStatus::new_) h += "<span class=\"tag-new\">NEW</span>";
      h += "<div class=\"muted\"><code>" + html_escape(f->rule) + "</code> " +
           html_escape(f->detail) + "</div>";
      h += "<div class=\"fix\">fix: " + html_escape(f->remediation) + "</div></div>";
    }
    h += "</td></tr>\n";
  }
  h += "</tbody></table>\n";

  if (!r.resolved.empty()) {
    h += "<h2>Resolved since the last run</h2><table><thead><tr><th>Repository</th><th>Severity"
         "</th><th>Finding</th></tr></thead><tbody>\n";
    for (const auto& f : r.resolved)
      h += "<tr class=\"clean\"><td>" + html_escape(f.repo) + "</td><td>" + sev_span(f.severity) +
           "</td><td><code>" + html_escape(f.rule) + "</code> " + html_escape(f.title) +
           "</td></tr>\n";
    h += "</tbody></table>\n";
  }
  h += fmt::format("<p class=\"muted\">hfaudit {} &middot; {} Hub requests &middot; {:.1f} s</p>",
                   HFAUDIT_VERSION, o.requests.value_or(0), o.seconds);
  h += "</main></body></html>\n";
  return h;
}

}  // namespace hfaudit::report
