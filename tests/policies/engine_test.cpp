// Every rule of the engine: when it passes, fires (at the boundary), is not
// applicable, and what the decision says about files.
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

using namespace hfaudit;
using namespace hfaudit::policies;
using namespace hfaudit::policies::test;
using scan::Format;
using scan::Severity;

BOOST_AUTO_TEST_SUITE(engine_test)

BOOST_AUTO_TEST_CASE(a_good_repository_passes_the_example_policy) {
  auto p = load_policy_file(std::string(HFAUDIT_SOURCE_DIR) + "/policies/example.yaml");
  BOOST_REQUIRE(p);
  EvaluationInput in = good_input();
  in.trust.author = "google";
  const Decision d = evaluate(*p, in);
  for (const auto& r : d.rules)
    BOOST_CHECK_MESSAGE(r.outcome == Outcome::pass,
                        r.id << ": " << to_string(r.outcome) << ": " << r.evidence);
  BOOST_CHECK_EQUAL(d.verdict, Verdict::allow);
  BOOST_CHECK_EQUAL(d.rules.size(), rule_catalogue().size());
  BOOST_CHECK_EQUAL(d.policy_name, "example");
  BOOST_CHECK_EQUAL(d.policy_sha256, p->sha256);
  BOOST_CHECK(d.admits("model.safetensors"));
  BOOST_CHECK(!d.admits("not-judged.bin"));  // fail closed
}

BOOST_AUTO_TEST_CASE(formats_allowed_judges_model_files_by_content) {
  const Policy p = make_policy("  formats.allowed:\n    formats: [safetensors]\n");
  EvaluationInput in = good_input();
  // Named .safetensors, but the content is a PyTorch zip: content wins.
  in.files.push_back(file_report("other.safetensors", Format::pytorch_zip));
  const Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "formats.allowed"), Outcome::block);
  BOOST_CHECK(!d.admits("other.safetensors"));
  BOOST_CHECK(d.admits("model.safetensors"));
  BOOST_CHECK(d.admits("config.json"));  // JSON and text are not judged by the allow list
  BOOST_CHECK(d.repository_verdict == Verdict::allow);
  BOOST_CHECK(d.verdict == Verdict::block);
  BOOST_CHECK(d.blocked_files() == std::vector<std::string>{"other.safetensors"});
  BOOST_CHECK(d.find("formats.allowed")->evidence.find("pytorch_zip") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(content_rules_are_not_applicable_before_download) {
  const Policy p = make_policy(
      "  formats.allowed:\n    formats: [safetensors]\n"
      "  formats.forbidden:\n    formats: [pickle]\n"
      "  formats.pickle: {}\n"
      "  scan.max_severity:\n    max: low\n");
  EvaluationInput in = good_input();
  in.files.clear();
  const Decision d = evaluate(p, in);
  for (const char* id :
       {"formats.allowed", "formats.forbidden", "formats.pickle", "scan.max_severity"})
    BOOST_CHECK_EQUAL(outcome_of(d, id), Outcome::not_applicable);
  BOOST_CHECK(d.verdict == Verdict::allow);
  BOOST_CHECK(d.admits("model.safetensors"));  // files come from the Hub's list
}

BOOST_AUTO_TEST_CASE(formats_forbidden_sees_nested_objects) {
  const Policy p = make_policy("  formats.forbidden:\n    formats: [pickle]\n");
  EvaluationInput in = good_input();
  scan::FileReport archive = file_report("weights.tar.gz", Format::gzip);
  archive.objects.push_back(scan::ObjectReport{"weights.tar!/data.pkl", Format::pickle, 10, {}});
  in.files.push_back(archive);
  const Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "formats.forbidden"), Outcome::block);
  BOOST_CHECK(!d.admits("weights.tar.gz"));
  BOOST_CHECK(d.find("formats.forbidden")->evidence.find("weights.tar!/data.pkl") !=
              std::string::npos);

  EvaluationInput clean = good_input();
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, clean), "formats.forbidden"), Outcome::pass);
}

