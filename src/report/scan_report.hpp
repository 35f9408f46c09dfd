// Renderings of scan results: a human report, the hfaudit.scan/1 JSON document
// and SARIF 2.1.0. Pure functions returning text; the CLI decides where it goes.
// Schemas: docs/json-schemas.md.
#pragma once

#include <string>

#include "scan/engine.hpp"

namespace hfaudit::report {

struct ScanRenderOptions {
  scan::Severity fail_on = scan::Severity::medium;
  bool verbose = false;  // human report: list info findings and object details too
  bool color = false;    // human report: ANSI colours
};

std::string render_scan_json(const scan::ScanResult& result, const ScanRenderOptions& options);

}  // namespace hfaudit::report
