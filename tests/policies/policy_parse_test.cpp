// Parsing and validating policy files: the shipped ones, the built-in copy,
// and every class of error with its file, line and key.
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "policies/builtin.hpp"
#include "policies/policy.hpp"
#include "util/hash.hpp"

using namespace hfaudit::policies;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string shipped(const std::string& name) {
  return std::string(HFAUDIT_SOURCE_DIR) + "/policies/" + name;
}

std::string error_of(const std::string& text) {
  auto p = parse_policy(text, "test.yaml");
  BOOST_REQUIRE_MESSAGE(!p.ok(), "expected an error for:\n" << text);
  BOOST_CHECK(p.error().code == hfaudit::util::ErrorCode::invalid_argument);
  return p.error().message;
}

const std::string k_head = "version: 1\nname: t\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_parse_test)

BOOST_AUTO_TEST_CASE(shipped_policies_parse) {
  for (const char* name : {"default.yaml", "strict.yaml", "example.yaml"}) {
    auto p = load_policy_file(shipped(name));
    BOOST_REQUIRE_MESSAGE(p.ok(), name << ": " << (p ? std::string() : p.error().message));
    BOOST_CHECK_EQUAL(p->version, 1);
    BOOST_CHECK(!p->rule_ids().empty());
    BOOST_CHECK_EQUAL(p->source, shipped(name));
    BOOST_CHECK_EQUAL(p->sha256, hfaudit::util::sha256_hex(read_file(shipped(name))));
  }
}

BOOST_AUTO_TEST_CASE(example_policy_shows_every_rule) {
  auto p = load_policy_file(shipped("example.yaml"));
  BOOST_REQUIRE(p);
  // Every catalogue rule parses into its own slot, listed in catalogue order.
  std::vector<std::string> catalogue;
  for (const auto& r : rule_catalogue()) catalogue.emplace_back(r.id);
  BOOST_CHECK(p->rule_ids() == catalogue);
  BOOST_CHECK_EQUAL(p->rules.license_denied->patterns.size(), 2u);
  BOOST_CHECK_EQUAL(p->rules.provenance_denied_authors->patterns.front(), "*-test");
  BOOST_CHECK_EQUAL(p->waivers.size(), 1u);
  BOOST_CHECK_EQUAL(p->allowed_pickle_imports.size(), 2u);
}

BOOST_AUTO_TEST_CASE(builtin_default_equals_the_shipped_file) {
  const std::string text = read_file(shipped("default.yaml"));
  BOOST_CHECK(builtin_default_policy_text() == text);
  BOOST_CHECK_EQUAL(std::string(builtin_default_policy_sha256()), hfaudit::util::sha256_hex(text));
  const Policy& p = builtin_default_policy();
  BOOST_CHECK_EQUAL(p.name, "default");
  BOOST_CHECK_EQUAL(p.sha256, hfaudit::util::sha256_hex(text));
  BOOST_CHECK_EQUAL(p.source, std::string(k_builtin_default_source));
}

BOOST_AUTO_TEST_CASE(rule_defaults_and_overrides) {
  auto p = parse_policy(k_head +
                            "rules:\n"
                            "  provenance.min_age:\n"
                            "    days: 3\n"
                            "  community.min_downloads:\n"
                            "    min: 10\n"
                            "    severity: block\n"
                            "    remediation: ask security\n",
                        "t.yaml");
  BOOST_REQUIRE_MESSAGE(p.ok(), (p ? std::string() : p.error().message));
  BOOST_REQUIRE(p->rules.provenance_min_age);
  BOOST_CHECK(p->rules.provenance_min_age->action == Action::block);  // the rule's default
  BOOST_CHECK_EQUAL(p->rules.provenance_min_age->remediation,
                    std::string(find_rule("provenance.min_age")->default_remediation));
  BOOST_CHECK_EQUAL(p->rules.provenance_min_age->days, 3);
  BOOST_CHECK_EQUAL(p->rules.provenance_min_age->line, 4);
  BOOST_REQUIRE(p->rules.community_min_downloads);
  BOOST_CHECK(p->rules.community_min_downloads->action == Action::block);
  BOOST_CHECK_EQUAL(p->rules.community_min_downloads->remediation, "ask security");
  BOOST_CHECK(!p->rules.size_max_file);  // absent rules are off
}

