#include "report/scan_report.hpp"

#include <nlohmann/json.hpp>

namespace hfaudit::report {

namespace {

nlohmann::json finding_json(const scan::Finding& f) {
  return {{"rule", f.rule},       {"severity", scan::to_string(f.severity)},
          {"file", f.file},       {"member", f.member},
          {"offset", f.offset},   {"message", f.message},
          {"subject", f.subject}};
}

}  // namespace

std::string render_scan_json(const scan::ScanResult& result, const ScanRenderOptions& options) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& file : result.files) {
    nlohmann::json objects = nlohmann::json::array();
    for (const auto& o : file.objects)
      objects.push_back({{"member", o.member},
                         {"format", scan::to_string(o.format)},
                         {"size", o.size},
                         {"details", o.details}});
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : file.findings) findings.push_back(finding_json(f));
    const auto worst = file.max_severity();
    files.push_back({{"path", file.path},
                     {"size", file.size},
                     {"format", scan::to_string(file.format)},
                     {"max_severity", worst ? nlohmann::json(scan::to_string(*worst)) : nullptr},
                     {"fails", worst && *worst >= options.fail_on},
                     {"objects", objects},
                     {"findings", findings}});
  }
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& e : result.errors) errors.push_back({{"path", e.path}, {"message", e.message}});
  nlohmann::json doc = {{"schema", "hfaudit.scan/1"},
                        {"hfaudit_version", HFAUDIT_VERSION},
                        {"fail_on", scan::to_string(options.fail_on)},
                        {"files", files},
                        {"errors", errors}};
  return doc.dump(2) + "\n";
}

}  // namespace hfaudit::report