BOOST_AUTO_TEST_CASE(require_safetensors_blocks_pickles_only_when_covered) {
  const Policy p = make_policy("  formats.require_safetensors: {}\n");
  EvaluationInput in = good_input();
  in.trust.pickle_files = {"pytorch_model.bin"};
  in.files.push_back(file_report("pytorch_model.bin", Format::pytorch_zip));
  Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "formats.require_safetensors"), Outcome::block);
  BOOST_CHECK(!d.admits("pytorch_model.bin"));
  BOOST_CHECK(d.admits("model.safetensors"));

  // Before download: judged by name from the Hub's file list.
  in.files.clear();
  in.trust.files.push_back(file_signal("pytorch_model.bin", 1000));
  d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "formats.require_safetensors"), Outcome::block);
  BOOST_CHECK(!d.admits("pytorch_model.bin"));

  // The repository offers no safetensors: the rule does not apply.
  in.trust.safetensors_coverage = trust::SafetensorsCoverage::none;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "formats.require_safetensors"),
                    Outcome::not_applicable);
  in.trust.safetensors_coverage = trust::SafetensorsCoverage::partial;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "formats.require_safetensors"),
                    Outcome::not_applicable);

  // Covered and no pickle taken (e.g. --exclude '*.bin'): pass.
  EvaluationInput excluded = good_input();
  excluded.trust.pickle_files = {"pytorch_model.bin"};
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, excluded), "formats.require_safetensors"),
                    Outcome::pass);
}

BOOST_AUTO_TEST_CASE(pickle_needs_a_clean_scan_and_allowed_imports) {
  const auto judge = [](const Policy& p, std::vector<scan::Finding> findings) {
    EvaluationInput in = good_input();
    scan::FileReport f = file_report("model.pt", Format::pytorch_zip);
    f.objects.push_back(scan::ObjectReport{"archive/data.pkl", Format::pickle, 10, {}});
    f.findings = std::move(findings);
    in.files.push_back(f);
    return evaluate(p, in);
  };
  const Policy p = make_policy("  formats.pickle: {}\n");
  BOOST_CHECK_EQUAL(outcome_of(judge(p, {}), "formats.pickle"), Outcome::pass);
  BOOST_CHECK_EQUAL(
      outcome_of(judge(p, {finding("pickle.trailing_data", Severity::low)}), "formats.pickle"),
      Outcome::pass);  // at the default max_severity (low)
  BOOST_CHECK_EQUAL(
      outcome_of(judge(p, {finding("zip.trailing_data", Severity::medium)}), "formats.pickle"),
      Outcome::block);
  const Decision unknown =
      judge(p, {finding("pickle.import.unknown", Severity::medium, "foo.Bar")});
  BOOST_CHECK_EQUAL(outcome_of(unknown, "formats.pickle"), Outcome::block);
  BOOST_CHECK(!unknown.admits("model.pt"));
  BOOST_CHECK(unknown.find("formats.pickle")->evidence.find("foo.Bar") != std::string::npos);
  BOOST_CHECK_EQUAL(
      outcome_of(judge(p, {finding("pickle.import.denied", Severity::critical, "posix.system")}),
                 "formats.pickle"),
      Outcome::block);

  // The policy's own allow list vets an unknown import, in every rule.
  const Policy vetted = make_policy("  formats.pickle: {}\n  scan.max_severity:\n    max: low\n",
                                    "allowed_pickle_imports: [\"foo.*\"]\n");
  const Decision ok =
      judge(vetted, {finding("pickle.import.unknown", Severity::medium, "foo.Bar")});
  BOOST_CHECK_EQUAL(outcome_of(ok, "formats.pickle"), Outcome::pass);
  BOOST_CHECK_EQUAL(outcome_of(ok, "scan.max_severity"), Outcome::pass);
  // ...but never a denied one, and matching is case-sensitive.
  BOOST_CHECK_EQUAL(
      outcome_of(judge(vetted, {finding("pickle.import.denied", Severity::high, "foo.system")}),
                 "formats.pickle"),
      Outcome::block);
  BOOST_CHECK_EQUAL(
      outcome_of(judge(vetted, {finding("pickle.import.unknown", Severity::medium, "Foo.Bar")}),
                 "formats.pickle"),
      Outcome::block);

  const Policy strict = make_policy("  formats.pickle:\n    max_severity: info\n");
  BOOST_CHECK_EQUAL(
      outcome_of(judge(strict, {finding("pickle.trailing_data", Severity::low)}), "formats.pickle"),
      Outcome::block);
}

