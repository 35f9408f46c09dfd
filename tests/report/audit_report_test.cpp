// The audit renderings: untrusted Hub text escaped in HTML and neutralised on a
// terminal; SARIF and JSON shapes.
#include "report/audit_report.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace hfaudit;

namespace {

const std::string k_evil = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>&";

app::AuditReport sample() {
  app::AuditReport r;
  r.scope = app::AuditScope::lock;
  r.target = "hfaudit.lock";
  r.run_id = 2;
  r.previous_run_id = 1;
  app::RepoAudit repo;
  repo.repo = "org/model";
  repo.revision = "main";
  repo.baseline_commit = std::string(40, 'a');
  repo.commit = std::string(40, 'b');
  repo.changes = {"added " + k_evil};
  repo.lock_line = 7;
  trust::RiskFactor factor;
  factor.id = "license.review";
  factor.severity = scan::Severity::low;
  factor.title = "licence: " + k_evil;
  repo.risk_factors = {factor};
  r.repos = {repo};
  app::AuditFinding f;
  f.rule = "drift.file_added";
  f.severity = scan::Severity::medium;
  f.repo = "org/model";
  f.path = "x.bin";
  f.title = "file added";
  f.detail = k_evil + "\x1b[2J";
  f.remediation = "review";
  f.fingerprint = "f1";
  r.findings = {f};
  f.status = app::FindingStatus::resolved;
  f.fingerprint = "f0";
  r.resolved = {f};
  r.stats.repos = 1;
  r.stats.new_findings = 1;
  r.stats.resolved_findings = 1;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(audit_report_test)

BOOST_AUTO_TEST_CASE(html_escapes_everything_from_the_hub_and_loads_nothing) {
  const std::string html = report::render_audit_html(sample(), {});
  BOOST_TEST(html.find("<script") == std::string::npos);
  BOOST_TEST(html.find("<img") == std::string::npos);
  BOOST_TEST(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&gt;") !=
             std::string::npos);
  BOOST_TEST(html.find("\x1b") == std::string::npos);
  BOOST_TEST(html.find("http-equiv=\"Content-Security-Policy\"") != std::string::npos);
  BOOST_TEST(html.find("class=\"new\"") != std::string::npos);  // the row's status colour
  BOOST_TEST(html.find("Resolved since the last run") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(html_escape_covers_quotes_and_controls) {
  BOOST_TEST(report::html_escape("a&b<c>d\"e'f\x01") == "a&amp;b&lt;c&gt;d&quot;e&#39;f?");
}

BOOST_AUTO_TEST_CASE(terminal_text_drops_control_characters) {
  const std::string text = report::render_audit_text(sample(), {});
  BOOST_TEST(text.find('\x1b') == std::string::npos);
  BOOST_TEST(text.find("NEW since the last run (1)") != std::string::npos);
  BOOST_TEST(text.find("RESOLVED since the last run (1)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(sarif_points_at_the_lockfile_line_with_a_fingerprint) {
  const auto doc = nlohmann::json::parse(report::render_audit_sarif(sample(), {}));
  BOOST_TEST(doc["version"] == "2.1.0");
  const auto& result = doc["runs"][0]["results"][0];
  BOOST_TEST(result["ruleId"] == "drift.file_added");
  BOOST_TEST(result["level"] == "warning");
  BOOST_TEST(result["baselineState"] == "new");
  BOOST_TEST(result["partialFingerprints"]["hfauditFinding/v1"] == "f1");
  const auto& location = result["locations"][0]["physicalLocation"];
  BOOST_TEST(location["artifactLocation"]["uri"] == "hfaudit.lock");
  BOOST_TEST(location["region"]["startLine"] == 7);
  BOOST_TEST(doc["runs"][0]["results"].size() == 1u);  // resolved findings are not alerts
}

BOOST_AUTO_TEST_CASE(json_document_has_the_envelope_and_the_fingerprints) {
  const auto doc = nlohmann::ordered_json::parse(report::render_audit_json(sample(), {}));
  BOOST_TEST(doc.begin().key() == "schema");
  BOOST_TEST(doc["schema"] == "hfaudit.audit/1");
  BOOST_TEST(doc["repos"][0]["findings"][0] == "f1");
  BOOST_TEST(doc["repos"][0]["status"] == "new");
  BOOST_TEST(doc["findings"][0]["category"] == "drift");
  BOOST_TEST(doc["resolved"][0]["status"] == "resolved");
}

BOOST_AUTO_TEST_SUITE_END()
