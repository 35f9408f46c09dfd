// Waivers: they expire by themselves (judged against `now`), apply only to
// their repository, commit and rules, and every decision says why.
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

using namespace hfaudit;
using namespace hfaudit::policies;
using namespace hfaudit::policies::test;

namespace {

constexpr int64_t k_day = 86400;
// 2025-06-30T00:00:00Z, the expiry day used below.
constexpr int64_t k_expiry_day = 1751241600;

Policy waived_policy(const std::string& waiver_fields) {
  return make_policy("  provenance.min_age:\n    days: 30\n  community.min_likes:\n    min: 100\n",
                     "waivers:\n  - repo: good-org/model\n" + waiver_fields +
                         "    reason: reviewed by the security team\n"
                         "    owner: alice@example.com\n"
                         "    expires: 2025-06-30\n");
}

EvaluationInput young_repo(int64_t now) {
  EvaluationInput in = good_input();
  in.trust.days_since_last_commit = 3;  // fires provenance.min_age (block)
  in.trust.likes = 1000;                // community.min_likes passes
  in.now_unix = now;
  return in;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(waiver_test)

BOOST_AUTO_TEST_CASE(waiver_applies_the_day_before_and_the_day_of_expiry) {
  const Policy p = waived_policy("    rules: [provenance.min_age]\n");
  for (int64_t now : {k_expiry_day - k_day, k_expiry_day, k_expiry_day + k_day - 1}) {
    const Decision d = evaluate(p, young_repo(now));
    BOOST_CHECK_EQUAL(outcome_of(d, "provenance.min_age"), Outcome::waived);
    BOOST_CHECK_EQUAL(d.verdict, Verdict::allow);
    const RuleResult* r = d.find("provenance.min_age");
    BOOST_REQUIRE(r->waiver);
    BOOST_CHECK_EQUAL(r->waiver->owner, "alice@example.com");
    BOOST_CHECK_EQUAL(r->waiver->expires, "2025-06-30");
    BOOST_CHECK(r->evidence.find("reviewed by the security team") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(waiver_stops_applying_the_day_after) {
  const Policy p = waived_policy("    rules: [provenance.min_age]\n");
  for (int64_t now : {k_expiry_day + k_day, k_expiry_day + 10 * k_day}) {
    const Decision d = evaluate(p, young_repo(now));
    BOOST_CHECK_EQUAL(outcome_of(d, "provenance.min_age"), Outcome::block);
    BOOST_CHECK_EQUAL(d.verdict, Verdict::block);
    BOOST_REQUIRE_EQUAL(d.notes.size(), 1u);
    BOOST_CHECK(d.notes[0].find("expired") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(waiver_for_another_commit_does_not_apply) {
  const Policy other =
      waived_policy(std::string("    commit: ") + k_other_commit + "\n    rules: all\n");
  Decision d = evaluate(other, young_repo(k_expiry_day));
  BOOST_CHECK_EQUAL(outcome_of(d, "provenance.min_age"), Outcome::block);
  BOOST_REQUIRE(!d.notes.empty());
  BOOST_CHECK(d.notes[0].find(k_other_commit) != std::string::npos);

  const Policy same = waived_policy(std::string("    commit: ") + k_commit + "\n    rules: all\n");
  d = evaluate(same, young_repo(k_expiry_day));
  BOOST_CHECK_EQUAL(outcome_of(d, "provenance.min_age"), Outcome::waived);
}

BOOST_AUTO_TEST_CASE(waiver_covers_only_the_rules_it_names) {
  const Policy p = waived_policy("    rules: [community.min_likes]\n");
  EvaluationInput in = young_repo(k_expiry_day);
  in.trust.likes = 1;
  const Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "community.min_likes"), Outcome::waived);
  BOOST_CHECK_EQUAL(outcome_of(d, "provenance.min_age"), Outcome::block);

  const Decision all = evaluate(waived_policy("    rules: all\n"), in);
  BOOST_CHECK_EQUAL(outcome_of(all, "community.min_likes"), Outcome::waived);
  BOOST_CHECK_EQUAL(outcome_of(all, "provenance.min_age"), Outcome::waived);
  BOOST_CHECK_EQUAL(all.verdict, Verdict::allow);
}

BOOST_AUTO_TEST_CASE(waiver_for_another_repository_does_not_apply) {
  const Policy p = waived_policy("    rules: all\n");
  EvaluationInput in = young_repo(k_expiry_day);
  in.trust.repo = "good-org/other-model";
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "provenance.min_age"), Outcome::block);
  in.trust.repo = "Good-Org/Model";  // Hub names compare without case
  BOOST_CHECK_EQUAL(outcome_of(evaluate(p, in), "provenance.min_age"), Outcome::waived);
}

BOOST_AUTO_TEST_CASE(waived_file_rule_admits_the_file) {
  const Policy p =
      make_policy("  scan.max_severity:\n    max: low\n",
                  "waivers:\n  - repo: \"good-org/*\"\n    rules: [scan.max_severity]\n"
                  "    reason: false positive, SEC-1\n    owner: bob\n"
                  "    expires: 2025-12-31\n");
  EvaluationInput in = good_input();
  in.files[0].findings = {finding("safetensors.bad", scan::Severity::high)};
  const Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "scan.max_severity"), Outcome::waived);
  BOOST_CHECK(d.admits("model.safetensors"));
  BOOST_CHECK_EQUAL(d.verdict, Verdict::allow);
  const auto& f = d.files[1];  // sorted: README.md, config.json, model.safetensors
  BOOST_CHECK_EQUAL(d.files[2].path, "model.safetensors");
  BOOST_REQUIRE_EQUAL(d.files[2].reasons.size(), 1u);
  BOOST_CHECK_EQUAL(d.files[2].reasons[0].outcome, Outcome::waived);
  BOOST_CHECK(f.reasons.empty());
}

BOOST_AUTO_TEST_CASE(passing_rules_are_not_waived) {
  const Policy p = waived_policy("    rules: all\n");
  EvaluationInput in = good_input();
  in.now_unix = k_expiry_day;
  const Decision d = evaluate(p, in);
  BOOST_CHECK_EQUAL(outcome_of(d, "provenance.min_age"), Outcome::pass);
  BOOST_CHECK(!d.find("provenance.min_age")->waiver);
}

BOOST_AUTO_TEST_SUITE_END()
