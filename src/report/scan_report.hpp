// Renderings of scan results: a human report, the hfaudit.scan/1 JSON document
// and SARIF 2.1.0. Pure functions returning text; the CLI decides where it goes.
// Schemas: docs/json-schemas.md.
#pragma once

#include <string>

#include "scan/engine.hpp"

namespace hfaudit::report {

struct ScanRenderOptions {
  scan::Severity fail_on = scan::Severity::medium;
  bool verbose = false;  // human report: info findings and per-object details too
  bool color = false;    // human report: ANSI colours
};

// True when a file has a finding at or above the threshold.
bool file_fails(const scan::FileReport& file, scan::Severity fail_on);

std::string render_scan_text(const scan::ScanResult& result, const ScanRenderOptions& options);
std::string render_scan_json(const scan::ScanResult& result, const ScanRenderOptions& options);
// SARIF 2.1.0 for GitHub code scanning. Info findings (non-model files) are
// left out: they are inventory, not alerts.
std::string render_scan_sarif(const scan::ScanResult& result, const ScanRenderOptions& options);

}  // namespace hfaudit::report
