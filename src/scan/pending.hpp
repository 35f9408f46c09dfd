// Formats whose scanner has not landed yet are not silently "clean": they are
// reported at medium severity, which fails a scan at the default threshold
// (default-deny). Each pending_*.cpp file disappears when its scanner lands.
#pragma once

#include <string>

#include "scan/context.hpp"

namespace hfaudit::scan {

inline void report_unsupported(ScanContext& ctx, const std::string& what) {
  ctx.report("scan.unsupported_format", Severity::medium, 0,
             "hfaudit cannot parse " + what + " yet, so it cannot show the file is safe", what);
}

}  // namespace hfaudit::scan
