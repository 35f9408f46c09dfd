#include "app/blob_scan.hpp"

#include "scan/engine.hpp"

namespace hfaudit::app {

namespace {

constexpr std::string_view k_scanner_version = "hfaudit-scan/1@" HFAUDIT_VERSION;

cache::Severity to_cache_severity(std::optional<scan::Severity> s) {
  if (!s) return cache::Severity::none;
  return static_cast<cache::Severity>(static_cast<int>(*s) + 1);
}

std::optional<scan::Severity> from_cache_severity(cache::Severity s) {
  if (s == cache::Severity::none) return std::nullopt;
  return static_cast<scan::Severity>(static_cast<int>(s) - 1);
}

}  // namespace

nlohmann::json findings_json(const std::vector<scan::Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : findings)
    out.push_back({{"rule", f.rule},
                   {"severity", scan::to_string(f.severity)},
                   {"member", f.member},
                   {"offset", f.offset},
                   {"message", f.message},
                   {"subject", f.subject}});
  return out;
}

namespace {

// What the index keeps of a scan (scan_results.findings_json): the formats of
// the file and of everything nested, and the findings of low and above, which
// is what the policy judges. Object details (tensor lists) are not kept.
nlohmann::json report_json(const scan::FileReport& report, const std::vector<scan::Finding>& kept) {
  nlohmann::json objects = nlohmann::json::array();
  for (const auto& o : report.objects)
    objects.push_back(
        {{"member", o.member}, {"format", scan::to_string(o.format)}, {"size", o.size}});
  return {{"format", scan::to_string(report.format)},
          {"size", report.size},
          {"objects", objects},
          {"findings", findings_json(kept)}};
}

scan::Format format_from_name(const std::string& name) {
  for (int f = 0; f <= static_cast<int>(scan::Format::sentencepiece); ++f)
    if (scan::to_string(static_cast<scan::Format>(f)) == name) return static_cast<scan::Format>(f);
  return scan::Format::unknown;
}

// The inverse of report_json, for a verdict cached by this scanner version.
scan::FileReport report_from_json(const std::string& text, const std::string& path) {
  scan::FileReport report;
  report.path = path;
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) return report;
  report.format = format_from_name(doc.value("format", "unknown"));
  report.size = doc.value("size", uint64_t{0});
  for (const auto& o : doc.value("objects", nlohmann::json::array())) {
    scan::ObjectReport object;
    object.member = o.value("member", "");
    object.format = format_from_name(o.value("format", "unknown"));
    object.size = o.value("size", uint64_t{0});
    report.objects.push_back(std::move(object));
  }
  for (const auto& f : doc.value("findings", nlohmann::json::array())) {
    scan::Finding finding;
    finding.rule = f.value("rule", "");
    finding.severity =
        scan::parse_severity(f.value("severity", "medium")).value_or(scan::Severity::medium);
    finding.file = path;
    finding.member = f.value("member", "");
    finding.offset = f.value("offset", uint64_t{0});
    finding.message = f.value("message", "");
    finding.subject = f.value("subject", "");
    report.findings.push_back(std::move(finding));
  }
  return report;
}

}  // namespace

std::string_view scanner_version() {
  return k_scanner_version;
}

util::Result<BlobScan> scan_stored_blob(cache::Index& index, const cache::BlobStore& store,
                                        const std::string& sha256, const std::string& path) {
  BlobScan out;
  auto cached = index.latest_scan(sha256);
  if (cached && *cached) {
    if ((*cached)->scanner_version == k_scanner_version) {
      out.report = report_from_json((*cached)->findings_json, path);
      out.findings = out.report.findings;
      out.max_severity = from_cache_severity((*cached)->max_severity);
      return out;
    }
    out.previous_version = (*cached)->scanner_version;
  }
  auto source = HFAUDIT_TRY(store.open_blob(sha256));
  scan::FileReport report = scan::scan_source(*source, path, scan::ScanOptions{});
  for (const auto& f : report.findings)
    if (f.severity >= scan::Severity::low) out.findings.push_back(f);
  out.max_severity = report.max_severity();
  for (auto& object : report.objects) object.details = nlohmann::json::object();
  out.report = std::move(report);
  out.rescanned = true;
  cache::ScanRecord record;
  record.blob_sha256 = sha256;
  record.scanner_version = std::string(k_scanner_version);
  record.max_severity = to_cache_severity(out.max_severity);
  record.findings_json = report_json(out.report, out.findings).dump();
  (void)index.record_scan(record);  // a verdict that cannot be cached is recomputed next time
  return out;
}

}  // namespace hfaudit::app