BOOST_AUTO_TEST_CASE(scan_max_severity_is_inclusive) {
  const Policy p = make_policy("  scan.max_severity:\n    max: medium\n");
  EvaluationInput in = good_input();
  in.files[0].findings = {finding("safetensors.oddity", Severity::medium)};
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "scan.max_severity"), Outcome::pass);
  in.files[0].findings.push_back(finding("safetensors.bad", Severity::high));
  const Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "scan.max_severity"), Outcome::block);
  BOOST_CHECK(!d.admits("model.safetensors"));
  BOOST_CHECK(d.admits("config.json"));
  BOOST_REQUIRE_EQUAL(d.files.size(), 3u);
  const auto& f = *std::find_if(d.files.begin(), d.files.end(), [](const FileDecision& x) {
    return x.path == "model.safetensors";
  });
  BOOST_REQUIRE_EQUAL(f.reasons.size(), 1u);
  BOOST_CHECK_EQUAL(f.reasons[0].rule, "scan.max_severity");
  BOOST_CHECK(f.reasons[0].evidence.find("safetensors.bad") != std::string::npos);
  BOOST_CHECK(!f.reasons[0].remediation.empty());
}

BOOST_AUTO_TEST_CASE(hub_flagged_uses_the_level_and_only_admitted_files) {
  const Policy p = make_policy("  scan.hub_flagged: {}\n");
  EvaluationInput in = good_input();
  in.trust.files[0].hub_status = hub::ScanStatus::caution;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "scan.hub_flagged"), Outcome::pass);
  in.trust.files[0].hub_status = hub::ScanStatus::suspicious;
  Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "scan.hub_flagged"), Outcome::block);
  BOOST_CHECK(!d.admits("model.safetensors"));

  const Policy cautious = make_policy("  scan.hub_flagged:\n    min_level: caution\n");
  in.trust.files[0].hub_status = hub::ScanStatus::caution;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(cautious, in), "scan.hub_flagged"), Outcome::block);

  // A flagged file the user excluded from the pull does not block it.
  EvaluationInput excluded = good_input();
  excluded.trust.files.push_back(file_signal("evil.bin", 10, hub::ScanStatus::unsafe));
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, excluded), "scan.hub_flagged"), Outcome::pass);
  // ...but before download every listed file counts.
  excluded.files.clear();
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, excluded), "scan.hub_flagged"), Outcome::block);
}

BOOST_AUTO_TEST_CASE(hub_unscanned_warns_by_default_and_can_block) {
  EvaluationInput in = good_input();
  in.trust.files[0].hub_status = hub::ScanStatus::queued;
  in.trust.files[1].hub_status = hub::ScanStatus::unknown;  // config.json: not a model file
  const Decision warn = evaluate(make_policy("  scan.hub_unscanned: {}\n"), in);
  BOOST_CHECK_EQUAL(outcome_of(warn, "scan.hub_unscanned"), Outcome::warn);
  BOOST_CHECK_EQUAL(warn.verdict, Verdict::warn);
  BOOST_CHECK(warn.admits("model.safetensors"));
  BOOST_CHECK(warn.find("scan.hub_unscanned")->files ==
              std::vector<std::string>{"model.safetensors"});
  const Decision block = evaluate(make_policy("  scan.hub_unscanned:\n    severity: block\n"), in);
  BOOST_CHECK_EQUAL(outcome_of(block, "scan.hub_unscanned"), Outcome::block);
  BOOST_CHECK(!block.admits("model.safetensors"));
  in.trust.files[0].hub_status = hub::ScanStatus::safe;
  BOOST_CHECK_EQUAL(
      outcome_of(evaluate(make_policy("  scan.hub_unscanned: {}\n"), in), "scan.hub_unscanned"),
      Outcome::pass);
}

