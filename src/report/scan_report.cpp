#include "report/scan_report.hpp"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "report/sarif.hpp"
#include "report/text_style.hpp"

namespace hfaudit::report {

namespace {

using scan::Severity;

nlohmann::json finding_json(const scan::Finding& f) {
  return {{"rule", f.rule},      {"severity", scan::to_string(f.severity)},
          {"file", f.file},      {"member", f.member},
          {"offset", f.offset},  {"message", f.message},
          {"subject", f.subject}};
}

// Tensor tables (safetensors, GGUF) are what users ask to see; other details
// are shown as compact key=value pairs.
void render_details(std::string& out, const scan::ObjectReport& object) {
  const auto& d = object.details;
  if (!d.is_object() || d.empty()) return;
  const std::string where = object.member.empty() ? "" : fmt::format(" [{}]", object.member);
  out += fmt::format("    {}{}\n", scan::to_string(object.format), where);
  for (const auto& [key, value] : d.items()) {
    if (key == "tensors" && value.is_array()) {
      for (const auto& t : value) {
        if (!t.is_object()) continue;
        out += fmt::format("      {:<40} {:<8} {}\n", t.value("name", std::string("?")),
                           t.value("dtype", t.value("type", std::string("?"))),
                           t.contains("shape") ? t["shape"].dump() : std::string());
      }
    } else {
      std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      if (text.size() > 160) text = text.substr(0, 157) + "...";
      out += fmt::format("      {}: {}\n", key, text);
    }
  }
}

}  // namespace

bool file_fails(const scan::FileReport& file, Severity fail_on) {
  const auto worst = file.max_severity();
  return worst && *worst >= fail_on;
}

std::string render_scan_text(const scan::ScanResult& result, const ScanRenderOptions& options) {
  const TextStyle style{options.color};
  std::string out;
  size_t failing = 0;
  std::map<Severity, size_t> by_severity;
  for (const auto& file : result.files) {
    const bool fails = file_fails(file, options.fail_on);
    failing += fails ? 1 : 0;
    const auto worst = file.max_severity();
    std::string verdict;
    if (fails)
      verdict = style.severity(*worst, fmt::format("FAIL ({})", scan::to_string(*worst)));
    else
      verdict = style.paint("32", "ok");
    out += fmt::format("{}  {}  {}  {}\n", file.path, scan::to_string(file.format),
                       human_size(file.size), verdict);
    for (const auto& f : file.findings) {
      ++by_severity[f.severity];
      if (f.severity == Severity::info && !options.verbose) continue;
      const std::string where = f.member.empty() ? fmt::format("@{}", f.offset)
                                                 : fmt::format("{} @{}", f.member, f.offset);
      out += fmt::format("  {:<8} {:<28} {}  {}{}\n",
                         style.severity(f.severity, scan::to_string(f.severity)), f.rule, where,
                         f.message, f.subject.empty() ? "" : fmt::format(" [{}]", f.subject));
    }
    if (options.verbose)
      for (const auto& object : file.objects) render_details(out, object);
  }
  std::string counts;
  for (auto it = by_severity.rbegin(); it != by_severity.rend(); ++it) {
    if (it->first == Severity::info) continue;
    counts +=
        fmt::format("{}{} {}", counts.empty() ? "" : ", ", it->second, scan::to_string(it->first));
  }
  out += fmt::format(
      "\n{} file(s) scanned, {} fail at --fail-on {}{}{}\n", result.files.size(), failing,
      scan::to_string(options.fail_on),
      counts.empty() ? "" : fmt::format(" (findings: {})", counts),
      result.errors.empty() ? "" : fmt::format(", {} could not be read", result.errors.size()));
  return out;
}

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
                     {"fails", file_fails(file, options.fail_on)},
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
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string render_scan_sarif(const scan::ScanResult& result, const ScanRenderOptions&) {
  const auto level = sarif_level;
  const auto security_severity = sarif_security_severity;

  std::map<std::string, size_t> rule_index;
  nlohmann::json rules = nlohmann::json::array();
  nlohmann::json results = nlohmann::json::array();
  for (const auto& file : result.files) {
    for (const auto& f : file.findings) {
      if (f.severity == Severity::info) continue;
      auto [it, inserted] = rule_index.emplace(f.rule, rules.size());
      if (inserted) {
        rules.push_back({{"id", f.rule},
                         {"shortDescription", {{"text", f.rule}}},
                         {"helpUri", std::string(k_information_uri) + "/blob/main/docs/scan.md"},
                         {"defaultConfiguration", {{"level", level(f.severity)}}},
                         {"properties",
                          {{"security-severity", security_severity(f.severity)},
                           {"tags", {"security", "ml-model"}}}}});
      }
      nlohmann::json location = {{"physicalLocation",
                                  {{"artifactLocation", {{"uri", f.file}}},
                                   {"region", {{"startLine", 1}, {"byteOffset", f.offset}}}}}};
      if (!f.member.empty())
        location["logicalLocations"] = {
            {{"fullyQualifiedName", f.member}, {"name", f.member}, {"kind", "member"}}};
      results.push_back(
          {{"ruleId", f.rule},
           {"ruleIndex", it->second},
           {"level", level(f.severity)},
           {"message",
            {{"text", f.subject.empty() ? f.message : f.message + " [" + f.subject + "]"}}},
           {"locations", {location}},
           {"properties", {{"severity", scan::to_string(f.severity)}, {"subject", f.subject}}}});
    }
  }
  nlohmann::json notifications = nlohmann::json::array();
  for (const auto& e : result.errors)
    notifications.push_back(
        {{"level", "error"},
         {"message", {{"text", e.path + ": " + e.message}}},
         {"locations", {{{"physicalLocation", {{"artifactLocation", {{"uri", e.path}}}}}}}}});
  return render_sarif_log(std::move(rules), std::move(results), result.errors.empty(),
                          std::move(notifications));
}

}  // namespace hfaudit::report
