#include "report/info_report.hpp"

#include <fmt/format.h>

#include "report/text_style.hpp"

namespace hfaudit::report {

namespace {

std::string age(const std::optional<int64_t>& days) {
  return days ? fmt::format(" ({} days ago)", *days) : std::string();
}

std::string count(const std::optional<uint64_t>& n) {
  return n ? fmt::format("{}", *n) : std::string("?");
}

}  // namespace

std::string render_info_text(const trust::TrustReport& r, const InfoRenderOptions& options) {
  const TextStyle style{options.color};
  std::string out;
  out += fmt::format("{} @ {} -> {}\n", r.repo, r.revision, r.commit);
  const char* kind = r.author_kind == hub::AuthorKind::organization ? "organisation"
                     : r.author_kind == hub::AuthorKind::user       ? "user"
                                                                    : "unknown kind";
  out += fmt::format("  {:<14}author {} ({}), created {}{}, last commit {}{}, gated {}{}{}\n",
                     "provenance", r.author, kind, r.created_at,
                     r.days_since_created ? age(r.days_since_created) : " (before March 2022)",
                     r.last_modified, age(r.days_since_last_commit), r.gated,
                     r.is_private ? ", private" : "", r.disabled ? ", DISABLED" : "");
  if (!r.base_models.empty())
    out += fmt::format("  {:<14}base model {}\n", "lineage", fmt::join(r.base_models, ", "));
  out +=
      fmt::format("  {:<14}{} downloads/30 days, {} likes, evaluation results: {}\n", "community",
                  count(r.downloads), count(r.likes), r.has_eval_results ? "yes" : "no");
  std::string formats;
  for (const auto& [k, paths] : r.formats)
    formats += fmt::format("{}{} {}", formats.empty() ? "" : ", ", k, paths.size());
  out += fmt::format("  {:<14}{} files, {}; {}\n", "content", r.file_count,
                     human_size(r.total_size), formats);
  out += fmt::format("  {:<14}safetensors coverage {}, pickle files {}, custom code {}\n", "",
                     to_string(r.safetensors_coverage), r.pickle_files.size(),
                     r.custom_code ? "YES" : "no");
  out +=
      fmt::format("  {:<14}card {}, licence {}\n", "documentation",
                  r.card_present ? fmt::format("{}{}", human_size(r.card_size),
                                               r.card_has_metadata ? " with metadata" : "")
                                 : std::string("absent"),
                  r.license.empty() ? std::string("none")
                                    : r.license + (r.license_known_open ? " (open)" : " (review)"));
  size_t flagged = 0, scanned = 0;
  for (const auto& f : r.files) {
    if (f.hub_status == hub::ScanStatus::unsafe || f.hub_status == hub::ScanStatus::suspicious ||
        f.hub_status == hub::ScanStatus::caution)
      ++flagged;
    if (f.hub_status != hub::ScanStatus::unknown && f.hub_status != hub::ScanStatus::unscanned)
      ++scanned;
  }
  out += fmt::format("  {:<14}{} of {} files scanned by the Hub, {} flagged\n", "hub scans",
                     scanned, r.files.size(), flagged);
  if (options.verbose) {
    out += "\n  files:\n";
    for (const auto& f : r.files)
      out +=
          fmt::format("    {:<48} {:>10}  {:<12} hub {:<10} then: {}\n", f.path, human_size(f.size),
                      to_string(f.kind),
                      f.hub_status == hub::ScanStatus::unknown ? "-" : hub::to_string(f.hub_status),
                      f.local_scan);
  }
  out += fmt::format("\nrisk: {}\n",
                     style.severity(r.overall, fmt::format("{}", scan::to_string(r.overall))));
  for (const auto& f : r.risk_factors) {
    out += fmt::format("  {:<8} {:<38} {}\n",
                       style.severity(f.severity, std::string(scan::to_string(f.severity))), f.id,
                       f.title);
    out += fmt::format("  {:<8} {:<38} evidence: {}\n", "", "", f.evidence);
    out += fmt::format("  {:<8} {:<38} fix: {}\n", "", "", f.remediation);
  }
  return out;
}

std::string render_info_json(const trust::TrustReport& report) {
  // The contract puts "schema" and "hfaudit_version" first; the body keeps its documented order.
  nlohmann::ordered_json doc = {{"schema", "hfaudit.info/1"}, {"hfaudit_version", HFAUDIT_VERSION}};
  const nlohmann::ordered_json body = trust::to_json(report);
  for (const auto& [key, value] : body.items()) doc[key] = value;
  return doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace hfaudit::report
