// Shared builders for the policy engine tests: a trustworthy repository that
// passes every rule, scan reports, and policies written as YAML.
#pragma once

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

#include "policies/engine.hpp"
#include "policies/policy.hpp"

namespace hfaudit::policies::test {

inline constexpr const char* k_commit = "0123456789abcdef0123456789abcdef01234567";
inline constexpr const char* k_other_commit = "fedcba9876543210fedcba9876543210fedcba98";

// 2025-06-15T12:00:00Z
inline constexpr int64_t k_now = 1749988800;

inline trust::FileSignal file_signal(const std::string& path, uint64_t size,
                                     hub::ScanStatus status = hub::ScanStatus::safe) {
  trust::FileSignal f;
  f.path = path;
  f.size = size;
  f.kind = trust::classify_by_name(path);
  f.hub_status = status;
  return f;
}

// A repository every shipped rule is happy with.
inline trust::TrustReport good_trust() {
  trust::TrustReport t;
  t.repo = "good-org/model";
  t.revision = k_commit;
  t.commit = k_commit;
  t.author = "good-org";
  t.author_kind = hub::AuthorKind::organization;
  t.last_modified = "2025-01-01T00:00:00.000Z";
  t.days_since_created = 400;
  t.days_since_last_commit = 165;
  t.gated = "no";
  t.downloads = 5000;
  t.likes = 40;
  t.card_present = true;
  t.card_size = 4000;
  t.card_has_metadata = true;
  t.license = "apache-2.0";
  t.license_known_open = true;
  t.files = {file_signal("model.safetensors", 1000), file_signal("config.json", 10),
             file_signal("README.md", 4000)};
  t.safetensors_coverage = trust::SafetensorsCoverage::full;
  t.total_size = 5010;
  t.file_count = 3;
  t.hub_scans_done = true;
  return t;
}

inline scan::FileReport file_report(const std::string& path, scan::Format format,
                                    uint64_t size = 100) {
  scan::FileReport f;
  f.path = path;
  f.size = size;
  f.format = format;
  f.objects.push_back(scan::ObjectReport{"", format, size, nlohmann::json::object()});
  return f;
}

inline scan::Finding finding(const std::string& rule, scan::Severity severity,
                             const std::string& subject = {}) {
  scan::Finding f;
  f.rule = rule;
  f.severity = severity;
  f.subject = subject;
  f.message = rule;
  return f;
}

inline std::vector<scan::FileReport> good_files() {
  return {file_report("model.safetensors", scan::Format::safetensors, 1000),
          file_report("config.json", scan::Format::json, 10),
          file_report("README.md", scan::Format::text, 4000)};
}

inline EvaluationInput good_input() {
  EvaluationInput in;
  in.trust = good_trust();
  in.files = good_files();
  in.requested_revision = k_commit;
  in.now_unix = k_now;
  in.approval = ApprovalStatus::approved;
  return in;
}

// `body` goes under `rules:` (indented by the caller, two spaces); `tail`
// after it (waivers, allowed_pickle_imports).
inline Policy make_policy(const std::string& body, const std::string& tail = {}) {
  const std::string text = "version: 1\nname: test\nrules:\n" + body + tail;
  auto p = parse_policy(text, "test.yaml");
  BOOST_REQUIRE_MESSAGE(p.ok(), (p ? std::string() : p.error().message) << "\n" << text);
  return std::move(p).value();
}

inline Outcome outcome_of(const Decision& d, const std::string& id) {
  const RuleResult* r = d.find(id);
  BOOST_REQUIRE_MESSAGE(r, "no result for " << id);
  return r->outcome;
}

}  // namespace hfaudit::policies::test

// Boost.Test prints enums through these.
namespace hfaudit::policies {
inline std::ostream& boost_test_print_type(std::ostream& os, Outcome o) {
  return os << to_string(o);
}
inline std::ostream& boost_test_print_type(std::ostream& os, Verdict v) {
  return os << to_string(v);
}
}  // namespace hfaudit::policies
