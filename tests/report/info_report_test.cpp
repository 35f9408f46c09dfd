// The hfaudit.info/1 rendering: envelope first, documented key order, a report's facts.
#include "report/info_report.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

using namespace hfaudit;

namespace {

trust::TrustReport sample() {
  trust::TrustInput in;
  in.requested_revision = "main";
  in.info.id = "org/name";
  in.info.sha = std::string(40, 'a');
  hub::TreeEntry readme;
  readme.type = hub::EntryType::file;
  readme.path = "README.md";
  readme.size = 10;
  in.tree.push_back(readme);
  return trust::assess(in);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(info_report_test)

BOOST_AUTO_TEST_CASE(schema_and_version_come_first_then_the_documented_order) {
  const std::string text = report::render_info_json(sample());
  const auto doc = nlohmann::ordered_json::parse(text);
  std::vector<std::string> keys;
  for (const auto& [key, value] : doc.items()) keys.push_back(key);
  const std::vector<std::string> expected = {"schema",       "hfaudit_version", "repo",
                                             "revision",     "commit",          "provenance",
                                             "community",    "content",         "documentation",
                                             "hub_security", "risk_factors",    "overall_risk"};
  BOOST_TEST(keys == expected, nlohmann::json(keys).dump());
  BOOST_TEST(doc["schema"] == "hfaudit.info/1");
  BOOST_TEST(doc["commit"] == std::string(40, 'a'));
  BOOST_TEST(text.back() == '\n');
}

BOOST_AUTO_TEST_SUITE_END()
