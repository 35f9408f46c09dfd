// What the SARIF renderings share: how hfaudit's severities map onto SARIF
// levels and GitHub's security-severity scores.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "scan/finding.hpp"

namespace hfaudit::report {

inline constexpr const char* k_information_uri = "https://github.com/hfaudit/hfaudit";

inline const char* sarif_level(scan::Severity s) {
  return s >= scan::Severity::high ? "error" : s == scan::Severity::medium ? "warning" : "note";
}

// GitHub ranks code-scanning alerts by this property (0-10).
inline const char* sarif_security_severity(scan::Severity s) {
  switch (s) {
    case scan::Severity::critical:
      return "9.5";
    case scan::Severity::high:
      return "8.0";
    case scan::Severity::medium:
      return "5.5";
    case scan::Severity::low:
      return "3.0";
    case scan::Severity::info:
      return "0.0";
  }
  return "0.0";
}

// The text of a SARIF 2.1.0 log holding one run by hfaudit: the driver with
// `rules`, the `results`, one invocation (successful or not, with its error
// notifications) and, when given, the run's automationDetails id.
std::string render_sarif_log(nlohmann::json rules, nlohmann::json results, bool successful,
                             nlohmann::json notifications,
                             const std::optional<std::string>& automation_id = std::nullopt);

}  // namespace hfaudit::report
