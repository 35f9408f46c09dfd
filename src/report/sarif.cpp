#include "report/sarif.hpp"

namespace hfaudit::report {

std::string render_sarif_log(nlohmann::json rules, nlohmann::json results, bool successful,
                             nlohmann::json notifications,
                             const std::optional<std::string>& automation_id) {
  nlohmann::json run = {{"tool",
                         {{"driver",
                           {{"name", "hfaudit"},
                            {"version", HFAUDIT_VERSION},
                            {"informationUri", k_information_uri},
                            {"rules", std::move(rules)}}}}},
                        {"invocations",
                         {{{"executionSuccessful", successful},
                           {"toolExecutionNotifications", std::move(notifications)}}}},
                        {"results", std::move(results)}};
  if (automation_id) run["automationDetails"] = {{"id", *automation_id}};
  const nlohmann::json log = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                              {"version", "2.1.0"},
                              {"runs", nlohmann::json::array({std::move(run)})}};
  return log.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace hfaudit::report
