// Policy selection: --policy, then HFAUDIT_POLICY, then $HFAUDIT_HOME/policy.yaml
// if present, then the built-in default.
#include "policies/selection.hpp"

#include <boost/test/unit_test.hpp>

#include "policies/builtin.hpp"

using namespace hfaudit::policies;

BOOST_AUTO_TEST_SUITE(selection_test)

BOOST_AUTO_TEST_CASE(precedence_flag_env_home_builtin) {
  struct Case {
    const char* flag;
    const char* env;
    const char* home;
    HomePolicy present;
    PolicySource source;
    const char* path;
  };
  const Case cases[] = {
      {"f.yaml", "e.yaml", "/h", HomePolicy::present, PolicySource::flag, "f.yaml"},
      {"", "e.yaml", "/h", HomePolicy::present, PolicySource::environment, "e.yaml"},
      {"", "", "/h", HomePolicy::present, PolicySource::home, "/h/policy.yaml"},
      {"", "", "/h/", HomePolicy::present, PolicySource::home, "/h/policy.yaml"},
      {"", "", "/h", HomePolicy::absent, PolicySource::builtin, ""},
      {"", "", "", HomePolicy::present, PolicySource::builtin, ""},
      {"f.yaml", "", "", HomePolicy::absent, PolicySource::flag, "f.yaml"},
  };
  for (const auto& c : cases) {
    const PolicyChoice choice = select_policy(c.flag, c.env, c.home, c.present);
    BOOST_CHECK_EQUAL(to_string(choice.source), to_string(c.source));
    BOOST_CHECK_EQUAL(choice.path, c.path);
  }
}

BOOST_AUTO_TEST_CASE(builtin_choice_loads_the_embedded_default) {
  auto p = load_policy(select_policy("", "", "", HomePolicy::absent));
  BOOST_REQUIRE(p);
  BOOST_CHECK_EQUAL(p->name, "default");
  BOOST_CHECK_EQUAL(p->sha256, std::string(builtin_default_policy_sha256()));
}

BOOST_AUTO_TEST_CASE(a_chosen_missing_file_fails_instead_of_falling_back) {
  auto p = load_policy(select_policy("/nonexistent/p.yaml", "", "", HomePolicy::absent));
  BOOST_REQUIRE(!p);
  BOOST_CHECK(p.error().code == hfaudit::util::ErrorCode::not_found);
}

BOOST_AUTO_TEST_SUITE_END()