BOOST_AUTO_TEST_CASE(author_allow_and_deny_lists) {
  const Policy allow =
      make_policy("  provenance.allowed_authors:\n    authors: [google, \"good-*\"]\n");
  EvaluationInput in = good_input();
  BOOST_CHECK_EQUAL(outcome_of(evaluate(allow, in), "provenance.allowed_authors"), Outcome::pass);
  in.trust.author = "Good-Org";  // Hub names compare without case
  BOOST_CHECK_EQUAL(outcome_of(evaluate(allow, in), "provenance.allowed_authors"), Outcome::pass);
  in.trust.author = "someone";
  const Decision d = evaluate(allow, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "provenance.allowed_authors"), Outcome::block);
  BOOST_CHECK(d.repository_verdict == Verdict::block);
  BOOST_CHECK(!d.admits("model.safetensors"));  // a repository block admits nothing

  const Policy deny = make_policy("  provenance.denied_authors:\n    authors: [\"some*\"]\n");
  BOOST_CHECK_EQUAL(outcome_of(evaluate(deny, in), "provenance.denied_authors"), Outcome::block);
  in.trust.author = "good-org";
  BOOST_CHECK_EQUAL(outcome_of(evaluate(deny, in), "provenance.denied_authors"), Outcome::pass);
}

BOOST_AUTO_TEST_CASE(gated_and_private_repositories) {
  const Policy p =
      make_policy("  provenance.gated: {}\n  provenance.private:\n    severity: block\n");
  EvaluationInput in = good_input();
  Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "provenance.gated"), Outcome::pass);
  BOOST_CHECK_EQUAL(outcome_of(d, "provenance.private"), Outcome::pass);
  in.trust.gated = "manual";
  in.trust.is_private = true;
  d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "provenance.gated"), Outcome::warn);  // default warn
  BOOST_CHECK_EQUAL(outcome_of(d, "provenance.private"), Outcome::block);
  in.trust.gated = "unknown";  // a restriction we cannot read is still one
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "provenance.gated"), Outcome::warn);
}

BOOST_AUTO_TEST_CASE(min_age_boundary_is_exactly_n_days) {
  const Policy p = make_policy("  provenance.min_age:\n    days: 7\n");
  EvaluationInput in = good_input();
  in.trust.days_since_last_commit = 7;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "provenance.min_age"), Outcome::pass);
  in.trust.days_since_last_commit = 6;
  const Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "provenance.min_age"), Outcome::block);
  BOOST_CHECK(d.find("provenance.min_age")->evidence.find("6 days old") != std::string::npos);
  in.trust.days_since_last_commit = 0;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "provenance.min_age"), Outcome::block);
  in.trust.days_since_last_commit.reset();  // unknown age is not old enough
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "provenance.min_age"), Outcome::block);
  const Policy zero = make_policy("  provenance.min_age:\n    days: 0\n");
  in.trust.days_since_last_commit = 0;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(zero, in), "provenance.min_age"), Outcome::pass);
}

BOOST_AUTO_TEST_CASE(pinned_commit_needs_a_full_commit) {
  const Policy p = make_policy("  provenance.pinned_commit: {}\n");
  EvaluationInput in = good_input();
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "provenance.pinned_commit"), Outcome::pass);
  for (const char* rev : {"main", "v1.0", "0123456789abcdef", "", "refs/pr/3"}) {
    in.requested_revision = rev;
    BOOST_CHECK_MESSAGE(outcome_of(evaluate(p, in), "provenance.pinned_commit") == Outcome::block,
                        rev);
  }
}