BOOST_AUTO_TEST_CASE(every_catalogue_rule_has_defaults) {
  for (const auto& r : rule_catalogue()) {
    BOOST_CHECK_MESSAGE(!r.default_remediation.empty(), r.id);
    BOOST_CHECK_MESSAGE(!r.summary.empty(), r.id);
  }
}

struct BadCase {
  const char* text;
  int line;
  const char* key;
  const char* why;  // substring of the reason
};

BOOST_AUTO_TEST_CASE(malformed_policies_name_file_line_and_key) {
  const BadCase cases[] = {
      // document level
      {"", 1, "version", "empty"},
      {"- a\n- b\n", 1, "(document)", "expected a mapping"},
      {"name: t\nrules: {}\n", 1, "version", "required key is missing"},
      {"version: 2\nname: t\nrules: {}\n", 1, "version", "unsupported version '2'"},
      {"version: one\nname: t\nrules: {}\n", 1, "version", "unsupported version 'one'"},
      {"version: 1\nrules: {}\n", 1, "name", "required key is missing"},
      {"version: 1\nname: t\n", 1, "rules", "required key is missing"},
      {"version: 1\nname: t\nrules: {}\ncolour: red\n", 4, "colour", "unknown key"},
      {"version: 1\nname: t\nname: u\nrules: {}\n", 3, "name", "duplicate key"},
      {"version: 1\nname: [a]\nrules: {}\n", 2, "name", "expected a string"},
      {"version: 1\nname: t\nrules: [a]\n", 3, "rules", "expected a mapping"},
      // YAML syntax
      {"version: 1\nname: t\nrules:\n  a: [\n", 5, "(yaml syntax)", ""},
      // rule ids and keys
      {"version: 1\nname: t\nrules:\n  formats.allowd:\n    formats: [gguf]\n", 4,
       "rules.formats.allowd", "unknown rule id"},
      {"version: 1\nname: t\nrules:\n  provenance.min_age:\n    day: 3\n", 4,
       "rules.provenance.min_age.days", "required key is missing"},
      {"version: 1\nname: t\nrules:\n  provenance.min_age:\n    days: 3\n    dayz: 4\n", 6,
       "rules.provenance.min_age.dayz", "unknown key"},
      {"version: 1\nname: t\nrules:\n  documentation.model_card:\n", 4,
       "rules.documentation.model_card", "expected a mapping, got nothing"},
      // wrong types
      {"version: 1\nname: t\nrules:\n  provenance.min_age:\n    days: seven\n", 5,
       "rules.provenance.min_age.days", "expected a whole number"},
      {"version: 1\nname: t\nrules:\n  provenance.min_age:\n    days: -1\n", 5,
       "rules.provenance.min_age.days", "expected a whole number"},
      {"version: 1\nname: t\nrules:\n  community.min_likes:\n    min: [1]\n", 5,
       "rules.community.min_likes.min", "expected a whole number"},
      {"version: 1\nname: t\nrules:\n  formats.forbidden:\n    formats: pickle\n", 5,
       "rules.formats.forbidden.formats", "expected a list"},
      {"version: 1\nname: t\nrules:\n  formats.forbidden:\n    formats: []\n", 5,
       "rules.formats.forbidden.formats", "empty"},
      // bad values
      {"version: 1\nname: t\nrules:\n  formats.forbidden:\n    formats:\n      - pickle\n      - "
       "pikle\n",
       7, "rules.formats.forbidden.formats[1]", "unknown format 'pikle'"},
      {"version: 1\nname: t\nrules:\n  scan.max_severity:\n    max: severe\n", 5,
       "rules.scan.max_severity.max", "expected one of info, low"},
      {"version: 1\nname: t\nrules:\n  scan.max_severity:\n    max: low\n    severity: deny\n", 6,
       "rules.scan.max_severity.severity", "expected 'block' or 'warn'"},
      {"version: 1\nname: t\nrules:\n  scan.hub_flagged:\n    min_level: bad\n", 5,
       "rules.scan.hub_flagged.min_level", "expected one of caution"},
      {"version: 1\nname: t\nrules:\n  size.max_file:\n    max: 10 gigs\n", 5,
       "rules.size.max_file.max", "expected a size"},
      {"version: 1\nname: t\nrules:\n  size.max_total:\n    max: 1.5GiB\n", 5,
       "rules.size.max_total.max", "expected a size"},
      {"version: 1\nname: t\nrules:\n  documentation.model_card:\n    remediation: \"\"\n", 5,
       "rules.documentation.model_card.remediation", "must not be empty"},
      // bad globs
      {"version: 1\nname: t\nrules:\n  provenance.allowed_authors:\n    authors: [\"org/x\"]\n", 5,
       "rules.provenance.allowed_authors.authors[0]", "bad pattern 'org/x'"},
      {"version: 1\nname: t\nrules:\n  provenance.denied_authors:\n    authors: [\"[ab]c\"]\n", 5,
       "rules.provenance.denied_authors.authors[0]", "character '['"},
      {"version: 1\nname: t\nrules:\n  code.custom_code:\n    approved_repos: [\"org\"]\n", 5,
       "rules.code.custom_code.approved_repos[0]", "expected org/name"},
      {"version: 1\nname: t\nrules:\n  license.allowed:\n    licenses: [\"mit **\"]\n", 5,
       "rules.license.allowed.licenses[0]", "bad pattern"},
      {"version: 1\nname: t\nallowed_pickle_imports: [\"os system\"]\nrules: {}\n", 3,
       "allowed_pickle_imports[0]", "bad pattern"},
      // waivers
      {"version: 1\nname: t\nrules: {}\nwaivers:\n  - repo: a/b\n    rules: all\n    reason: r\n"
       "    owner: o\n    expires: 2025-02-30\n",
       9, "waivers[0].expires", "expected a date YYYY-MM-DD"},
      {"version: 1\nname: t\nrules: {}\nwaivers:\n  - repo: a/b\n    rules: all\n    reason: r\n"
       "    owner: o\n    expires: 30/06/2025\n",
       9, "waivers[0].expires", "expected a date"},
      {"version: 1\nname: t\nrules: {}\nwaivers:\n  - repo: a/b\n    rules: all\n    reason: r\n"
       "    owner: o\n",
       5, "waivers[0].expires", "required key is missing"},
      {"version: 1\nname: t\nrules: {}\nwaivers:\n  - repo: a/b\n    rules: [scan.max]\n"
       "    reason: r\n    owner: o\n    expires: 2025-01-01\n",
       6, "waivers[0].rules[0]", "unknown rule id 'scan.max'"},
      {"version: 1\nname: t\nrules: {}\nwaivers:\n  - repo: a/b\n    rules: some\n"
       "    reason: r\n    owner: o\n    expires: 2025-01-01\n",
       6, "waivers[0].rules", "expected a list of rule ids or 'all'"},
      {"version: 1\nname: t\nrules: {}\nwaivers:\n  - repo: a/b\n    commit: abc123\n    rules: "
       "all\n    reason: r\n    owner: o\n    expires: 2025-01-01\n",
       6, "waivers[0].commit", "full 40-character commit"},
      {"version: 1\nname: t\nrules: {}\nwaivers:\n  - repo: a/b\n    rules: all\n    reason: r\n"
       "    owner: o\n    expires: 2025-01-01\n    approved_by: x\n",
       10, "waivers[0].approved_by", "unknown key"},
      {"version: 1\nname: t\nrules: {}\nwaivers:\n  - repo: ab\n    rules: all\n    reason: r\n"
       "    owner: o\n    expires: 2025-01-01\n",
       5, "waivers[0].repo", "expected org/name"},
      {"version: 1\nname: t\nrules: {}\nwaivers:\n  - repo: a/b\n    rules: all\n    reason: \" "
       "\"\n    owner: o\n    expires: 2025-01-01\n",
       7, "waivers[0].reason", "must not be empty"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of(c.text);
    const std::string prefix =
        "test.yaml:" + std::to_string(c.line) + ": " + std::string(c.key) + ": ";
    BOOST_CHECK_MESSAGE(message.rfind(prefix, 0) == 0,
                        "expected prefix '" << prefix << "', got '" << message << "'");
    BOOST_CHECK_MESSAGE(message.find(c.why) != std::string::npos,
                        "expected '" << c.why << "' in '" << message << "'");
  }
}

BOOST_AUTO_TEST_CASE(missing_file_is_not_found) {
  auto p = load_policy_file("/nonexistent/policy.yaml");
  BOOST_REQUIRE(!p);
  BOOST_CHECK(p.error().code == hfaudit::util::ErrorCode::not_found);
}

BOOST_AUTO_TEST_CASE(sizes_parse_with_human_units) {
  BOOST_CHECK_EQUAL(*parse_size("123"), 123u);
  BOOST_CHECK_EQUAL(*parse_size("10B"), 10u);
  BOOST_CHECK_EQUAL(*parse_size("2KB"), 2000u);
  BOOST_CHECK_EQUAL(*parse_size("500MB"), 500'000'000u);
  BOOST_CHECK_EQUAL(*parse_size("10GiB"), 10ull << 30);
  BOOST_CHECK_EQUAL(*parse_size("10 GiB"), 10ull << 30);
  BOOST_CHECK_EQUAL(*parse_size("1TiB"), 1ull << 40);
  BOOST_CHECK_EQUAL(*parse_size("3GB"), 3'000'000'000u);
  for (const char* bad : {"", "GiB", "1.5GiB", "10gib", "10 G", "-1", "99999999999TiB", "1e9"})
    BOOST_CHECK_MESSAGE(!parse_size(bad), bad);
}

BOOST_AUTO_TEST_CASE(dates_are_strict_calendar_days) {
  BOOST_CHECK_EQUAL(*parse_date("1970-01-01"), 0);
  BOOST_CHECK_EQUAL(*parse_date("2024-02-29"), 19782);
  for (const char* bad : {"2023-02-29", "2025-13-01", "2025-00-10", "2025-1-1", "2025/01/01",
                          "20250101", "2025-01-01T00:00"})
    BOOST_CHECK_MESSAGE(!parse_date(bad), bad);
}

BOOST_AUTO_TEST_CASE(globs_match_star_and_question_mark) {
  BOOST_CHECK(glob_match("*", "anything"));
  BOOST_CHECK(glob_match("org/*", "org/model"));
  BOOST_CHECK(glob_match("ORG/*", "org/model"));
  BOOST_CHECK(!glob_match("org/*", "other/model"));
  BOOST_CHECK(glob_match("bsd-?-clause", "bsd-3-clause"));
  BOOST_CHECK(!glob_match("bsd-?-clause", "bsd-clause"));
  BOOST_CHECK(glob_match("a*b*c", "axxbyyc"));
  BOOST_CHECK(!glob_match("a*b*c", "axxbyy"));
  BOOST_CHECK(glob_match("mit", "MIT"));
  BOOST_CHECK(!glob_match("collections.*", "Collections.X", Case::sensitive));
}

BOOST_AUTO_TEST_SUITE_END()
