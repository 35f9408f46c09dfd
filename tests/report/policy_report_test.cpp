// Human and JSON renderings of policy decisions and of the approved-model registry.
#include "report/policy_report.hpp"

#include <boost/test/unit_test.hpp>

using namespace hfaudit;

namespace {

policies::Decision sample_decision() {
  policies::Decision d;
  d.verdict = policies::Verdict::block;
  d.repository_verdict = policies::Verdict::block;
  d.policy_name = "team";
  d.policy_sha256 = std::string(64, 'f');
  d.repo = "org/model";
  d.commit = std::string(40, 'c');
  d.requested_revision = "main";
  d.approval = policies::ApprovalStatus::invalidated;
  d.approval_detail = "modeling.py changed";
  policies::RuleResult pass;
  pass.id = "documentation.model_card";
  pass.outcome = policies::Outcome::pass;
  pass.evidence = "README.md is present";
  policies::RuleResult block;
  block.id = "approval.required";
  block.outcome = policies::Outcome::block;
  block.evidence = "the approval is invalidated";
  block.remediation = "approve it again";
  d.rules = {pass, block};
  return d;
}

cache::CheckedApproval sample_approval(bool valid) {
  cache::CheckedApproval a;
  a.record.repo_id = "org/model";
  a.record.commit = std::string(40, 'c');
  a.record.approved_by = "alice";
  a.record.approved_at = 1764176700;  // 2025-11-26 17:05 UTC
  a.record.reason = "reviewed";
  a.record.policy_name = "default";
  a.record.policy_sha256 = std::string(64, 'e');
  cache::ApprovedFile f;
  f.path = "model.safetensors";
  f.sha256 = std::string(64, 'a');
  f.git_oid = std::string(40, '1');
  f.storage = cache::Storage::lfs;
  f.scanner_version = "scan/1";
  f.max_severity = cache::Severity::low;
  a.record.files = {f};
  a.check.valid = valid;
  if (!valid) a.check.changes = {"model.safetensors quarantined (...)"};
  return a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_report_test)

BOOST_AUTO_TEST_CASE(explain_text_shows_every_rule_fixes_and_the_approval) {
  const std::string text = report::render_decision_text(sample_decision(), "built-in");
  BOOST_TEST(text.find("org/model@cccccccccccccccccccccccccccccccccccccccc (requested main): "
                       "block under policy 'team' (built-in, sha256 ffffffffffff)\n") == 0);
  BOOST_TEST(text.find("  pass   documentation.model_card: README.md is present\n") !=
             std::string::npos);
  BOOST_TEST(text.find("  BLOCK  approval.required: the approval is invalidated\n"
                       "         fix: approve it again\n") != std::string::npos);
  BOOST_TEST(text.find("approval: invalidated - modeling.py changed\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(pull_summary_lists_only_what_fired) {
  const std::string text = report::render_decision_summary(sample_decision());
  BOOST_TEST(text.find("policy team: block\n") == 0);
  BOOST_TEST(text.find("documentation.model_card") == std::string::npos);
  BOOST_TEST(text.find("approval.required") != std::string::npos);
  BOOST_TEST(text.find("fix: approve it again") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(approvals_json_and_text) {
  const std::vector<cache::CheckedApproval> list = {sample_approval(true), sample_approval(false)};
  const auto doc = nlohmann::json::parse(report::render_approvals_json(list));
  BOOST_TEST(doc["schema"] == "hfaudit.approvals/1");
  BOOST_TEST(doc.contains("hfaudit_version"));
  BOOST_TEST(doc["approvals"].size() == 2u);
  const auto& first = doc["approvals"][0];
  BOOST_TEST(first["approved_by"] == "alice");
  BOOST_TEST(first["valid"] == true);
  BOOST_TEST(first["files"][0]["lfs"] == true);
  BOOST_TEST(first["files"][0]["scan"]["max_severity"] == "low");
  BOOST_TEST(doc["approvals"][1]["changes"][0] == "model.safetensors quarantined (...)");
  // Without a check (approve --json) the validity fields are absent.
  BOOST_TEST(!report::approval_json(list[0].record).contains("valid"));

  const std::string text = report::render_approvals_text(list, false);
  BOOST_TEST(text.find("  approved by alice on 2025-11-26 17:05 UTC under policy default "
                       "(sha256 eeeeeeeeeeee): reviewed\n") != std::string::npos);
  BOOST_TEST(text.find("  1 file, worst scan verdict low\n") != std::string::npos);
  BOOST_TEST(text.find("NO LONGER VALID\n") != std::string::npos);
  BOOST_TEST(text.find("  - model.safetensors quarantined (...)\n") != std::string::npos);
  BOOST_TEST(text.find("2 approvals, 1 no longer valid\n") != std::string::npos);
  BOOST_TEST(report::render_approvals_text({}, false) == "no approvals\n");
}

BOOST_AUTO_TEST_SUITE_END()