BOOST_AUTO_TEST_CASE(community_minimums_are_inclusive) {
  const Policy p =
      make_policy("  community.min_downloads:\n    min: 100\n  community.min_likes:\n    min: 5\n");
  EvaluationInput in = good_input();
  in.trust.downloads = 100;
  in.trust.likes = 5;
  Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "community.min_downloads"), Outcome::pass);
  BOOST_CHECK_EQUAL(outcome_of(d, "community.min_likes"), Outcome::pass);
  in.trust.downloads = 99;
  in.trust.likes = 4;
  d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "community.min_downloads"), Outcome::warn);  // default warn
  BOOST_CHECK_EQUAL(outcome_of(d, "community.min_likes"), Outcome::warn);
  BOOST_CHECK(d.verdict == Verdict::warn);
  in.trust.downloads.reset();  // the Hub did not say: not shown to be enough
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "community.min_downloads"), Outcome::warn);
}

BOOST_AUTO_TEST_CASE(model_card_required) {
  const Policy p = make_policy("  documentation.model_card: {}\n");
  EvaluationInput in = good_input();
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "documentation.model_card"), Outcome::pass);
  in.trust.card_present = false;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "documentation.model_card"), Outcome::warn);
}

BOOST_AUTO_TEST_CASE(licence_allow_and_deny_lists) {
  const Policy p = make_policy(
      "  license.allowed:\n    licenses: [apache-2.0, \"bsd-*\", cc-by-nc-4.0]\n"
      "  license.denied:\n    licenses: [\"cc-by-nc-*\"]\n");
  EvaluationInput in = good_input();
  Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "license.allowed"), Outcome::pass);
  BOOST_CHECK_EQUAL(outcome_of(d, "license.denied"), Outcome::pass);
  in.trust.license = "BSD-3-Clause";
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "license.allowed"), Outcome::pass);
  in.trust.license = "llama2";
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "license.allowed"), Outcome::block);
  in.trust.license = "";
  d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "license.allowed"), Outcome::block);  // no licence fails
  BOOST_CHECK_EQUAL(outcome_of(d, "license.denied"), Outcome::pass);
  in.trust.license = "cc-by-nc-4.0";  // allowed, but denied wins
  d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "license.allowed"), Outcome::pass);
  BOOST_CHECK_EQUAL(outcome_of(d, "license.denied"), Outcome::block);
  in.trust.license = "apache-2.0, llama2";  // every declared licence must be allowed
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "license.allowed"), Outcome::block);
}

BOOST_AUTO_TEST_CASE(custom_code_needs_approval) {
  const Policy p = make_policy("  code.custom_code:\n    approved_repos: [\"trusted/*\"]\n");
  EvaluationInput in = good_input();
  in.approval = ApprovalStatus::not_approved;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "code.custom_code"), Outcome::pass);

  in.trust.custom_code = true;
  in.trust.custom_code_evidence = {"config.json auto_map: {...}", "modeling.py"};
  in.files.push_back(file_report("modeling.py", Format::python_source));
  Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "code.custom_code"), Outcome::block);
  BOOST_CHECK(d.repository_verdict == Verdict::block);
  BOOST_CHECK(d.find("code.custom_code")->files == std::vector<std::string>{"modeling.py"});

  // Custom code found only by the scan (auto_map in config.json) counts too.
  EvaluationInput scanned = good_input();
  scanned.approval = ApprovalStatus::not_approved;
  scanned.files[1].findings = {finding("code.auto_map", Severity::low)};
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, scanned), "code.custom_code"), Outcome::block);

  in.approval = ApprovalStatus::approved;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "code.custom_code"), Outcome::pass);
  in.approval = ApprovalStatus::invalidated;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "code.custom_code"), Outcome::block);
  in.trust.repo = "Trusted/model";
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "code.custom_code"), Outcome::pass);
}

