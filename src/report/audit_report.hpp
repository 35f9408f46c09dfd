// Renderings of `hfaudit audit`: a terminal summary, the hfaudit.audit/1 JSON
// document (docs/json-schemas.md), SARIF 2.1.0 for GitHub code scanning, and a
// self-contained HTML report (inline CSS, no scripts, no external resources).
// Everything that came from the Hub (repository names, evidence, card text)
// is untrusted and escaped for the format it goes into.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "app/audit.hpp"

namespace hfaudit::report {

struct AuditRenderOptions {
  bool verbose = false;  // text: list still-present findings too, not just their count
  bool color = false;
  std::string hub_endpoint = "https://huggingface.co";  // links to repositories and files
  std::optional<uint64_t> requests;                     // Hub requests this run made
  double seconds = 0;                                   // wall time of the run
};

std::string render_audit_text(const app::AuditReport& report, const AuditRenderOptions& options);
std::string render_audit_json(const app::AuditReport& report, const AuditRenderOptions& options);
// New and still-present findings as results (baselineState "new" / "unchanged"),
// with a stable partial fingerprint; locations point at the lockfile entry
// (lock scope) or at the file or repository on the Hub.
std::string render_audit_sarif(const app::AuditReport& report, const AuditRenderOptions& options);
std::string render_audit_html(const app::AuditReport& report, const AuditRenderOptions& options);

// `text` made safe for HTML element content and quoted attribute values.
std::string html_escape(std::string_view text);

}  // namespace hfaudit::report