BOOST_AUTO_TEST_CASE(size_limits_are_inclusive) {
  const Policy p =
      make_policy("  size.max_total:\n    max: 5010\n  size.max_file:\n    max: 4000\n");
  EvaluationInput in = good_input();  // files: 1000 + 10 + 4000
  Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "size.max_total"), Outcome::pass);
  BOOST_CHECK_EQUAL(outcome_of(d, "size.max_file"), Outcome::pass);
  in.files[2].size = 4001;
  d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "size.max_total"), Outcome::block);
  BOOST_CHECK_EQUAL(outcome_of(d, "size.max_file"), Outcome::block);
  BOOST_CHECK(!d.admits("README.md"));
  // Before download the Hub's sizes are used.
  in.files.clear();
  in.trust.total_size = 5011;
  d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "size.max_total"), Outcome::block);
  BOOST_CHECK_EQUAL(outcome_of(d, "size.max_file"), Outcome::pass);
  const Policy human = make_policy("  size.max_file:\n    max: 1KiB\n");
  BOOST_CHECK_EQUAL(human.rules.size_max_file->max_bytes, 1024u);
}

BOOST_AUTO_TEST_CASE(approval_status) {
  const Policy p = make_policy("  approval.required: {}\n");
  EvaluationInput in = good_input();
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "approval.required"), Outcome::pass);
  in.approval = ApprovalStatus::not_approved;
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "approval.required"), Outcome::block);
  in.approval = ApprovalStatus::invalidated;
  const Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "approval.required"), Outcome::block);
  BOOST_CHECK(d.find("approval.required")->evidence.find("invalidated") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(approval_detail_reaches_evidence_and_json) {
  const Policy p = make_policy("  approval.required: {}\n  code.custom_code: {}\n");
  EvaluationInput in = good_input();
  in.trust.custom_code = true;
  in.trust.custom_code_evidence = {"modeling.py"};
  in.approval = ApprovalStatus::approved;
  in.approval_detail = "approved by alice on 2026-11-26 17:00 UTC: reviewed";
  Decision d = evaluate(p, in);
  BOOST_CHECK(d.verdict == Verdict::allow);
  BOOST_CHECK(d.approval == ApprovalStatus::approved);
  BOOST_CHECK(d.find("approval.required")->evidence.find("(approved by alice") !=
              std::string::npos);
  BOOST_CHECK(d.find("code.custom_code")->evidence.find("is approved (approved by alice") !=
              std::string::npos);
  const nlohmann::json j = to_json(d);
  BOOST_CHECK_EQUAL(j["approval"]["status"], "approved");
  BOOST_CHECK_EQUAL(j["approval"]["detail"], in.approval_detail);

  in.approval = ApprovalStatus::invalidated;
  in.approval_detail = "modeling.py changed";
  d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "code.custom_code"), Outcome::block);
  BOOST_CHECK(d.find("code.custom_code")->evidence.find("no longer holds (modeling.py changed)") !=
              std::string::npos);
  BOOST_CHECK_EQUAL(to_json(d)["approval"]["status"], "invalidated");
}

BOOST_AUTO_TEST_CASE(builtin_default_blocks_a_malicious_pickle) {
  auto p = load_policy_file(std::string(HFAUDIT_SOURCE_DIR) + "/policies/default.yaml");
  BOOST_REQUIRE(p);
  EvaluationInput in = good_input();
  in.trust.safetensors_coverage = trust::SafetensorsCoverage::none;
  scan::FileReport evil = file_report("evil.bin", Format::pickle);
  evil.findings = {finding("pickle.call.denied", Severity::critical, "posix.system")};
  in.files = {evil, file_report("README.md", Format::text)};
  const Decision d = evaluate(*p, in);
  BOOST_CHECK(d.verdict == Verdict::block);
  BOOST_CHECK(!d.admits("evil.bin"));
  BOOST_CHECK(d.admits("README.md"));
  const nlohmann::json j = to_json(d);
  BOOST_CHECK_EQUAL(j["verdict"], "block");
  BOOST_CHECK_EQUAL(j["policy"]["name"], "default");
  BOOST_CHECK(j["files"].is_array());
  BOOST_CHECK(j["rules"].size() == d.rules.size());
}

BOOST_AUTO_TEST_SUITE_END()
